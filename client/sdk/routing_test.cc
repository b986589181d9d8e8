#include "client/sdk/routing.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace slotcache {
namespace {

// Two shards: s0 owns 0..8191 (primary a, replicas b in az-b, c in az-c);
// s1 owns 8192..16383 (primary d, no replicas).
v1::ClusterMap TwoShardMap() {
  v1::ClusterMap map;
  map.set_version(7);
  auto node = [&map](const std::string& id, const std::string& az,
                     v1::Role role, v1::Health health = v1::HEALTHY) {
    v1::NodeInfo* n = map.add_nodes();
    n->set_node_id(id);
    n->set_address(id + ":1");
    n->set_az(az);
    n->set_role(role);
    n->set_health(health);
  };
  node("a", "az-a", v1::PRIMARY);
  node("b", "az-b", v1::REPLICA);
  node("c", "az-c", v1::REPLICA);
  node("d", "az-b", v1::PRIMARY);
  node("e", "az-a", v1::REPLICA, v1::FAILED);
  v1::ShardInfo* s0 = map.add_shards();
  s0->set_primary_node_id("a");
  s0->add_replica_node_ids("b");
  s0->add_replica_node_ids("c");
  s0->add_replica_node_ids("e");
  s0->set_config_epoch(3);
  s0->add_slots()->set_end(8191);
  v1::ShardInfo* s1 = map.add_shards();
  s1->set_primary_node_id("d");
  s1->set_config_epoch(4);
  v1::SlotRange* r = s1->add_slots();
  r->set_start(8192);
  r->set_end(16383);
  return map;
}

TEST(RoutingTableTest, EmptyMapRoutesEverythingToFallback) {
  auto table = RoutingTable::FromClusterMap(v1::ClusterMap(), "seed:1");
  EXPECT_EQ(table->Pick(0, false, ReadPolicy::kPrimary, "", 0).address,
            "seed:1");
  EXPECT_EQ(table->PrimaryFor(16383), "seed:1");
  EXPECT_EQ(table->Addresses(), std::vector<std::string>{"seed:1"});
}

TEST(RoutingTableTest, StandaloneMapIsDialledThroughTheSeedAddress) {
  v1::ClusterMap map = TwoShardMap();
  map.set_version(0);  // a standalone node describing itself
  auto table = RoutingTable::FromClusterMap(map, "public:7000");
  EXPECT_EQ(table->PrimaryFor(100), "public:7000");
  EXPECT_EQ(table->PrimaryFor(9000), "public:7000");
}

TEST(RoutingTableTest, WritesAndPrimaryReadsGoToTheSlotsPrimary) {
  auto table = RoutingTable::FromClusterMap(TwoShardMap(), "seed:1");
  EXPECT_EQ(table->version(), 7u);
  EXPECT_EQ(table->Pick(100, false, ReadPolicy::kPreferReplica, "", 0).address,
            "a:1");
  EXPECT_EQ(table->Pick(100, true, ReadPolicy::kPrimary, "", 0).address, "a:1");
  EXPECT_EQ(table->Pick(9000, true, ReadPolicy::kPrimary, "", 0).address,
            "d:1");
}

TEST(RoutingTableTest, PreferReplicaSpreadsOverHealthyReplicasOnly) {
  auto table = RoutingTable::FromClusterMap(TwoShardMap(), "seed:1");
  std::set<std::string> seen;
  for (uint64_t salt = 0; salt < 10; ++salt) {
    Route r = table->Pick(5, true, ReadPolicy::kPreferReplica, "", salt);
    EXPECT_TRUE(r.replica);
    seen.insert(r.address);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"b:1", "c:1"}));  // not failed e
  // A shard without replicas reads from its primary.
  Route r = table->Pick(9000, true, ReadPolicy::kPreferReplica, "", 0);
  EXPECT_EQ(r.address, "d:1");
  EXPECT_FALSE(r.replica);
}

TEST(RoutingTableTest, SameAzReplicaFallsBackToPrimaryElsewhere) {
  auto table = RoutingTable::FromClusterMap(TwoShardMap(), "seed:1");
  Route local = table->Pick(5, true, ReadPolicy::kSameAzReplica, "az-c", 1);
  EXPECT_EQ(local.address, "c:1");
  EXPECT_TRUE(local.replica);
  Route none = table->Pick(5, true, ReadPolicy::kSameAzReplica, "az-x", 1);
  EXPECT_EQ(none.address, "a:1");
  EXPECT_FALSE(none.replica);
}

TEST(RoutingTableTest, MovedPatchesOneSlotWithoutTouchingTheOriginal) {
  auto table = RoutingTable::FromClusterMap(TwoShardMap(), "seed:1");
  auto moved = table->WithSlotMoved(100, "d:1", 5);
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(moved->PrimaryFor(100), "d:1");
  EXPECT_EQ(moved->PrimaryFor(101), "a:1");
  EXPECT_EQ(table->PrimaryFor(100), "a:1");
  // A brand-new node becomes a shard of its own.
  auto fresh = moved->WithSlotMoved(101, "z:1", 9);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->PrimaryFor(101), "z:1");
}

TEST(RoutingTableTest, MovedWithOlderEpochIsIgnored) {
  auto table = RoutingTable::FromClusterMap(TwoShardMap(), "seed:1");
  EXPECT_EQ(table->WithSlotMoved(100, "d:1", 2), nullptr);  // shard epoch 3
  EXPECT_NE(table->WithSlotMoved(100, "d:1", 3), nullptr);
}

TEST(RoutingTableTest, AddressesListsPrimariesFirst) {
  auto table = RoutingTable::FromClusterMap(TwoShardMap(), "seed:1");
  EXPECT_EQ(table->Addresses(),
            (std::vector<std::string>{"a:1", "d:1", "b:1", "c:1", "seed:1"}));
}

}  // namespace
}  // namespace slotcache
