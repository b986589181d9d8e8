#include "client/slotctl/rebalance_plan.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace slotcache::slotctl {
namespace {

// `layout[s]` lists shard s's members' AZs, primary first; node ids are
// "n<shard>-<member>".
v1::ClusterMap Map(const std::vector<std::vector<std::string>>& layout) {
  v1::ClusterMap map;
  for (size_t s = 0; s < layout.size(); ++s) {
    v1::ShardInfo* shard = map.add_shards();
    shard->set_shard_id(absl::StrCat("shard-", s + 1));
    for (size_t m = 0; m < layout[s].size(); ++m) {
      const std::string id = absl::StrCat("n", s + 1, "-", m);
      v1::NodeInfo* node = map.add_nodes();
      node->set_node_id(id);
      node->set_az(layout[s][m]);
      node->set_health(v1::HEALTHY);
      if (m == 0) {
        shard->set_primary_node_id(id);
      } else {
        shard->add_replica_node_ids(id);
      }
    }
  }
  return map;
}

TEST(PlanPrimaryRebalanceTest, SpreadClusterNeedsNoMove) {
  EXPECT_TRUE(PlanPrimaryRebalance(
                  Map({{"a", "b", "c"}, {"b", "c", "a"}, {"c", "a", "b"}}))
                  .empty());
}

TEST(PlanPrimaryRebalanceTest, MovesPrimariesBackIntoTheEmptiedAz) {
  // After an outage of az-a: shard-1's primary moved to az-b.
  std::vector<PrimaryMove> moves = PlanPrimaryRebalance(
      Map({{"b", "c", "a"}, {"b", "c", "a"}, {"c", "a", "b"}}));
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].from_az, "b");
  EXPECT_EQ(moves[0].to_az, "a");
  EXPECT_EQ(moves[0].to_node.substr(moves[0].to_node.size() - 2), "-2");
}

TEST(PlanPrimaryRebalanceTest, AllPrimariesInOneAzNeedTwoMoves) {
  std::vector<PrimaryMove> moves = PlanPrimaryRebalance(
      Map({{"a", "b", "c"}, {"a", "b", "c"}, {"a", "b", "c"}}));
  ASSERT_EQ(moves.size(), 2u);
  EXPECT_NE(moves[0].to_az, moves[1].to_az);
  EXPECT_NE(moves[0].shard_id, moves[1].shard_id);
}

TEST(PlanPrimaryRebalanceTest, OnlyHealthyReplicasAreTargets) {
  v1::ClusterMap map = Map({{"a", "b"}, {"a", "b"}});
  for (v1::NodeInfo& node : *map.mutable_nodes()) {
    if (node.az() == "b") node.set_health(v1::FAILED);
  }
  EXPECT_TRUE(PlanPrimaryRebalance(map).empty());
}

}  // namespace
}  // namespace slotcache::slotctl
