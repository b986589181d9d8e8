// The coordinator's gRPC service over a real socket: the map watch stream
// and the heartbeat stream.
#include "coordinator/coordinator_service.h"

#include <memory>
#include <string>

#include "common/rpc.h"
#include "common/status.h"
#include "coordinator/rocksdb_state_store.h"
#include "gtest/gtest.h"
#include "proto/coordinator.grpc.pb.h"
#include "tests/harness/process.h"

namespace slotcache::coordinator {
namespace {

class CoordinatorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenRocksDbStateStore(testing::NewTempDir("service"));
    ASSERT_TRUE(store.ok()) << store.status();
    auto c = Coordinator::Create(std::move(*store), {});
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
    service_ = std::make_unique<CoordinatorServiceImpl>(coordinator_.get());
    auto server = RpcServer::Start({}, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = v1::CoordinatorService::NewStub(MakeChannel(server_->address()));
  }

  void TearDown() override {
    service_->Shutdown();
    coordinator_->Shutdown();
    server_->Shutdown(absl::Seconds(1));
  }

  std::string Register(const std::string& address) {
    grpc::ClientContext context;
    v1::RegisterNodeRequest request;
    request.set_address(address);
    request.set_az("a");
    v1::RegisterNodeResponse response;
    EXPECT_TRUE(stub_->RegisterNode(&context, request, &response).ok());
    return response.node_id();
  }

  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<CoordinatorServiceImpl> service_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<v1::CoordinatorService::Stub> stub_;
};

TEST_F(CoordinatorServiceTest, WatchStreamsCurrentMapThenEveryNewerOne) {
  Register("127.0.0.1:7001");
  const uint64_t first = coordinator_->CurrentMap()->version();
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(20)));
  auto reader = stub_->WatchClusterMap(&context, v1::WatchClusterMapRequest());
  v1::ClusterMap map;
  ASSERT_TRUE(reader->Read(&map));
  EXPECT_EQ(map.version(), first);
  Register("127.0.0.1:7002");
  ASSERT_TRUE(reader->Read(&map));
  EXPECT_GT(map.version(), first);
  EXPECT_EQ(map.nodes_size(), 2);
  context.TryCancel();
  reader->Finish();
}

TEST_F(CoordinatorServiceTest,
       HeartbeatStreamAnswersEachBeatAndRejectsStrangers) {
  const std::string id = Register("127.0.0.1:7001");
  {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(20)));
    auto stream = stub_->Heartbeat(&context);
    v1::HeartbeatRequest beat;
    beat.set_node_id(id);
    v1::HeartbeatResponse reply;
    ASSERT_TRUE(stream->Write(beat));
    ASSERT_TRUE(stream->Read(&reply));
    EXPECT_TRUE(reply.has_cluster_map()) << "version 0 is older";
    beat.set_cluster_map_version(reply.cluster_map().version());
    ASSERT_TRUE(stream->Write(beat));
    ASSERT_TRUE(stream->Read(&reply));
    EXPECT_FALSE(reply.has_cluster_map());
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  }
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(20)));
  auto stream = stub_->Heartbeat(&context);
  v1::HeartbeatRequest beat;
  beat.set_node_id("stranger");
  ASSERT_TRUE(stream->Write(beat));
  v1::HeartbeatResponse reply;
  EXPECT_FALSE(stream->Read(&reply));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(status.error_message().find("must call RegisterNode"),
            std::string::npos);
}

