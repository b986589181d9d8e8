#include "coordinator/failover.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace slotcache::coordinator {
namespace {

ReplicaReport Ready(const std::string& id, const std::string& az,
                    uint64_t offset, const std::string& history = "h1") {
  ReplicaReport r;
  r.node_id = id;
  r.az = az;
  r.healthy = true;
  r.fresh = true;
  r.synced = true;
  r.replication_id = history;
  r.offset = offset;
  return r;
}

TEST(ChoosePromotionTest, HighestOffsetWins) {
  auto chosen =
      ChoosePromotion({Ready("a", "az-b", 90), Ready("b", "az-c", 120),
                       Ready("c", "az-b", 100)},
                      "h1", "az-a");
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(chosen->node_id, "b");
}

TEST(ChoosePromotionTest, TiePrefersAnotherAzThanThePrimary) {
  auto chosen = ChoosePromotion(
      {Ready("a", "az-a", 100), Ready("b", "az-c", 100)}, "h1", "az-a");
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->node_id, "b");
  // A higher offset still beats the AZ preference: never promote stale.
  chosen = ChoosePromotion({Ready("a", "az-a", 101), Ready("b", "az-c", 100)},
                           "h1", "az-a");
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->node_id, "a");
}

TEST(ChoosePromotionTest, FullTieIsDecidedByNodeId) {
  auto chosen = ChoosePromotion({Ready("z", "az-b", 5), Ready("m", "az-c", 5)},
                                "h1", "az-a");
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->node_id, "m");
}

TEST(ChoosePromotionTest, NeverPromotesUnsyncedStaleFailedOrForeignReplicas) {
  ReplicaReport unsynced = Ready("empty", "az-b", 500);
  unsynced.synced = false;
  ReplicaReport stale = Ready("stale", "az-b", 400);
  stale.fresh = false;
  ReplicaReport failed = Ready("down", "az-c", 300);
  failed.healthy = false;
  ReplicaReport foreign = Ready("other", "az-c", 200, "h2");
  ReplicaReport ok = Ready("ok", "az-a", 10);

  auto chosen =
      ChoosePromotion({unsynced, stale, failed, foreign, ok}, "h1", "az-a");
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->node_id, "ok");

  auto none = ChoosePromotion({unsynced, stale, failed, foreign}, "h1", "az-a");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string why(none.status().message());
  EXPECT_NE(why.find("empty has not completed a full sync"), std::string::npos)
      << why;
  EXPECT_NE(why.find("stale has not reported"), std::string::npos) << why;
  EXPECT_NE(why.find("down is FAILED"), std::string::npos) << why;
  EXPECT_NE(why.find("other follows another history"), std::string::npos)
      << why;
  EXPECT_NE(why.find("stays down"), std::string::npos) << why;
}

TEST(ChoosePromotionTest, UnknownHistoryAcceptsAnySyncedReplica) {
  auto chosen = ChoosePromotion({Ready("a", "az-b", 7, "h9")}, "", "az-a");
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->node_id, "a");
}

TEST(ChoosePromotionTest, ShardWithoutReplicasSaysSo) {
  auto none = ChoosePromotion({}, "h1", "az-a");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("has no replicas"),
            absl::string_view::npos);
}

TEST(LeaseSurelyOverTest, AddsLeaseAndMargin) {
  const absl::Time grant = absl::FromUnixSeconds(100);
  EXPECT_EQ(
      LeaseSurelyOver(grant, absl::Milliseconds(500), absl::Milliseconds(100)),
      grant + absl::Milliseconds(600));
}

TEST(PromotedShardTest, OldPrimaryBecomesLastReplicaAndEpochIsSet) {
  v1::ShardInfo shard;
  shard.set_shard_id("shard-1");
  shard.set_primary_node_id("p");
  shard.add_replica_node_ids("r1");
  shard.add_replica_node_ids("r2");
  shard.add_replica_node_ids("r3");
  shard.set_config_epoch(3);
  v1::ShardInfo promoted = PromotedShard(shard, "r2", 9);
  EXPECT_EQ(promoted.primary_node_id(), "r2");
  ASSERT_EQ(promoted.replica_node_ids_size(), 3);
  EXPECT_EQ(promoted.replica_node_ids(0), "r1");
  EXPECT_EQ(promoted.replica_node_ids(1), "r3");
  EXPECT_EQ(promoted.replica_node_ids(2), "p");
  EXPECT_EQ(promoted.config_epoch(), 9u);
  EXPECT_EQ(promoted.shard_id(), "shard-1");
}

}  // namespace
}  // namespace slotcache::coordinator
