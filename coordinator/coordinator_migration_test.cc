// The resharding runner (coordinator_migration.cc) and its requests
// (coordinator_resharding.cc) against a FakeNodeAdmin: commits, rollbacks
// at every step, cancel, the refusal rules, restarts, scale out and in.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "coordinator/coordinator.h"
#include "coordinator/coordinator_fixture.h"
#include "coordinator/resharding.h"
#include "coordinator/rocksdb_state_store.h"
#include "gtest/gtest.h"

namespace slotcache::coordinator {
namespace {

class MigrationTest : public CoordinatorTest {
 protected:
  void SetUp() override {
    CoordinatorTest::SetUp();
    options_.node_admin = &admin_;
    options_.migration_pause = absl::Seconds(2);
    options_.migration_poll = absl::Milliseconds(1);
    options_.migration_rollback_attempts = 3;
    options_.migration_retry_interval = absl::Milliseconds(10);
    Restart();
    ids_ = RegisterNine();
    map_ = Create(3, 2);
  }

  // Every node except `silent` heartbeats (so none is marked FAILED).
  void ReportAllBut(const std::string& silent) {
    for (const std::string& id : ids_) {
      if (id == silent) continue;
      ASSERT_TRUE(Report(id, 100).ok());
    }
  }

  const v1::ShardInfo& Shard(int i) {
    return coordinator_->CurrentMap()->shards(i);
  }
  std::string Address(int shard) {
    return FindNode(map_, map_.shards(shard).primary_node_id())->address();
  }
  std::string Slots(const v1::ShardInfo& shard) {
    return RangesText(SlotRanges(shard.slots().begin(), shard.slots().end()));
  }

  absl::StatusOr<v1::Operation> Migrate(int from, int to, uint32_t count) {
    v1::MigrateSlotsRequest request;
    request.set_from_shard_id(map_.shards(from).shard_id());
    request.set_to_shard_id(map_.shards(to).shard_id());
    request.set_slot_count(count);
    auto response = coordinator_->MigrateSlots(request);
    if (!response.ok()) return response.status();
    return response->operation();
  }

  // Polls until the operation is no longer RUNNING.
  v1::Operation WaitDone(const std::string& id) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    absl::StatusOr<v1::Operation> op = coordinator_->GetOperation(id);
    while (op.ok() && op->state() == v1::Operation::RUNNING &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(2));
      op = coordinator_->GetOperation(id);
    }
    EXPECT_TRUE(op.ok()) << op.status();
    return op.ok() ? *op : v1::Operation();
  }

  // Polls until the runner made `call` on `address`.
  void WaitForCall(const std::string& call) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (admin_.CallsOf(call).empty() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_FALSE(admin_.CallsOf(call).empty()) << "no " << call;
  }

  // An import that never gets close (the runner keeps polling).
  void StallImport() {
    v1::ImportStatus status = FakeNodeAdmin::CaughtUp();
    status.set_state(v1::ImportStatus::SNAPSHOT);
    admin_.SetImport(status);
  }

  // The target's primary got AbortImport after StartImport and the
  // source's ResumeSlotWrites; nothing moved.
  void ExpectRolledBack(const v1::Operation& op, const std::string& why) {
    EXPECT_EQ(op.state(), v1::Operation::FAILED);
    EXPECT_NE(op.message().find(why), std::string::npos) << op.message();
    EXPECT_EQ(admin_.CallsOf("AbortImport").size(), 2u)
        << "the cleanup before the start and the rollback";
    EXPECT_EQ(admin_.CallsOf("ResumeSlotWrites"),
              std::vector<std::string>{"ResumeSlotWrites " + Address(0)});
    EXPECT_EQ(Slots(Shard(0)), Slots(map_.shards(0)));
    EXPECT_EQ(Slots(Shard(1)), Slots(map_.shards(1)));
    EXPECT_EQ(Shard(0).config_epoch(), map_.shards(0).config_epoch());
  }

  FakeNodeAdmin admin_;
  std::vector<std::string> ids_;
  v1::ClusterMap map_;
};

