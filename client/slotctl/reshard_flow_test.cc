// The resharding commands end to end over a real socket against a fake
// CoordinatorService (the contract of proto/coordinator.proto, scripted):
// what they send, that they watch the operation to its end, and their
// exit codes and output.
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/slotctl/commands.h"
#include "common/mutex.h"
#include "common/rpc.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/coordinator.grpc.pb.h"

namespace slotcache::slotctl {
namespace {

// Every started operation is "op-1"; GetOperation reports it RUNNING with
// 0, 50, ... slots done, then in `final_state` once all 100 are done.
class FakeCoordinator : public v1::CoordinatorService::Service {
 public:
  grpc::Status MigrateSlots(grpc::ServerContext*,
                            const v1::MigrateSlotsRequest* request,
                            v1::MigrateSlotsResponse* response) override {
    MutexLock lock(&mu_);
    migrate_ = *request;
    *response->mutable_operation() = StartLocked("migrate_slots");
    return grpc::Status::OK;
  }

  grpc::Status Rebalance(grpc::ServerContext*,
                         const v1::RebalanceRequest* request,
                         v1::RebalanceResponse* response) override {
    MutexLock lock(&mu_);
    rebalance_ = *request;
    v1::SlotMove* move = response->add_moves();
    move->set_from_shard_id("shard-1");
    move->set_to_shard_id("shard-3");
    v1::SlotRange* range = move->add_slots();
    range->set_start(0);
    range->set_end(99);
    move->set_keys(1500);
    if (!request->dry_run()) {
      *response->mutable_operation() = StartLocked("rebalance");
    }
    return grpc::Status::OK;
  }

  grpc::Status RemoveShard(grpc::ServerContext*,
                           const v1::RemoveShardRequest* request,
                           v1::RemoveShardResponse* response) override {
    MutexLock lock(&mu_);
    removed_shard_ = request->shard_id();
    *response->mutable_operation() = StartLocked("remove_shard");
    return grpc::Status::OK;
  }

  grpc::Status AddShard(grpc::ServerContext*,
                        const v1::AddShardRequest* request,
                        v1::AddShardResponse* response) override {
    v1::ShardInfo* shard = response->mutable_shard();
    shard->set_shard_id("shard-3");
    shard->set_primary_node_id("n7");
    if (request->replicas() > 0) shard->add_replica_node_ids("n8");
    v1::NodeInfo* node = response->mutable_cluster_map()->add_nodes();
    node->set_node_id("n7");
    node->set_address("127.0.0.1:7007");
    node->set_az("az-b");
    return grpc::Status::OK;
  }

  grpc::Status GetOperation(grpc::ServerContext*,
                            const v1::GetOperationRequest* request,
                            v1::Operation* op) override {
    MutexLock lock(&mu_);
    if (request->operation_id() != op_.id()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such operation");
    }
    v1::MigrationProgress* m = op_.mutable_migration();
    if (op_.state() == v1::Operation::RUNNING && m->slots_done() >= 100) {
      op_.set_state(final_state);
      op_.set_finished_unix_ms(op_.created_unix_ms() + 2000);
      op_.set_message(final_state == v1::Operation::FAILED
                          ? "shard-2 failed over mid-move; rolled back"
                          : "moved 100 slots");
    }
    *op = op_;
    m->set_slots_done(std::min<uint32_t>(100, m->slots_done() + 50));
    m->set_keys_copied(m->slots_done() * 15);
    m->set_step(m->slots_done() >= 100 ? "committing" : "catching up");
    return grpc::Status::OK;
  }

  grpc::Status CancelOperation(grpc::ServerContext*,
                               const v1::CancelOperationRequest* request,
                               v1::Operation* op) override {
    MutexLock lock(&mu_);
    if (request->operation_id() != op_.id()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such operation");
    }
    op_.set_cancel_requested(true);
    *op = op_;
    return grpc::Status::OK;
  }

  v1::MigrateSlotsRequest migrate() {
    MutexLock lock(&mu_);
    return migrate_;
  }
  v1::RebalanceRequest rebalance() {
    MutexLock lock(&mu_);
    return rebalance_;
  }
  std::string removed_shard() {
    MutexLock lock(&mu_);
    return removed_shard_;
  }
  bool started() {
    MutexLock lock(&mu_);
    return !op_.id().empty();
  }

  // Set before a command runs.
  v1::Operation::State final_state = v1::Operation::SUCCEEDED;

 private:
  v1::Operation StartLocked(const std::string& kind)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    op_ = v1::Operation();
    op_.set_id("op-1");
    op_.set_kind(kind);
    op_.set_state(v1::Operation::RUNNING);
    op_.set_created_unix_ms(1000);
    op_.add_moves()->set_from_shard_id("shard-1");
    op_.mutable_migration()->set_slots_total(100);
    op_.mutable_migration()->set_keys_total(1500);
    op_.mutable_migration()->set_max_pause_ms(9);
    return op_;
  }

  Mutex mu_;
  v1::Operation op_ ABSL_GUARDED_BY(mu_);
  v1::MigrateSlotsRequest migrate_ ABSL_GUARDED_BY(mu_);
  v1::RebalanceRequest rebalance_ ABSL_GUARDED_BY(mu_);
  std::string removed_shard_ ABSL_GUARDED_BY(mu_);
};

class ReshardFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RpcServer::Start({}, {&fake_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ctx_.coordinator = server_->address();
    ctx_.out = &out_;
    ctx_.err = &err_;
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(1)); }

