#include "node/cluster/cluster_state.h"

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/slot.h"
#include "common/status.h"
#include "gtest/gtest.h"

namespace slotcache::node {
namespace {

NodeIdentity Self() { return {"node-a", "127.0.0.1:7001", "az-a"}; }

void AddNode(v1::ClusterMap* map, const std::string& id,
             const std::string& address) {
  v1::NodeInfo* node = map->add_nodes();
  node->set_node_id(id);
  node->set_address(address);
}

v1::ShardInfo* AddShard(v1::ClusterMap* map, const std::string& id,
                        uint32_t start, uint32_t end,
                        const std::string& primary, uint64_t epoch) {
  v1::ShardInfo* shard = map->add_shards();
  shard->set_shard_id(id);
  v1::SlotRange* range = shard->add_slots();
  range->set_start(start);
  range->set_end(end);
  shard->set_primary_node_id(primary);
  shard->set_config_epoch(epoch);
  return shard;
}

// Two shards: s1 (slots 0..8191, primary node-a, replica node-c) and s2
// (8192..16383, primary node-b, epoch 7).
v1::ClusterMap TwoShardMap(uint64_t version) {
  v1::ClusterMap map;
  map.set_cluster_id("c1");
  map.set_version(version);
  AddNode(&map, "node-a", "127.0.0.1:7001");
  AddNode(&map, "node-b", "127.0.0.1:7002");
  AddNode(&map, "node-c", "127.0.0.1:7003");
  AddShard(&map, "s1", 0, 8191, "node-a", 3)->add_replica_node_ids("node-c");
  AddShard(&map, "s2", 8192, kNumSlots - 1, "node-b", 7);
  return map;
}

TEST(ClusterStateTest, StandaloneNodeServesEverySlotAsPrimary) {
  ClusterState state(Self(), {});
  RoutingView view = state.View(/*allow_replica_read=*/false);
  for (uint32_t slot : {0u, 5000u, kNumSlots - 1}) {
    EXPECT_TRUE(view.RouteSlot(slot, Access::kRead).ok());
    EXPECT_TRUE(view.RouteSlot(slot, Access::kWrite).ok());
  }
  EXPECT_TRUE(view.RouteNodeWide(Access::kWrite).ok());
  EXPECT_EQ(state.role(), v1::PRIMARY);
  EXPECT_EQ(state.map_version(), 0u);
}

TEST(ClusterStateTest, StandaloneMapNamesThisNodeAtItsBoundAddress) {
  ClusterState state({"node-a", "", "az-a"}, {});
  state.SetAddress("127.0.0.1:4242");
  std::shared_ptr<const v1::ClusterMap> map = state.map();
  ASSERT_EQ(map->shards_size(), 1);
  EXPECT_EQ(map->shards(0).primary_node_id(), "node-a");
  EXPECT_EQ(map->shards(0).slots(0).start(), 0u);
  EXPECT_EQ(map->shards(0).slots(0).end(), kNumSlots - 1);
  ASSERT_EQ(map->nodes_size(), 1);
  EXPECT_EQ(map->nodes(0).address(), "127.0.0.1:4242");
  EXPECT_EQ(map->nodes(0).az(), "az-a");
  EXPECT_EQ(state.identity().address, "127.0.0.1:4242");
}

TEST(ClusterStateTest, PrimaryServesItsSlotsAndRedirectsOthersWithEpoch) {
  ClusterState state(Self(), {});
  ASSERT_EQ(*state.Apply(TwoShardMap(1)), 1u);
  RoutingView view = state.View(false);
  EXPECT_TRUE(view.RouteSlot(100, Access::kWrite).ok());
  EXPECT_TRUE(view.RouteSlot(8191, Access::kRead).ok());

  absl::Status moved = view.RouteSlot(8192, Access::kRead);
  v1::Error error = ErrorOf(moved);
  EXPECT_EQ(error.code(), v1::MOVED);
  EXPECT_EQ(error.redirect().slot(), 8192u);
  EXPECT_EQ(error.redirect().address(), "127.0.0.1:7002");
  EXPECT_EQ(error.redirect().node_id(), "node-b");
  EXPECT_EQ(error.redirect().config_epoch(), 7u);
  EXPECT_EQ(error.message(), "MOVED 8192 127.0.0.1:7002");
  EXPECT_EQ(state.role(), v1::PRIMARY);
  EXPECT_EQ(state.shard_id(), "s1");
}

TEST(ClusterStateTest, ReplicaRefusesWritesNamingThePrimary) {
  ClusterState state({"node-c", "127.0.0.1:7003", "az-c"}, {});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  EXPECT_EQ(state.role(), v1::REPLICA);
  v1::Error error = ErrorOf(state.View(true).RouteSlot(5, Access::kWrite));
  EXPECT_EQ(error.code(), v1::READONLY);
  EXPECT_EQ(error.redirect().address(), "127.0.0.1:7001");
  EXPECT_NE(error.message().find("127.0.0.1:7001"), std::string::npos);

  EXPECT_EQ(ErrorCodeOf(state.View(true).RouteNodeWide(Access::kWrite)),
            v1::READONLY);
  EXPECT_TRUE(state.View(false).RouteNodeWide(Access::kRead).ok());
}

TEST(ClusterStateTest, ReplicaServesReadsOnlyWhenTheClientAllowsIt) {
  ClusterState state({"node-c", "127.0.0.1:7003", "az-c"}, {});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  EXPECT_TRUE(state.View(true).RouteSlot(5, Access::kRead).ok());

  v1::Error error = ErrorOf(state.View(false).RouteSlot(5, Access::kRead));
  EXPECT_EQ(error.code(), v1::MOVED);
  EXPECT_EQ(error.redirect().address(), "127.0.0.1:7001");
  EXPECT_EQ(error.redirect().config_epoch(), 3u);
  // A replica of s1 knows nothing special about s2's slots.
  EXPECT_EQ(ErrorCodeOf(state.View(true).RouteSlot(9000, Access::kRead)),
            v1::MOVED);
}

TEST(ClusterStateTest, SlotOwnedByNoShardIsClusterDown) {
  ClusterState state(Self(), {});
  v1::ClusterMap map;
  map.set_version(4);
  AddNode(&map, "node-a", "127.0.0.1:7001");
  AddShard(&map, "s1", 0, 99, "node-a", 1);
  ASSERT_TRUE(state.Apply(map).ok());
  absl::Status status = state.View(false).RouteSlot(100, Access::kRead);
  EXPECT_EQ(ErrorCodeOf(status), v1::CLUSTERDOWN);
  EXPECT_NE(status.message().find("slot 100"), std::string::npos);
}

TEST(ClusterStateTest, ShardWithoutKnownPrimaryIsClusterDown) {
  ClusterState state(Self(), {});
  v1::ClusterMap map;
  map.set_version(2);
  AddNode(&map, "node-a", "127.0.0.1:7001");
  AddShard(&map, "s1", 0, 99, "", 1);
  AddShard(&map, "s2", 100, 199, "node-missing", 1);
  ASSERT_TRUE(state.Apply(map).ok());
  EXPECT_EQ(ErrorCodeOf(state.View(false).RouteSlot(1, Access::kRead)),
            v1::CLUSTERDOWN);
  EXPECT_EQ(ErrorCodeOf(state.View(false).RouteSlot(150, Access::kRead)),
            v1::CLUSTERDOWN);
}

TEST(ClusterStateTest, MapsThatAreNotNewerAreIgnored) {
  ClusterState state(Self(), {});
  ASSERT_EQ(*state.Apply(TwoShardMap(5)), 5u);
  v1::ClusterMap older = TwoShardMap(4);
  older.mutable_shards(0)->set_primary_node_id("node-b");
  EXPECT_EQ(*state.Apply(older), 5u);
  EXPECT_EQ(*state.Apply(TwoShardMap(5)), 5u);
  EXPECT_EQ(state.role(), v1::PRIMARY);

  ClusterState fresh(Self(), {});
  EXPECT_EQ(*fresh.Apply(TwoShardMap(0)), 0u);
  EXPECT_EQ(fresh.map_version(), 0u);
}

TEST(ClusterStateTest, MalformedMapsAreRefusedAndChangeNothing) {
  ClusterState state(Self(), {});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());

