#include "coordinator/coordinator.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "coordinator/coordinator_fixture.h"
#include "coordinator/rocksdb_state_store.h"
#include "gtest/gtest.h"

namespace slotcache::coordinator {
namespace {

TEST_F(CoordinatorTest, RegistrationAssignsIdAndReRegistrationKeepsIt) {
  const std::string id = Register("a", "", "127.0.0.1:7001");
  ASSERT_FALSE(id.empty());
  const uint64_t version = coordinator_->CurrentMap()->version();

  EXPECT_EQ(Register("b", id, "127.0.0.1:7999"), id);
  const v1::ClusterMap map = *coordinator_->CurrentMap();
  EXPECT_GT(map.version(), version) << "address change publishes a new map";
  ASSERT_EQ(map.nodes_size(), 1);
  EXPECT_EQ(map.nodes(0).address(), "127.0.0.1:7999");
  EXPECT_EQ(map.nodes(0).az(), "b");
  EXPECT_EQ(map.nodes(0).health(), v1::JOINING);
}

TEST_F(CoordinatorTest, RegistrationRejectsMissingAzAndBadAddress) {
  v1::RegisterNodeRequest request;
  request.set_address("127.0.0.1:7000");
  auto no_az = coordinator_->RegisterNode(request);
  ASSERT_FALSE(no_az.ok());
  EXPECT_NE(no_az.status().message().find("--az"), std::string::npos);
  request.set_az("a");
  request.set_address("nohostport");
  EXPECT_FALSE(coordinator_->RegisterNode(request).ok());
}

TEST_F(CoordinatorTest, CreateClusterAssignsRolesSlotsAndDistinctEpochs) {
  RegisterNine();
  const v1::ClusterMap map = Create(3, 2);
  ASSERT_EQ(map.shards_size(), 3);
  EXPECT_FALSE(map.cluster_id().empty());
  std::vector<uint64_t> epochs;
  for (const v1::ShardInfo& shard : map.shards()) {
    epochs.push_back(shard.config_epoch());
    ASSERT_EQ(shard.replica_node_ids_size(), 2);
    const v1::NodeInfo* primary = FindNode(map, shard.primary_node_id());
    ASSERT_NE(primary, nullptr);
    EXPECT_EQ(primary->role(), v1::PRIMARY);
    EXPECT_EQ(primary->shard_id(), shard.shard_id());
    EXPECT_EQ(primary->health(), v1::HEALTHY);
    for (const std::string& r : shard.replica_node_ids()) {
      const v1::NodeInfo* replica = FindNode(map, r);
      ASSERT_NE(replica, nullptr);
      EXPECT_EQ(replica->role(), v1::REPLICA);
      EXPECT_NE(replica->az(), primary->az());
    }
  }
  EXPECT_EQ(epochs, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(map.shards(0).slots(0).start(), 0u);
  EXPECT_EQ(map.shards(2).slots(0).end(), 16383u);

  auto ops = coordinator_->ListOperations();
  ASSERT_EQ(ops.operations_size(), 1);
  EXPECT_EQ(ops.operations(0).kind(), "create_cluster");
  EXPECT_EQ(ops.operations(0).state(), v1::Operation::SUCCEEDED);
}

TEST_F(CoordinatorTest, CreateClusterExplainsMissingNodesAndRefusesTwice) {
  for (int i = 0; i < 4; ++i) Register("a");
  v1::CreateClusterRequest request;
  request.set_shards(3);
  request.set_replicas(2);
  auto too_few = coordinator_->CreateCluster(request);
  ASSERT_FALSE(too_few.ok());
  EXPECT_EQ(too_few.status().message(),
            "need 9 registered unassigned nodes for 3 shards x (1+2), have 4; "
            "start more nodes or lower --shards/--replicas");

  Create(2, 1);
  auto again = coordinator_->CreateCluster(request);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("already exists"), std::string::npos);
}

TEST_F(CoordinatorTest, RestartKeepsMapEpochsAndIdentities) {
  std::vector<std::string> ids = RegisterNine();
  const v1::ClusterMap before = Create(3, 2);
  Restart();
  const v1::ClusterMap after = *coordinator_->CurrentMap();
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());

