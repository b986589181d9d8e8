// Pipeline streams of a real slotcache-node: answers stay in order when the
// client reads late (the node pauses reading instead of buffering without
// bound), and SIGTERM ends open streams and exits cleanly.
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

TEST(NodePipelineTest, AnswersStayInOrderWhenTheClientReadsLate) {
  absl::StatusOr<std::unique_ptr<NodeUnderTest>> node = NodeUnderTest::Start();
  ASSERT_TRUE(node.ok()) << node.status();
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  auto stream = (*node)->cache()->Pipeline(&context);
  // Far more batches than the node queues answers for (64), all written
  // before the first read, with answers big enough (64 KiB) to fill the
  // HTTP/2 flow-control window; each INCR's answer tells its position.
  const std::string big(64 * 1024, 'x');
  ASSERT_EQ((*node)
                ->Run1(testing::Path::kExecute, Cmd({"SET", "big", big}))
                .value()
                .status(),
            "OK");
  constexpr int kBatches = 500;
  for (int i = 1; i <= kBatches; ++i) {
    v1::BatchRequest request;
    request.set_id(i);
    *request.add_commands() = Cmd({"INCR", "counter"});
    *request.add_commands() = Cmd({"GET", "big"});
    ASSERT_TRUE(stream->Write(request)) << i;
  }
  stream->WritesDone();
  v1::BatchResponse response;
  for (int i = 1; i <= kBatches; ++i) {
    ASSERT_TRUE(stream->Read(&response)) << i;
    EXPECT_EQ(response.id(), static_cast<uint64_t>(i));
    ASSERT_EQ(response.replies_size(), 2);
    EXPECT_EQ(response.replies(0).value().integer(), i);
    EXPECT_EQ(response.replies(1).value().bulk().size(), big.size());
  }
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
}

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