TEST_F(MigrationTest, MoveCommitsWithBothEpochsBumpedAndMovesExactlyTheSlots) {
  const uint64_t version = coordinator_->CurrentMap()->version();
  absl::StatusOr<v1::Operation> started = Migrate(0, 1, 100);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->kind(), "migrate_slots");
  EXPECT_EQ(started->state(), v1::Operation::RUNNING);
  ASSERT_EQ(started->moves_size(), 1);
  EXPECT_EQ(started->migration().slots_total(), 100u);

  v1::Operation op = WaitDone(started->id());
  EXPECT_EQ(op.state(), v1::Operation::SUCCEEDED) << op.message();
  EXPECT_TRUE(op.moves(0).committed());
  EXPECT_EQ(op.migration().slots_done(), 100u);
  EXPECT_EQ(op.migration().keys_copied(), 10u);
  EXPECT_EQ(Slots(Shard(0)), "0-5360");
  EXPECT_EQ(Slots(Shard(1)), "5361-10921");
  EXPECT_EQ(Slots(Shard(2)), Slots(map_.shards(2)));
  EXPECT_EQ(Shard(0).config_epoch(), 4u);
  EXPECT_EQ(Shard(1).config_epoch(), 5u);
  EXPECT_EQ(Shard(2).config_epoch(), 3u);
  EXPECT_GT(coordinator_->CurrentMap()->version(), version);

  coordinator_->Shutdown();  // Joins the runner.
  const std::string source = Address(0), target = Address(1);
  EXPECT_EQ(admin_.last_source(), source);
  EXPECT_EQ(admin_.slot_pause(), absl::Seconds(2));
  EXPECT_EQ(
      admin_.CallsOf(""),
      (std::vector<std::string>{
          "AbortImport " + target, "StartImport " + target,
          "PauseSlotWrites " + source, "FinishImport " + target,
          "map " + target, "map " + source, "ResumeSlotWrites " + source}));
  std::vector<std::string> kinds = EventKinds();
  auto begun = std::find(kinds.begin(), kinds.end(), "migration_started");
  ASSERT_NE(begun, kinds.end());
  EXPECT_EQ(*(begun + 1), "migration_committed");
  EXPECT_EQ(*(begun + 2), "migration_completed");

  Restart();
  EXPECT_EQ(Slots(Shard(0)), "0-5360");
  EXPECT_EQ(coordinator_->GetOperation(op.id())->state(),
            v1::Operation::SUCCEEDED);
}

TEST_F(MigrationTest, FailureAtEachStepRollsBackAndChangesNothing) {
  struct Case {
    const char* call;
    const char* why;
  };
  for (const Case& c :
       {Case{"AbortImport", "could not clean the target first"},
        Case{"StartImport", "the target refused the import"},
        Case{"PauseSlotWrites", "could not pause writes on the source"},
        Case{"FinishImport", "FinishImport failed on the target"}}) {
    SCOPED_TRACE(c.call);
    admin_.ClearCalls();
    admin_.Fail(c.call);
    absl::StatusOr<v1::Operation> started = Migrate(0, 1, 10);
    ASSERT_TRUE(started.ok()) << started.status();
    ExpectRolledBack(WaitDone(started->id()), c.why);
  }
  // The import itself fails on the target.
  admin_.ClearCalls();
  v1::ImportStatus failed = FakeNodeAdmin::CaughtUp();
  failed.set_state(v1::ImportStatus::FAILED);
  failed.set_error("stream broke");
  admin_.SetImport(failed);
  absl::StatusOr<v1::Operation> started = Migrate(0, 1, 10);
  ASSERT_TRUE(started.ok());
  ExpectRolledBack(WaitDone(started->id()), "stream broke");
  std::vector<std::string> kinds = EventKinds();
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "migration_rolled_back"), 5);
}

TEST_F(MigrationTest, TargetCatchingUpTooLateRollsBack) {
  coordinator_.reset();
  // The commit window is pause - lease - margin = 50ms.
  options_.migration_pause = absl::Milliseconds(550);
  Restart();
  ReportAllBut("");
  v1::ImportStatus behind = FakeNodeAdmin::CaughtUp();
  behind.set_applied_source_offset(499);
  behind.set_source_offset(499);
  admin_.SetImport(behind);
  absl::StatusOr<v1::Operation> started = Migrate(0, 1, 10);
  ASSERT_TRUE(started.ok()) << started.status();
  ExpectRolledBack(WaitDone(started->id()), "before the commit window closed");

  // Applied in time, but the replicas never acknowledge it.
  admin_.ClearCalls();
  v1::ImportStatus lagging = FakeNodeAdmin::CaughtUp();
  lagging.set_replicas_caught_up(false);
  admin_.SetImport(lagging);
  started = Migrate(0, 1, 10);
  ASSERT_TRUE(started.ok()) << started.status();
  ExpectRolledBack(WaitDone(started->id()), "replicas did not acknowledge");
}