TEST_F(CoordinatorServiceTest,
       HeartbeatStreamPushesNewMapsToNodesThatAskForIt) {
  const std::string id = Register("127.0.0.1:7001");
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(20)));
  auto stream = stub_->Heartbeat(&context);
  v1::HeartbeatRequest beat;
  beat.set_node_id(id);
  beat.set_accepts_pushed_maps(true);
  v1::HeartbeatResponse reply;
  ASSERT_TRUE(stream->Write(beat));
  ASSERT_TRUE(stream->Read(&reply));
  EXPECT_FALSE(reply.pushed());
  const uint64_t held = reply.cluster_map().version();

  // A new map is published; the node has not sent another heartbeat.
  Register("127.0.0.1:7002");
  v1::HeartbeatResponse push;
  ASSERT_TRUE(stream->Read(&push));
  EXPECT_TRUE(push.pushed());
  EXPECT_EQ(push.lease_ms(), 0u) << "a push grants no lease";
  EXPECT_GT(push.cluster_map().version(), held);
  EXPECT_EQ(push.cluster_map().nodes_size(), 2);
  // The next heartbeat still gets its own reply, without the map again.
  beat.set_cluster_map_version(push.cluster_map().version());
  ASSERT_TRUE(stream->Write(beat));
  ASSERT_TRUE(stream->Read(&reply));
  EXPECT_FALSE(reply.pushed());
  EXPECT_FALSE(reply.has_cluster_map());
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(CoordinatorServiceTest, HeartbeatStreamPushesNothingUnlessAsked) {
  const std::string id = Register("127.0.0.1:7001");
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(20)));
  auto stream = stub_->Heartbeat(&context);
  v1::HeartbeatRequest beat;
  beat.set_node_id(id);
  v1::HeartbeatResponse reply;
  ASSERT_TRUE(stream->Write(beat));
  ASSERT_TRUE(stream->Read(&reply));
  beat.set_cluster_map_version(reply.cluster_map().version());
  Register("127.0.0.1:7002");
  // An old agent pairs each beat with the next message: that must be the
  // reply (with the new map), not a push.
  ASSERT_TRUE(stream->Write(beat));
  ASSERT_TRUE(stream->Read(&reply));
  EXPECT_FALSE(reply.pushed());
  EXPECT_TRUE(reply.has_cluster_map());
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(CoordinatorServiceTest, ShutdownEndsOpenStreamsPromptly) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(20)));
  auto reader = stub_->WatchClusterMap(&context, v1::WatchClusterMapRequest());
  Register("127.0.0.1:7001");
  v1::ClusterMap map;
  ASSERT_TRUE(reader->Read(&map));
  const absl::Time start = absl::Now();
  service_->Shutdown();
  while (reader->Read(&map)) {
  }
  reader->Finish();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(CoordinatorServiceTest, ReshardingCallsReturnTypedErrors) {
  // Before a cluster exists every slot-moving request is refused, and an
  // unknown operation is NOT_FOUND, each with a reason.
  {
    grpc::ClientContext context;
    v1::MigrateSlotsRequest request;
    request.set_from_shard_id("shard-1");
    request.set_to_shard_id("shard-2");
    request.set_slot_count(1);
    v1::MigrateSlotsResponse response;
    grpc::Status status = stub_->MigrateSlots(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(status.error_message().find("create it first"), std::string::npos)
        << status.error_message();
  }
  {
    grpc::ClientContext context;
    v1::AddShardRequest request;
    v1::AddShardResponse response;
    EXPECT_EQ(stub_->AddShard(&context, request, &response).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    grpc::ClientContext context;
    v1::RebalanceRequest request;
    request.set_by("colour");
    v1::RebalanceResponse response;
    EXPECT_EQ(stub_->Rebalance(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    v1::GetOperationRequest request;
    request.set_operation_id("op-7");
    v1::Operation response;
    grpc::Status status = stub_->GetOperation(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    v1::Error error = ErrorOf(FromGrpcStatus(status));
    EXPECT_NE(error.message().find("op-7"), std::string::npos);
  }
  {
    grpc::ClientContext context;
    v1::CancelOperationRequest request;
    request.set_operation_id("op-7");
    v1::Operation response;
    EXPECT_EQ(stub_->CancelOperation(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    v1::RemoveShardRequest request;
    request.set_shard_id("shard-1");
    v1::RemoveShardResponse response;
    EXPECT_EQ(stub_->RemoveShard(&context, request, &response).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
}

}  // namespace
}  // namespace slotcache::coordinator
