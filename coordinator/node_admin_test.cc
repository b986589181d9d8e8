// GrpcNodeAdmin's migration calls over a real socket, against an
// in-process NodeAdminService that answers from memory: requests arrive
// whole, replies come back whole, errors keep their code and name the call
// and the node.
#include "coordinator/node_admin.h"

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/rpc.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"

namespace slotcache::coordinator {
namespace {

class FakeNodeAdminService final : public v1::NodeAdminService::Service {
 public:
  grpc::Status StartImport(grpc::ServerContext*,
                           const v1::StartImportRequest* request,
                           v1::StartImportResponse*) override {
    absl::MutexLock lock(&mu_);
    started_ = *request;
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "another import of slot 5 runs");
  }
  grpc::Status GetImportStatus(grpc::ServerContext*,
                               const v1::ImportStatusRequest* request,
                               v1::ImportStatus* response) override {
    response->set_migration_id(request->migration_id());
    response->set_state(v1::ImportStatus::STREAMING);
    response->set_applied_source_offset(42);
    return grpc::Status::OK;
  }
  grpc::Status PauseSlotWrites(grpc::ServerContext*,
                               const v1::PauseSlotWritesRequest* request,
                               v1::PauseSlotWritesResponse* response) override {
    response->set_replication_id(request->migration_id());
    response->set_offset(request->duration_ms() + request->slots_size());
    return grpc::Status::OK;
  }
  grpc::Status GetSlotStats(grpc::ServerContext*, const v1::SlotStatsRequest*,
                            v1::SlotStatsResponse* response) override {
    v1::SlotStatsResponse::Slot* slot = response->add_slots();
    slot->set_slot(7);
    slot->set_keys(3);
    response->set_bytes_per_key(64);
    return grpc::Status::OK;
  }

  v1::StartImportRequest started() {
    absl::MutexLock lock(&mu_);
    return started_;
  }

 private:
  absl::Mutex mu_;
  v1::StartImportRequest started_ ABSL_GUARDED_BY(mu_);
};

class NodeAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RpcServer::Start({}, {&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(1)); }

  FakeNodeAdminService service_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<NodeAdmin> admin_ = NewGrpcNodeAdmin(absl::Seconds(10));
};

TEST_F(NodeAdminTest, MigrationCallsCarryRequestsAndReplies) {
  absl::StatusOr<v1::ImportStatus> status =
      admin_->GetImportStatus(server_->address(), "op-3/move-1");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->migration_id(), "op-3/move-1");
  EXPECT_EQ(status->applied_source_offset(), 42u);

  v1::PauseSlotWritesRequest pause;
  pause.set_migration_id("op-3/move-1");
  pause.set_duration_ms(2000);
  pause.add_slots()->set_end(9);
  absl::StatusOr<v1::PauseSlotWritesResponse> paused =
      admin_->PauseSlotWrites(server_->address(), pause);
  ASSERT_TRUE(paused.ok()) << paused.status();
  EXPECT_EQ(paused->replication_id(), "op-3/move-1");
  EXPECT_EQ(paused->offset(), 2001u);

  absl::StatusOr<v1::SlotStatsResponse> stats =
      admin_->GetSlotStats(server_->address());
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->slots_size(), 1);
  EXPECT_EQ(stats->slots(0).keys(), 3u);
  EXPECT_EQ(stats->bytes_per_key(), 64u);
}

TEST_F(NodeAdminTest, ErrorsKeepTheirCodeAndNameTheCallAndNode) {
  v1::StartImportRequest request;
  request.set_migration_id("op-3/move-1");
  request.set_source_address("127.0.0.1:1");
  absl::Status s = admin_->StartImport(server_->address(), request);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "StartImport on node " + server_->address() +
                             ": another import of slot 5 runs");
  EXPECT_EQ(service_.started().source_address(), "127.0.0.1:1");

  // A call the service does not implement.
  absl::Status resume =
      admin_->ResumeSlotWrites(server_->address(), "op-3/move-1");
  EXPECT_EQ(resume.code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace slotcache::coordinator