TEST_F(MigrationTest, CancelRollsBackTheMoveInFlight) {
  StallImport();
  absl::StatusOr<v1::Operation> started = Migrate(0, 1, 10);
  ASSERT_TRUE(started.ok());
  WaitForCall("StartImport");
  absl::StatusOr<v1::Operation> cancelled =
      coordinator_->CancelOperation(started->id());
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_TRUE(cancelled->cancel_requested());
  v1::Operation op = WaitDone(started->id());
  ExpectRolledBack(op, "cancelled by request");
  EXPECT_TRUE(op.cancel_requested());

  auto again = coordinator_->CancelOperation(started->id());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(coordinator_->CancelOperation("op-1").status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "create_cluster cannot be cancelled";
  EXPECT_EQ(coordinator_->CancelOperation("op-99").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(coordinator_->GetOperation("op-99").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(MigrationTest, OneSlotMovingOperationAtATimeAndNoManualFailoverOfIt) {
  StallImport();
  absl::StatusOr<v1::Operation> started = Migrate(0, 1, 10);
  ASSERT_TRUE(started.ok());
  absl::StatusOr<v1::Operation> second = Migrate(2, 1, 10);
  ASSERT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(started->id()), std::string::npos)
      << second.status();
  v1::RemoveShardRequest remove;
  remove.set_shard_id(map_.shards(2).shard_id());
  EXPECT_EQ(coordinator_->RemoveShard(remove).status().code(),
            absl::StatusCode::kFailedPrecondition);

  v1::FailoverRequest failover;
  failover.set_shard_id(map_.shards(0).shard_id());
  auto refused = coordinator_->StartFailover(failover);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("moving slots"), std::string::npos)
      << refused.status();

  ASSERT_TRUE(coordinator_->CancelOperation(started->id()).ok());
  WaitDone(started->id());
}

TEST_F(MigrationTest, AutomaticFailoverOfTheSourceRollsTheMoveBack) {
  coordinator_.reset();
  // A lease longer than node_timeout, so the failover is still waiting
  // for it when the next move is asked for.
  options_.primary_lease = absl::Milliseconds(800);
  Restart();
  ReportAllBut("");  // Primaries get their leases at t=0.
  StallImport();
  absl::StatusOr<v1::Operation> started = Migrate(0, 1, 10);
  ASSERT_TRUE(started.ok());
  WaitForCall("StartImport");
  // shard-1's primary goes silent and is failed over.
  const std::string primary = map_.shards(0).primary_node_id();
  clock_.Advance(absl::Milliseconds(600));
  ReportAllBut(primary);
  coordinator_->DetectFailures();
  v1::Operation op = WaitDone(started->id());
  EXPECT_EQ(op.state(), v1::Operation::FAILED);
  EXPECT_NE(op.message().find("a failover of shard-1 started"),
            std::string::npos)
      << op.message();
  EXPECT_EQ(admin_.CallsOf("AbortImport").size(), 2u);
  EXPECT_EQ(Slots(Shard(0)), Slots(map_.shards(0)));

  // While that failover runs, moves of shard-1 are refused.
  auto refused = Migrate(0, 1, 10);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("failover of shard-1 is running"),
            std::string::npos)
      << refused.status();
}

TEST_F(MigrationTest, FailoverOfTheTargetRollsBackOnItsNewPrimary) {
  StallImport();
  absl::StatusOr<v1::Operation> started = Migrate(0, 1, 10);
  ASSERT_TRUE(started.ok());
  WaitForCall("StartImport");
  // shard-2's primary goes silent; a replica replaces it at once (no
  // lease was granted in this process).
  const std::string old_primary = map_.shards(1).primary_node_id();
  clock_.Advance(absl::Milliseconds(600));
  ReportAllBut(old_primary);
  coordinator_->DetectFailures();
  const std::string new_primary = Shard(1).primary_node_id();
  ASSERT_NE(new_primary, old_primary);
  v1::Operation op = WaitDone(started->id());
  EXPECT_EQ(op.state(), v1::Operation::FAILED);
  EXPECT_NE(op.message().find("a failover of shard-2 started"),
            std::string::npos)
      << op.message();
  const std::string new_address =
      FindNode(*coordinator_->CurrentMap(), new_primary)->address();
  EXPECT_EQ(admin_.CallsOf("AbortImport"),
            (std::vector<std::string>{"AbortImport " + Address(1),
                                      "AbortImport " + new_address}));
  EXPECT_EQ(admin_.CallsOf("ResumeSlotWrites"),
            std::vector<std::string>{"ResumeSlotWrites " + Address(0)});
  EXPECT_EQ(Slots(Shard(1)), Slots(map_.shards(1)));
}

TEST_F(MigrationTest, RestartRollsBackTheMoveInFlight) {
  StallImport();
  absl::StatusOr<v1::Operation> started = Migrate(0, 1, 10);
  ASSERT_TRUE(started.ok());
  WaitForCall("StartImport");
  Restart();  // The runner stops as a crash would leave it.
  v1::Operation op = WaitDone(started->id());
  EXPECT_EQ(op.state(), v1::Operation::FAILED);
  EXPECT_NE(op.message().find("interrupted by a coordinator restart"),
            std::string::npos)
      << op.message();
  EXPECT_EQ(admin_.CallsOf("AbortImport").size(), 2u);
  EXPECT_EQ(admin_.CallsOf("ResumeSlotWrites").size(), 1u);
  EXPECT_EQ(Slots(Shard(0)), Slots(map_.shards(0)));
  EXPECT_FALSE(op.moves(0).committed());
}

TEST_F(MigrationTest, RestartAfterTheCommitMarksTheMoveCommitted) {
  absl::StatusOr<v1::Operation> started = Migrate(0, 1, 10);
  ASSERT_TRUE(started.ok());
  v1::Operation done = WaitDone(started->id());
  ASSERT_EQ(done.state(), v1::Operation::SUCCEEDED);
  // As if the process died right after the commit's write: the operation
  // RUNNING and its move unmarked, the map already moved.
  coordinator_.reset();
  {
    auto store = OpenRocksDbStateStore(dir_);
    ASSERT_TRUE(store.ok());
    StateUpdate update;
    v1::Operation& op = update.operations.emplace_back(done);
    op.set_state(v1::Operation::RUNNING);
    op.mutable_moves(0)->set_committed(false);
    ASSERT_TRUE((*store)->Write(update).ok());
  }
  admin_.ClearCalls();
  Restart();
  v1::Operation op = WaitDone(started->id());
  EXPECT_EQ(op.state(), v1::Operation::FAILED);
  EXPECT_TRUE(op.moves(0).committed());
  EXPECT_TRUE(admin_.CallsOf("AbortImport").empty()) << "nothing to undo";
  EXPECT_EQ(Slots(Shard(0)), "0-5450");
}

TEST_F(MigrationTest, AddShardRebalanceThenRemoveShard) {
  // Three more nodes, one per AZ, join.
  std::vector<std::string> fresh;
  for (const char* az : {"a", "b", "c"}) fresh.push_back(Register(az));
  v1::AddShardRequest add;
  add.set_replicas(2);
  absl::StatusOr<v1::AddShardResponse> added = coordinator_->AddShard(add);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->shard().shard_id(), "shard-4");
  EXPECT_EQ(added->shard().slots_size(), 0);
  EXPECT_EQ(added->shard().config_epoch(), 4u);
  EXPECT_EQ(added->cluster_map().shards_size(), 4);
  auto none_left = coordinator_->AddShard(add);
  ASSERT_EQ(none_left.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(none_left.status().message().find("needs 3"), std::string::npos)
      << none_left.status();
  for (const std::string& id : fresh) {
    ASSERT_TRUE(Report(id, 0).ok());
  }
  map_ = *coordinator_->CurrentMap();

  v1::RebalanceRequest plan;
  plan.set_dry_run(true);
  auto planned = coordinator_->Rebalance(plan);
  ASSERT_TRUE(planned.ok()) << planned.status();
  ASSERT_EQ(planned->moves_size(), 3);
  EXPECT_FALSE(planned->has_operation());
  for (const v1::SlotMove& m : planned->moves()) {
    EXPECT_EQ(m.to_shard_id(), "shard-4");
  }
  auto rebalance = coordinator_->Rebalance(v1::RebalanceRequest());
  ASSERT_TRUE(rebalance.ok()) << rebalance.status();
  v1::Operation op = WaitDone(rebalance->operation().id());
  EXPECT_EQ(op.state(), v1::Operation::SUCCEEDED) << op.message();
  EXPECT_EQ(op.kind(), "rebalance");
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(CountSlots(
                  SlotRanges(Shard(i).slots().begin(), Shard(i).slots().end())),
              4096u);
  }

  v1::RemoveShardRequest remove;
  remove.set_shard_id("shard-2");
  auto removing = coordinator_->RemoveShard(remove);
  ASSERT_TRUE(removing.ok()) << removing.status();
  op = WaitDone(removing->operation().id());
  EXPECT_EQ(op.state(), v1::Operation::SUCCEEDED) << op.message();
  v1::ClusterMap map = *coordinator_->CurrentMap();
  ASSERT_EQ(map.shards_size(), 3);
  uint32_t total = 0;
  for (const v1::ShardInfo& shard : map.shards()) {
    EXPECT_NE(shard.shard_id(), "shard-2");
    total += CountSlots(SlotRanges(shard.slots().begin(), shard.slots().end()));
  }
  EXPECT_EQ(total, kNumSlots);
  for (const std::string& id :
       {map_.shards(1).primary_node_id(), map_.shards(1).replica_node_ids(0)}) {
    const v1::NodeInfo* node = FindNode(map, id);
    EXPECT_TRUE(node->shard_id().empty());
    EXPECT_EQ(node->role(), v1::ROLE_UNSPECIFIED);
    EXPECT_EQ(node->health(), v1::JOINING);
  }
  Restart();
  EXPECT_EQ(coordinator_->CurrentMap()->shards_size(), 3);
  // Its nodes form the next shard, under a new id.
  added = coordinator_->AddShard(add);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->shard().shard_id(), "shard-5");
}