  // A node re-registering after the restart keeps its role and shard, and
  // every later change gets a higher version.
  EXPECT_EQ(Register("a", ids[0], FindNode(after, ids[0])->address()), ids[0]);
  EXPECT_EQ(FindNode(*coordinator_->CurrentMap(), ids[0])->shard_id(),
            FindNode(before, ids[0])->shard_id());
  Register("c", ids[1], "127.0.0.1:1");
  EXPECT_GT(coordinator_->CurrentMap()->version(), before.version());

  // Epochs continue above anything handed out before: a restarted
  // coordinator on a wiped cluster record would be a bug, but the counter
  // itself must not reset.
  Restart();
  EXPECT_GT(coordinator_->CurrentMap()->version(), before.version());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(coordinator_->CurrentMap()->shards(i).config_epoch(),
              before.shards(i).config_epoch());
  }
}

TEST_F(CoordinatorTest, MissedHeartbeatsMarkFailedAndHeartbeatRecovers) {
  std::vector<std::string> ids = RegisterNine();
  Create(3, 2);
  clock_.Advance(absl::Milliseconds(400));
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_TRUE(Beat(ids[i]).ok());
  clock_.Advance(absl::Milliseconds(200));  // ids[0] silent for 600ms
  const uint64_t version = coordinator_->CurrentMap()->version();
  coordinator_->DetectFailures();

  v1::ClusterMap map = *coordinator_->CurrentMap();
  EXPECT_EQ(FindNode(map, ids[0])->health(), v1::FAILED);
  EXPECT_EQ(FindNode(map, ids[1])->health(), v1::HEALTHY);
  EXPECT_EQ(map.version(), version + 1);
  EXPECT_EQ(failed_, std::vector<std::string>{ids[0]});

  // Detecting again changes nothing.
  coordinator_->DetectFailures();
  EXPECT_EQ(coordinator_->CurrentMap()->version(), version + 1);
  EXPECT_EQ(failed_.size(), 1u);

  auto beat = Beat(ids[0], version + 1);
  ASSERT_TRUE(beat.ok());
  EXPECT_TRUE(beat->has_cluster_map()) << "recovery published a newer map";
  EXPECT_EQ(FindNode(*coordinator_->CurrentMap(), ids[0])->health(),
            v1::HEALTHY);
}

TEST_F(CoordinatorTest, FailureDetectionWaitsForStartupGrace) {
  std::vector<std::string> ids = RegisterNine();
  Create(3, 2);
  options_.startup_grace = absl::Seconds(2);
  Restart();
  clock_.Advance(absl::Seconds(1));
  coordinator_->DetectFailures();
  EXPECT_TRUE(failed_.empty());
  clock_.Advance(absl::Seconds(2));
  coordinator_->DetectFailures();
  EXPECT_EQ(failed_.size(), 9u);
}

TEST_F(CoordinatorTest, HeartbeatSendsNewerMapAndLeasesOnlyToPrimaries) {
  std::vector<std::string> ids = RegisterNine();
  const v1::ClusterMap map = Create(3, 2);

  auto stale = Beat(map.shards(0).primary_node_id(), map.version() - 1);
  ASSERT_TRUE(stale.ok());
  ASSERT_TRUE(stale->has_cluster_map());
  EXPECT_EQ(stale->cluster_map().version(), map.version());
  EXPECT_EQ(stale->lease_ms(), 400u);

  auto current = Beat(map.shards(0).replica_node_ids(0), map.version());
  ASSERT_TRUE(current.ok());
  EXPECT_FALSE(current->has_cluster_map());
  EXPECT_EQ(current->lease_ms(), 0u);

  auto unknown = Beat("nope");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CoordinatorTest, WaitForMapAfterWakesOnNewMap) {
  const uint64_t version = coordinator_->CurrentMap()->version();
  std::thread registrar([this] { Register("a"); });
  std::shared_ptr<const v1::ClusterMap> map =
      coordinator_->WaitForMapAfter(version, absl::Seconds(10));
  registrar.join();
  ASSERT_NE(map, nullptr);
  EXPECT_GT(map->version(), version);
  EXPECT_EQ(
      coordinator_->WaitForMapAfter(map->version(), absl::Milliseconds(1)),
      nullptr);
}

