#include "common/rpc.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace slotcache {
namespace {

// Splits "host:port" at the last colon (IPv6 literals come as "[::1]:80").
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(
    absl::string_view address) {
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address '", address,
        "' is not HOST:PORT; use e.g. 127.0.0.1:7000 or 0.0.0.0:0"));
  }
  return std::make_pair(std::string(address.substr(0, colon)), port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RpcServer>> RpcServer::Start(
    const RpcServerOptions& options,
    const std::vector<grpc::Service*>& services) {
  absl::StatusOr<std::pair<std::string, int>> host_port =
      SplitHostPort(options.listen_address);
  if (!host_port.ok()) return host_port.status();

  // Process-wide switches; idempotent.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(options.listen_address,
                           grpc::InsecureServerCredentials(), &bound_port);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen_address,
        ": the port is in use or the address is not local; pick another "
        "port or use port 0"));
  }
  std::string host = host_port->first;
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  return std::unique_ptr<RpcServer>(new RpcServer(
      std::move(server), bound_port, absl::StrCat(host, ":", bound_port)));
}

RpcServer::RpcServer(std::unique_ptr<grpc::Server> server, int port,
                     std::string address)
    : server_(std::move(server)), port_(port), address_(std::move(address)) {}

RpcServer::~RpcServer() { Shutdown(absl::ZeroDuration()); }

void RpcServer::Shutdown(absl::Duration grace) {
  if (grpc::HealthCheckServiceInterface* health =
          server_->GetHealthCheckService()) {
    health->Shutdown();
  }
  server_->Shutdown(DeadlineIn(grace));
  server_->Wait();
}

std::shared_ptr<grpc::Channel> MakeChannel(absl::string_view address,
                                           const ChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  // Reconnect quickly after a peer restarts (default backoff grows to 120s).
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC uses it as the minimum
  // *connect timeout* (TCP + HTTP/2 handshake, default 20 s), and at 100 ms
  // a busy machine (sanitizers, benchmarks) fails connections with
  // "timed out before receiving SETTINGS frame".
  // Per-call bookkeeping nobody reads (channelz showed up at ~1% of the
  // load generator's CPU).
  args.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);
  if (options.own_connection)
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(std::string(address),
                                   grpc::InsecureChannelCredentials(), args);
}

std::chrono::system_clock::time_point DeadlineIn(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

}  // namespace slotcache
