// A real slotcache-node shuts down cleanly on SIGTERM even while clients
// hold Pipeline streams open and are mid-request.
#include <signal.h>

#include <memory>
#include <string>

#include "common/rpc.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/node_test_client.h"

namespace slotcache {
namespace {

using testing::Cmd;
using testing::NodeUnderTest;

TEST(NodeShutdownTest, SigtermEndsOpenPipelineStreamsAndExitsCleanly) {
  absl::StatusOr<std::unique_ptr<NodeUnderTest>> node =
      NodeUnderTest::Start({"--max_batch_commands=100"});
  ASSERT_TRUE(node.ok()) << node.status();

  // One stream answered and left open, one that never sent anything.
  grpc::ClientContext busy_context;
  auto busy = (*node)->cache()->Pipeline(&busy_context);
  v1::BatchRequest request;
  request.set_id(7);
  *request.add_commands() = Cmd({"SET", "k", "v"});
  ASSERT_TRUE(busy->Write(request));
  v1::BatchResponse response;
  ASSERT_TRUE(busy->Read(&response));
  EXPECT_EQ(response.id(), 7u);
  grpc::ClientContext idle_context;
  auto idle = (*node)->cache()->Pipeline(&idle_context);

  ASSERT_TRUE((*node)->process()->Signal(SIGTERM).ok());
  absl::StatusOr<int> exit_code = (*node)->process()->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << (*node)->process()->ReadLog();
  EXPECT_FALSE(busy->Read(&response));
  EXPECT_FALSE(idle->Read(&response));
}

}  // namespace
}  // namespace slotcache