TEST_F(CoordinatorTest, EventsAreListedInOrder) {
  RegisterNine();
  Create(3, 2);
  v1::ListEventsRequest request;
  auto events = coordinator_->ListEvents(request);
  ASSERT_TRUE(events.ok());
  ASSERT_GE(events->events_size(), 13);  // 9 registrations, create, 3 shards
  EXPECT_EQ(events->events(0).kind(), "node_registered");
  EXPECT_EQ(events->events(9).kind(), "cluster_created");
  for (int i = 1; i < events->events_size(); ++i) {
    EXPECT_EQ(events->events(i).seq(), events->events(i - 1).seq() + 1);
  }
  request.set_after_seq(9);
  request.set_limit(1);
  auto one = coordinator_->ListEvents(request);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->events_size(), 1);
  EXPECT_EQ(one->events(0).kind(), "cluster_created");
}

// ---- Failover (coordinator_failover.cc) ----

class FailoverTest : public CoordinatorTest {
 protected:
  void SetUp() override {
    CoordinatorTest::SetUp();
    // A lease longer than node_timeout, so the wait for it is visible.
    options_.primary_lease = absl::Milliseconds(800);
    options_.lease_drift_margin = absl::Milliseconds(100);
    options_.node_admin = &admin_;
    options_.manual_failover_timeout = absl::Seconds(10);
    Restart();
    ids_ = RegisterNine();
    map_ = Create(3, 2);
    shard_ = map_.shards(0);
    primary_ = shard_.primary_node_id();
    // Everyone reports; shard-1's first replica is behind its second.
    ReportAllBut("", 0);
    EXPECT_EQ(Report(primary_, 100)->lease_ms(), 800u);
  }

  // Heartbeats from every node except `silent`; shard-1's replicas report
  // offsets 95 and 100 (+ `extra`), every other node 100.
  void ReportAllBut(const std::string& silent, uint64_t extra,
                    bool synced = true) {
    for (const std::string& id : ids_) {
      if (id == silent || id == primary_) continue;
      uint64_t offset = 100;
      if (id == shard_.replica_node_ids(0)) offset = 95 + extra;
      if (id == shard_.replica_node_ids(1)) offset = 100 + extra;
      ASSERT_TRUE(Report(id, offset, synced).ok());
    }
  }

  const v1::ShardInfo& Shard0() {
    return coordinator_->CurrentMap()->shards(0);
  }

  FakeNodeAdmin admin_;
  std::vector<std::string> ids_;
  v1::ClusterMap map_;
  v1::ShardInfo shard_;
  std::string primary_;
};