  v1::ClusterMap overlap = TwoShardMap(2);
  overlap.mutable_shards(1)->mutable_slots(0)->set_start(8000);
  v1::ClusterMap out_of_range = TwoShardMap(2);
  out_of_range.mutable_shards(1)->mutable_slots(0)->set_end(kNumSlots);
  v1::ClusterMap reversed = TwoShardMap(2);
  reversed.mutable_shards(0)->mutable_slots(0)->set_start(9000);
  v1::ClusterMap duplicate = TwoShardMap(2);
  duplicate.mutable_shards(1)->set_shard_id("s1");
  for (const v1::ClusterMap& bad :
       {overlap, out_of_range, reversed, duplicate}) {
    absl::StatusOr<uint64_t> applied = state.Apply(bad);
    EXPECT_EQ(ErrorCodeOf(applied.status()), v1::INVALID_ARGUMENT)
        << bad.DebugString();
    EXPECT_EQ(state.map_version(), 1u);
  }
}

TEST(ClusterStateTest, MapThatLowersAShardEpochIsRefused) {
  ClusterState state(Self(), {});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  v1::ClusterMap regressed = TwoShardMap(2);
  regressed.mutable_shards(1)->set_config_epoch(6);
  absl::StatusOr<uint64_t> applied = state.Apply(regressed);
  EXPECT_EQ(ErrorCodeOf(applied.status()), v1::INVALID_ARGUMENT);
  EXPECT_NE(applied.status().message().find("from 7 to 6"), std::string::npos);
  EXPECT_EQ(state.map_version(), 1u);
}

TEST(ClusterStateTest, ViewKeepsRoutingByTheMapItWasTakenWith) {
  ClusterState state(Self(), {});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  RoutingView before = state.View(false);
  v1::ClusterMap moved = TwoShardMap(2);
  moved.mutable_shards(0)->mutable_slots(0)->set_end(99);
  AddShard(&moved, "s3", 100, 8191, "node-b", 1);
  ASSERT_TRUE(state.Apply(moved).ok());
  EXPECT_TRUE(before.RouteSlot(500, Access::kWrite).ok());
  EXPECT_EQ(ErrorCodeOf(state.View(false).RouteSlot(500, Access::kWrite)),
            v1::MOVED);
}

TEST(ClusterStateTest, CoordinatedNodeServesNothingBeforeItsFirstMap) {
  FakeClock clock;
  ClusterState state(Self(), {/*coordinated=*/true, &clock});
  absl::Status status = state.View(true).RouteSlot(1, Access::kRead);
  EXPECT_EQ(ErrorCodeOf(status), v1::CLUSTERDOWN);
  EXPECT_NE(status.message().find("no cluster map"), std::string::npos);
  EXPECT_EQ(state.role(), v1::ROLE_UNSPECIFIED);
  EXPECT_EQ(state.map()->shards_size(), 0);
}

TEST(ClusterStateTest, PrimaryRefusesWritesAfterLeaseExpiresButKeepsReading) {
  FakeClock clock;
  ClusterState state(Self(), {/*coordinated=*/true, &clock});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  EXPECT_EQ(ErrorCodeOf(state.View(false).RouteSlot(1, Access::kWrite)),
            v1::CLUSTERDOWN)
      << "no lease granted yet";

  state.ExtendLease(clock.Now() + absl::Seconds(2));
  EXPECT_TRUE(state.View(false).RouteSlot(1, Access::kWrite).ok());
  EXPECT_TRUE(state.View(false).RouteNodeWide(Access::kWrite).ok());

  clock.Advance(absl::Seconds(1));
  state.ExtendLease(clock.Now() - absl::Seconds(5));  // Never shortens.
  EXPECT_TRUE(state.View(false).RouteSlot(1, Access::kWrite).ok());

  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(ErrorCodeOf(state.View(false).RouteSlot(1, Access::kWrite)),
            v1::CLUSTERDOWN);
  EXPECT_EQ(ErrorCodeOf(state.View(false).RouteNodeWide(Access::kWrite)),
            v1::CLUSTERDOWN);
  EXPECT_TRUE(state.View(false).RouteSlot(1, Access::kRead).ok());
}

TEST(ClusterStateTest, PausedPrimaryAnswersTryAgainUntilResumedOrExpired) {
  FakeClock clock;
  ClusterState state(Self(), {/*coordinated=*/true, &clock});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  state.ExtendLease(clock.Now() + absl::Seconds(10));
  ASSERT_TRUE(state.PauseWrites(absl::Seconds(1)).ok());
  absl::Status paused = state.View(false).RouteSlot(1, Access::kWrite);
  EXPECT_EQ(ErrorCodeOf(paused), v1::TRYAGAIN);
  EXPECT_EQ(ErrorCodeOf(state.View(false).RouteNodeWide(Access::kWrite)),
            v1::TRYAGAIN);
  EXPECT_TRUE(state.View(false).RouteSlot(1, Access::kRead).ok());
  // Other shards' slots redirect as before.
  EXPECT_EQ(ErrorCodeOf(state.View(false).RouteSlot(9000, Access::kWrite)),
            v1::MOVED);

  state.ResumeWrites();
  EXPECT_TRUE(state.View(false).RouteSlot(1, Access::kWrite).ok());
  ASSERT_TRUE(state.PauseWrites(absl::Seconds(1)).ok());
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(state.View(false).RouteSlot(1, Access::kWrite).ok())
      << "the pause is bounded";
}

TEST(ClusterStateTest, OnlyAPrimaryCanPauseWrites) {
  ClusterState standalone(Self(), {});
  EXPECT_EQ(standalone.PauseWrites(absl::Seconds(1)).code(),
            absl::StatusCode::kFailedPrecondition);
  ClusterState replica({"node-c", "127.0.0.1:7003", "az-c"},
                       {/*coordinated=*/true, Clock::Real()});
  ASSERT_TRUE(replica.Apply(TwoShardMap(1)).ok());
  EXPECT_EQ(replica.PauseWrites(absl::Seconds(1)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ClusterStateTest, PauseReturnsOnlyAfterRequestsRoutedBeforeItFinished) {
  ClusterState state(Self(), {/*coordinated=*/true, Clock::Real()});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  std::optional<RoutingView> in_flight = state.View(false);
  absl::Notification paused;
  absl::Status result;
  std::thread pauser([&] {
    result = state.PauseWrites(absl::Seconds(30));
    paused.Notify();
  });
  // New requests see the pause at once, the call waits for the old one.
  auto write_code = [&] {
    return ErrorCodeOf(state.View(false).RouteSlot(1, Access::kWrite));
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (write_code() != v1::TRYAGAIN && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(write_code(), v1::TRYAGAIN);
  EXPECT_FALSE(paused.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  in_flight.reset();
  EXPECT_TRUE(paused.WaitForNotificationWithTimeout(absl::Seconds(30)));
  pauser.join();
  EXPECT_TRUE(result.ok()) << result;
}

TEST(ClusterStateTest, PauseGivesUpWhenAnEarlierRequestOutlastsIt) {
  ClusterState state(Self(), {/*coordinated=*/true, Clock::Real()});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  RoutingView stuck = state.View(false);
  EXPECT_EQ(state.PauseWrites(absl::Milliseconds(20)).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(stuck.RouteSlot(1, Access::kRead).ok());
}

TEST(ClusterStateTest, SlotPauseRefusesOnlyThoseSlotsWritesUntilResumed) {
  FakeClock clock;
  ClusterState state(Self(), {/*coordinated=*/true, &clock});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  state.ExtendLease(clock.Now() + absl::Seconds(10));
  ASSERT_TRUE(state.PauseSlotWrites("op-1", {5, 6}, absl::Seconds(1)).ok());
  {
    RoutingView view = state.View(false);
    EXPECT_EQ(ErrorCodeOf(view.RouteSlot(5, Access::kWrite)), v1::TRYAGAIN);
    EXPECT_EQ(ErrorCodeOf(view.RouteSlot(6, Access::kWrite)), v1::TRYAGAIN);
    EXPECT_TRUE(view.RouteSlot(5, Access::kRead).ok()) << "reads go on";
    EXPECT_TRUE(view.RouteSlot(7, Access::kWrite).ok()) << "other slots too";
    EXPECT_EQ(ErrorCodeOf(view.RouteNodeWide(Access::kWrite)), v1::TRYAGAIN)
        << "FLUSHALL would touch the paused slots";
    EXPECT_TRUE(view.RouteNodeWide(Access::kRead).ok());
  }

  state.ResumeSlotWrites("other-op");
  EXPECT_EQ(ErrorCodeOf(state.View(false).RouteSlot(5, Access::kWrite)),
            v1::TRYAGAIN);
  state.ResumeSlotWrites("op-1");
  EXPECT_TRUE(state.View(false).RouteSlot(5, Access::kWrite).ok());
  EXPECT_TRUE(state.View(false).RouteNodeWide(Access::kWrite).ok());

  ASSERT_TRUE(state.PauseSlotWrites("op-2", {5}, absl::Seconds(1)).ok());
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(state.View(false).RouteSlot(5, Access::kWrite).ok())
      << "the pause is bounded";
}

TEST(ClusterStateTest, SlotPauseGivesWayToMovedOnceAMapMovesTheSlots) {
  FakeClock clock;
  ClusterState state(Self(), {/*coordinated=*/true, &clock});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  state.ExtendLease(clock.Now() + absl::Seconds(10));
  ASSERT_TRUE(state.PauseSlotWrites("op-1", {5}, absl::Seconds(10)).ok());
  v1::ClusterMap moved = TwoShardMap(2);
  moved.mutable_shards(0)->mutable_slots(0)->set_start(6);
  moved.mutable_shards(1)->add_slots()->set_start(0);
  moved.mutable_shards(1)->mutable_slots(1)->set_end(5);
  ASSERT_TRUE(state.Apply(moved).ok());
  EXPECT_EQ(ErrorCodeOf(state.View(false).RouteSlot(5, Access::kWrite)),
            v1::MOVED);
}

TEST(ClusterStateTest, OnlyTheOwningPrimaryCanPauseSlotWrites) {
  ClusterState state(Self(), {/*coordinated=*/true, Clock::Real()});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  state.ExtendLease(absl::InfiniteFuture());
  EXPECT_EQ(state.PauseSlotWrites("op-1", {5, 9000}, absl::Seconds(1)).code(),
            absl::StatusCode::kFailedPrecondition)
      << "slot 9000 belongs to s2";
  EXPECT_TRUE(state.View(false).RouteSlot(5, Access::kWrite).ok())
      << "a refused pause changes nothing";
  ClusterState replica({"node-c", "127.0.0.1:7003", "az-c"},
                       {/*coordinated=*/true, Clock::Real()});
  ASSERT_TRUE(replica.Apply(TwoShardMap(1)).ok());
  EXPECT_EQ(replica.PauseSlotWrites("op-1", {5}, absl::Seconds(1)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ClusterStateTest, SlotPauseWaitsForRequestsRoutedBeforeIt) {
  ClusterState state(Self(), {/*coordinated=*/true, Clock::Real()});
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  std::optional<RoutingView> in_flight = state.View(false);
  absl::Notification paused;
  absl::Status result;
  std::thread pauser([&] {
    result = state.PauseSlotWrites("op-1", {5}, absl::Seconds(30));
    paused.Notify();
  });
  EXPECT_FALSE(paused.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  in_flight.reset();
  EXPECT_TRUE(paused.WaitForNotificationWithTimeout(absl::Seconds(30)));
  pauser.join();
  EXPECT_TRUE(result.ok()) << result;
}

TEST(ClusterStateTest, MapThatTakesSlotsAwayTellsTheSlotsLostListener) {
  ClusterState state(Self(), {/*coordinated=*/true, Clock::Real()});
  std::vector<std::vector<uint32_t>> lost;
  state.SetSlotsLostListener(
      [&](std::vector<uint32_t> slots) { lost.push_back(std::move(slots)); });
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  EXPECT_TRUE(lost.empty()) << "the first map takes nothing away";
  v1::ClusterMap moved = TwoShardMap(2);
  moved.mutable_shards(0)->mutable_slots(0)->set_start(3);
  moved.mutable_shards(1)->add_slots()->set_end(2);
  ASSERT_TRUE(state.Apply(moved).ok());
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0], (std::vector<uint32_t>{0, 1, 2}));
  // Gaining slots, or a map that changes nothing for this shard: silence.
  ASSERT_TRUE(state.Apply(TwoShardMap(3)).ok());
  EXPECT_EQ(lost.size(), 1u);
}

TEST(ClusterStateTest, StandaloneNodeGettingItsFirstMapLosesNoSlots) {
  ClusterState state(Self(), {});
  bool told = false;
  state.SetSlotsLostListener([&](std::vector<uint32_t>) { told = true; });
  ASSERT_TRUE(state.Apply(TwoShardMap(1)).ok());
  EXPECT_FALSE(told) << "an operator's keys are not dropped by a first map";
}

TEST(ClusterStateTest, RoutingWhileMapsAreAppliedConcurrentlyIsConsistent) {
  ClusterState state(Self(), {});
  std::atomic<bool> done{false};
  std::thread applier([&] {
    for (uint64_t version = 1; version <= 200; ++version) {
      ASSERT_TRUE(state.Apply(TwoShardMap(version)).ok());
    }
    done = true;
  });
  while (!done) {
    RoutingView view = state.View(false);
    // Slot 8192 is ours only while standalone.
    absl::Status status = view.RouteSlot(8192, Access::kWrite);
    EXPECT_TRUE(view.table().standalone ? status.ok()
                                        : ErrorCodeOf(status) == v1::MOVED);
  }
  applier.join();
  EXPECT_EQ(state.map_version(), 200u);
}

}  // namespace
}  // namespace slotcache::node
