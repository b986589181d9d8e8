// Helpers for the node integration tests (tests/node_*_test.cc): start a
// real slotcache-node and talk to it with the raw generated gRPC stubs
// over each of the three data-plane paths (Execute, Batch, Pipeline).
//
// Thread-safety: not thread-safe; use from the test's main thread.
#ifndef SLOTCACHE_TESTS_NODE_TEST_CLIENT_H_
#define SLOTCACHE_TESTS_NODE_TEST_CLIENT_H_

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "proto/admin.grpc.pb.h"
#include "proto/cache.grpc.pb.h"
#include "tests/harness/process.h"

namespace slotcache::testing {

// Which RPC carries the commands.
enum class Path { kExecute, kBatch, kPipeline };
std::string PathName(Path path);

// A command from words: Cmd({"SET", "k", "v"}).
v1::Command Cmd(std::initializer_list<std::string> words);

// A started node plus stubs for both of its services.
class NodeUnderTest {
 public:
  // Starts node/slotcache-node with `args` (plus --listen/--address_file).
  static absl::StatusOr<std::unique_ptr<NodeUnderTest>> Start(
      const std::vector<std::string>& args = {});

  const std::string& address() const { return server_.address; }
  ChildProcess* process() { return server_.process.get(); }
  v1::CacheService::Stub* cache() { return cache_.get(); }
  v1::NodeAdminService::Stub* admin() { return admin_.get(); }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // Runs `commands` over `path` (Execute: one call each; Batch: one call;
  // Pipeline: one stream, one BatchRequest per command, all written before
  // reading) and returns one reply per command. A failed RPC becomes an
  // error status.
  absl::StatusOr<std::vector<v1::Reply>> Run(
      Path path, const std::vector<v1::Command>& commands,
      const v1::RequestOptions& options = {});
  // One command; a failed RPC or a missing reply fails the test.
  v1::Reply Run1(Path path, const v1::Command& command,
                 const v1::RequestOptions& options = {});

  // True when the node still answers PING over Execute.
  bool Alive();

 private:
  explicit NodeUnderTest(ServerProcess server);

  ServerProcess server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::CacheService::Stub> cache_;
  std::unique_ptr<v1::NodeAdminService::Stub> admin_;
};

// Readable form of a reply for assertion messages.
std::string ReplyText(const v1::Reply& reply);

}  // namespace slotcache::testing

#endif  // SLOTCACHE_TESTS_NODE_TEST_CLIENT_H_