TEST_F(FailoverTest, FailedPrimaryIsReplacedOnlyAfterItsLeaseIsSurelyOver) {
  clock_.Advance(absl::Milliseconds(300));
  ReportAllBut(primary_, 0);
  clock_.Advance(absl::Milliseconds(300));
  ReportAllBut(primary_, 0);
  coordinator_->DetectFailures();  // t=600: FAILED, failover starts.
  EXPECT_EQ(Shard0().primary_node_id(), primary_);
  v1::Operation op = LastOperation();
  EXPECT_EQ(op.kind(), "failover");
  EXPECT_EQ(op.state(), v1::Operation::RUNNING);

  // The old primary comes back (SIGCONT) but gets no lease any more.
  clock_.Advance(absl::Milliseconds(50));
  EXPECT_EQ(Report(primary_, 101)->lease_ms(), 0u);

  // t=850: its last lease (granted at 0) is not surely over before 900.
  clock_.Advance(absl::Milliseconds(200));
  ReportAllBut(primary_, 0);
  coordinator_->DetectFailures();
  EXPECT_EQ(Shard0().primary_node_id(), primary_);

  // t=950: over, but the replicas' offsets are from before it: wait.
  clock_.Advance(absl::Milliseconds(100));
  coordinator_->DetectFailures();
  EXPECT_EQ(Shard0().primary_node_id(), primary_);

  // Fresh reports: the replica with the highest offset wins.
  ReportAllBut(primary_, 5);
  const uint64_t max_epoch_before =
      std::max({map_.shards(0).config_epoch(), map_.shards(1).config_epoch(),
                map_.shards(2).config_epoch()});
  coordinator_->DetectFailures();
  const v1::ShardInfo after = Shard0();
  EXPECT_EQ(after.primary_node_id(), shard_.replica_node_ids(1));
  EXPECT_GT(after.config_epoch(), max_epoch_before);
  ASSERT_EQ(after.replica_node_ids_size(), 2);
  EXPECT_EQ(after.replica_node_ids(0), shard_.replica_node_ids(0));
  EXPECT_EQ(after.replica_node_ids(1), primary_) << "rejoins as a replica";
  v1::ClusterMap map = *coordinator_->CurrentMap();
  EXPECT_EQ(FindNode(map, primary_)->role(), v1::REPLICA);
  EXPECT_EQ(FindNode(map, after.primary_node_id())->role(), v1::PRIMARY);
  EXPECT_EQ(Report(primary_, 101)->lease_ms(), 0u);
  EXPECT_EQ(Report(after.primary_node_id(), 105)->lease_ms(), 800u);

  op = LastOperation();
  EXPECT_EQ(op.state(), v1::Operation::SUCCEEDED);
  std::vector<std::string> kinds = EventKinds();
  auto started = std::find(kinds.begin(), kinds.end(), "failover_started");
  auto completed = std::find(kinds.begin(), kinds.end(), "failover_completed");
  ASSERT_NE(started, kinds.end());
  EXPECT_GT(completed, started);

  // Restarts keep the new epoch and roles.
  Restart();
  EXPECT_EQ(Shard0().SerializeAsString(), after.SerializeAsString());
}

TEST_F(FailoverTest, ShardWithoutEligibleReplicaStaysDownAndSaysWhy) {
  clock_.Advance(absl::Milliseconds(600));
  ReportAllBut(primary_, 0, /*synced=*/false);
  coordinator_->DetectFailures();
  clock_.Advance(absl::Milliseconds(400));
  ReportAllBut(primary_, 0, /*synced=*/false);
  coordinator_->DetectFailures();
  EXPECT_EQ(Shard0().primary_node_id(), primary_) << "never promote empty";
  v1::Operation op = LastOperation();
  EXPECT_EQ(op.state(), v1::Operation::FAILED);
  EXPECT_NE(op.progress().find("has not completed a full sync"),
            std::string::npos)
      << op.progress();
  EXPECT_EQ(EventKinds().back(), "failover_failed");

  // Further ticks stay quiet; the primary's return gives it its lease back.
  const size_t events = EventKinds().size();
  clock_.Advance(absl::Milliseconds(100));
  coordinator_->DetectFailures();
  EXPECT_EQ(EventKinds().size(), events);
  EXPECT_EQ(Report(primary_, 100)->lease_ms(), 800u);
}

TEST_F(FailoverTest, RestartMidFailoverRollsBackThenFailsOverAgain) {
  clock_.Advance(absl::Milliseconds(600));
  ReportAllBut(primary_, 0);
  coordinator_->DetectFailures();
  ASSERT_EQ(LastOperation().state(), v1::Operation::RUNNING);
  Restart();
  v1::Operation op = LastOperation();
  EXPECT_EQ(op.state(), v1::Operation::FAILED);
  EXPECT_NE(op.progress().find("interrupted by a coordinator restart"),
            std::string::npos);
  EXPECT_EQ(Shard0().primary_node_id(), primary_);

  // The restarted coordinator assumes a lease was granted just before it
  // stopped, and promotes only once that one is over.
  ReportAllBut(primary_, 0);
  coordinator_->DetectFailures();
  EXPECT_EQ(Shard0().primary_node_id(), primary_);
  clock_.Advance(absl::Milliseconds(950));
  ReportAllBut(primary_, 0);
  coordinator_->DetectFailures();
  EXPECT_EQ(Shard0().primary_node_id(), shard_.replica_node_ids(1));
}