TEST_F(MigrationTest, RebalanceByKeysUsesSlotStatsOfPrimaries) {
  // shard-1 holds 600 keys in its top 6 slots; the others none.
  v1::SlotStatsResponse stats;
  for (uint32_t s = 5455; s <= 5460; ++s) {
    v1::SlotStatsResponse::Slot& slot = *stats.add_slots();
    slot.set_slot(s);
    slot.set_keys(100);
  }
  stats.set_bytes_per_key(10);
  admin_.SetSlotStats(Address(0), stats);
  v1::RebalanceRequest request;
  request.set_by("keys");
  request.set_dry_run(true);
  auto planned = coordinator_->Rebalance(request);
  ASSERT_TRUE(planned.ok()) << planned.status();
  ASSERT_EQ(planned->moves_size(), 2);
  uint64_t keys = 0;
  for (const v1::SlotMove& m : planned->moves()) {
    EXPECT_EQ(m.from_shard_id(), "shard-1");
    keys += m.keys();
    EXPECT_EQ(m.bytes(), m.keys() * 10);
  }
  EXPECT_EQ(keys, 400u);
  request.set_by("colour");
  EXPECT_EQ(coordinator_->Rebalance(request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MigrationTest, BadRequestsAreRefusedWithReasons) {
  v1::MigrateSlotsRequest request;
  request.set_from_shard_id("shard-1");
  request.set_to_shard_id("shard-2");
  v1::SlotRange* r = request.add_slots();
  r->set_start(6000);
  r->set_end(6001);
  auto not_owned = coordinator_->MigrateSlots(request);
  ASSERT_EQ(not_owned.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(not_owned.status().message().find("does not own"),
            std::string::npos);
  r->set_end(5999);
  EXPECT_EQ(coordinator_->MigrateSlots(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_to_shard_id("shard-9");
  request.clear_slots();
  request.set_slot_count(1);
  EXPECT_EQ(coordinator_->MigrateSlots(request).status().code(),
            absl::StatusCode::kNotFound);
  request.set_to_shard_id("shard-1");
  EXPECT_EQ(coordinator_->MigrateSlots(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_to_shard_id("shard-2");
  request.set_slot_count(0);
  EXPECT_EQ(coordinator_->MigrateSlots(request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace slotcache::coordinator
