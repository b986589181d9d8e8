// The one place where slotcache creates gRPC servers and channels, so that
// transport settings (message limits, keepalive, later TLS and AUTH) apply
// to every server and every client alike.
//
// Every server gets the standard gRPC health service (grpc.health.v1) and
// server reflection.
//
// Thread-safety: RpcServer is safe to use from any thread.
#ifndef SLOTCACHE_COMMON_RPC_H_
#define SLOTCACHE_COMMON_RPC_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"

namespace slotcache {

// Largest gRPC message slotcache sends or accepts by default: a 512 MiB
// value (the Redis limit) plus framing.
inline constexpr int kDefaultMaxMessageBytes = 512 * 1024 * 1024 + 64 * 1024;

struct RpcServerOptions {
  // host:port; port 0 picks a free port (see RpcServer::port()).
  std::string listen_address = "127.0.0.1:0";
  int max_message_bytes = kDefaultMaxMessageBytes;
};

class RpcServer {
 public:
  // Binds `options.listen_address`, registers `services` (not owned; they
  // must outlive the server) and starts serving.
  static absl::StatusOr<std::unique_ptr<RpcServer>> Start(
      const RpcServerOptions& options,
      const std::vector<grpc::Service*>& services);

  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;
  ~RpcServer();

  // The bound port (useful with port 0).
  int port() const { return port_; }
  // "host:port" that peers on this machine can dial.
  const std::string& address() const { return address_; }

  // Marks the server NOT_SERVING in the health service, then stops
  // accepting calls and waits up to `grace` for running calls to finish.
  void Shutdown(absl::Duration grace);

 private:
  RpcServer(std::unique_ptr<grpc::Server> server, int port,
            std::string address);

  // Constant after construction.
  const std::unique_ptr<grpc::Server> server_;
  const int port_;
  const std::string address_;
};

struct ChannelOptions {
  int max_message_bytes = kDefaultMaxMessageBytes;
  // Give the channel a TCP connection of its own. By default channels with
  // the same target and settings share one connection; load tools that
  // model many independent clients (slotcache-bench) set this.
  bool own_connection = false;
};

// A channel to `address` ("host:port") with slotcache's transport settings.
std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view address,
                                           const ChannelOptions& options = {});

// Deadline helper: now + `timeout` as a system_clock time point for
// grpc::ClientContext::set_deadline.
std::chrono::system_clock::time_point DeadlineIn(absl::Duration timeout);

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_RPC_H_