TEST_F(FailoverTest, PrimaryThatRestartedWithoutDataIsReplaced) {
  v1::RegisterNodeRequest request;
  request.set_node_id(primary_);
  request.set_address(FindNode(map_, primary_)->address());
  request.set_az(FindNode(map_, primary_)->az());
  request.set_restarted(true);
  ASSERT_TRUE(coordinator_->RegisterNode(request).ok());
  EXPECT_EQ(Report(primary_, 0)->lease_ms(), 0u) << "empty: no lease";
  clock_.Advance(absl::Milliseconds(950));
  ReportAllBut(primary_, 0);
  coordinator_->DetectFailures();
  EXPECT_EQ(Shard0().primary_node_id(), shard_.replica_node_ids(1));
}

TEST_F(FailoverTest, ManualFailoverPausesCatchesUpSwitchesAndResumes) {
  admin_.SetOffsets(/*paused=*/120, /*target=*/120);
  v1::FailoverRequest request;
  request.set_shard_id(shard_.shard_id());
  request.set_to_node_id(shard_.replica_node_ids(0));
  auto started = coordinator_->StartFailover(request);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->operation().state(), v1::Operation::RUNNING);

  // While it runs: no lease for the old primary, no second failover.
  EXPECT_EQ(Report(primary_, 120)->lease_ms(), 0u);
  v1::FailoverRequest other;
  other.set_shard_id(map_.shards(1).shard_id());
  auto refused = coordinator_->StartFailover(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("another failover is running"),
            std::string::npos);

  admin_.release_pause_.Notify();
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (LastOperation().state() == v1::Operation::RUNNING &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  v1::Operation op = LastOperation();
  EXPECT_EQ(op.state(), v1::Operation::SUCCEEDED) << op.progress();
  EXPECT_EQ(Shard0().primary_node_id(), shard_.replica_node_ids(0));
  // The pause outlasts the old primary's last lease (granted at t=0).
  EXPECT_GE(admin_.pause(), absl::Milliseconds(900));
  coordinator_->Shutdown();  // Joins the failover's thread.
  const std::string old_address = FindNode(map_, primary_)->address();
  std::vector<std::string> calls = admin_.calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front(), "pause " + old_address);
  EXPECT_EQ(calls.back(), "resume " + old_address);
  std::vector<std::string> kinds = EventKinds();
  auto requested = std::find(kinds.begin(), kinds.end(), "failover_requested");
  ASSERT_NE(requested, kinds.end());
  EXPECT_EQ(*(requested + 1), "failover_completed");
}

TEST_F(FailoverTest, ManualFailoverRollsBackWhenTargetDoesNotCatchUp) {
  coordinator_.reset();
  options_.manual_failover_timeout = absl::Milliseconds(100);
  Restart();
  ReportAllBut("", 0);  // Reports are not persisted.
  admin_.SetOffsets(/*paused=*/120, /*target=*/119);
  admin_.release_pause_.Notify();
  v1::FailoverRequest request;
  request.set_shard_id(shard_.shard_id());
  ASSERT_TRUE(coordinator_->StartFailover(request).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (LastOperation().state() == v1::Operation::RUNNING &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  v1::Operation op = LastOperation();
  EXPECT_EQ(op.state(), v1::Operation::FAILED);
  EXPECT_NE(op.progress().find("did not reach offset 120"), std::string::npos)
      << op.progress();
  EXPECT_EQ(Shard0().primary_node_id(), primary_);
  coordinator_->Shutdown();
  EXPECT_EQ(admin_.calls().back(),
            "resume " + FindNode(map_, primary_)->address());
}

TEST_F(FailoverTest, ManualFailoverRefusesUnknownShardsAndTargets) {
  v1::FailoverRequest request;
  request.set_shard_id("shard-9");
  EXPECT_EQ(coordinator_->StartFailover(request).status().code(),
            absl::StatusCode::kNotFound);
  request.set_shard_id(shard_.shard_id());
  request.set_to_node_id(map_.shards(1).primary_node_id());
  auto bad = coordinator_->StartFailover(request);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("is not a replica of"),
            std::string::npos);
}

}  // namespace
}  // namespace slotcache::coordinator