  int Run(const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    return RunCommand(ctx_, args);
  }

  FakeCoordinator fake_;
  std::unique_ptr<RpcServer> server_;
  Context ctx_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ReshardFlowTest, ReshardSendsACountAndWatchesToSuccess) {
  ctx_.from = "shard-1";
  ctx_.to = "shard-2";
  ctx_.slots = "100";
  ASSERT_EQ(Run({"reshard"}), kExitOk) << err_.str();
  EXPECT_EQ(fake_.migrate().from_shard_id(), "shard-1");
  EXPECT_EQ(fake_.migrate().to_shard_id(), "shard-2");
  EXPECT_EQ(fake_.migrate().slot_count(), 100u);
  EXPECT_EQ(fake_.migrate().slots_size(), 0);
  const std::string out = out_.str();
  EXPECT_NE(out.find("op-1 migrate_slots started"), std::string::npos) << out;
  // Not a TTY: plain lines at most once a second, so only the first of
  // the ~150 ms polls printed one.
  EXPECT_NE(out.find("\n[..........] 0/100 slots  0/1,500 keys  0.0 MB  ETA -"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("50/100 slots"), std::string::npos) << out;
  EXPECT_NE(out.find("op-1 migrate_slots SUCCEEDED in 2.0s: 100/100 slots, "
                     "1,500 keys, 0.0 MB copied, max write pause 9 ms\n"
                     "  moved 100 slots"),
            std::string::npos)
      << out;
}

TEST_F(ReshardFlowTest, ReshardSendsRangesAndPrintsJsonLines) {
  ctx_.from = "shard-1";
  ctx_.to = "shard-2";
  ctx_.slots = "20-20,0-9";
  ctx_.output = OutputFormat::kJson;
  ASSERT_EQ(Run({"reshard"}), kExitOk) << err_.str();
  ASSERT_EQ(fake_.migrate().slots_size(), 2);
  EXPECT_EQ(fake_.migrate().slots(0).end(), 9u);
  EXPECT_EQ(fake_.migrate().slots(1).start(), 20u);
  EXPECT_EQ(fake_.migrate().slot_count(), 0u);
  std::vector<std::string> lines =
      absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 2u) << out_.str();
  v1::Operation last;
  for (const std::string& line : lines) {
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &last).ok())
        << line;
  }
  EXPECT_EQ(last.state(), v1::Operation::SUCCEEDED);
}

TEST_F(ReshardFlowTest, RebalanceDryRunPrintsThePlanAndStartsNothing) {
  ctx_.dry_run = true;
  ctx_.by = "keys";
  ASSERT_EQ(Run({"rebalance"}), kExitOk) << err_.str();
  EXPECT_EQ(fake_.rebalance().by(), "keys");
  EXPECT_TRUE(fake_.rebalance().dry_run());
  EXPECT_FALSE(fake_.started());
  const std::string out = out_.str();
  EXPECT_NE(out.find("Plan (dry run, nothing started): 1 move(s), by keys"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("1      shard-1  shard-3  100    0-99    1,500"),
            std::string::npos)
      << out;

  ctx_.dry_run = false;
  ASSERT_EQ(Run({"rebalance"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("op-1 rebalance SUCCEEDED"), std::string::npos)
      << out_.str();
}

TEST_F(ReshardFlowTest, FailedShardRemoveExitsOneWithTheMessage) {
  fake_.final_state = v1::Operation::FAILED;
  ASSERT_EQ(Run({"shard", "remove", "shard-2"}), kExitFailed);
  EXPECT_EQ(fake_.removed_shard(), "shard-2");
  EXPECT_NE(err_.str().find("op-1 remove_shard FAILED"), std::string::npos)
      << err_.str();
  EXPECT_NE(err_.str().find("shard-2 failed over mid-move; rolled back"),
            std::string::npos);
}

TEST_F(ReshardFlowTest, ShardAddCancelAndWatch) {
  ctx_.replicas = 1;
  ASSERT_EQ(Run({"shard", "add"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("Added shard-3 (1+1 nodes"), std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("primary  n7    127.0.0.1:7007  az-b"),
            std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("slotctl rebalance"), std::string::npos);

  EXPECT_EQ(Run({"operation", "cancel", "op-1"}), kExitFailed)
      << "nothing started yet";
  EXPECT_NE(err_.str().find("operation cancel op-1 failed: no such operation"),
            std::string::npos)
      << err_.str();
  ctx_.slots = "5";
  ctx_.from = "shard-1";
  ctx_.to = "shard-3";
  ASSERT_EQ(Run({"reshard"}), kExitOk);
  ASSERT_EQ(Run({"operation", "cancel", "op-1"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("op-1 migrate_slots: cancel requested"),
            std::string::npos)
      << out_.str();
  ASSERT_EQ(Run({"operation", "watch", "op-1"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("op-1 migrate_slots SUCCEEDED"), std::string::npos);
}

}  // namespace
}  // namespace slotcache::slotctl
