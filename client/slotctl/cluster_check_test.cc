#include "client/slotctl/cluster_check.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace slotcache::slotctl {
namespace {

v1::NodeInfo* AddNode(v1::ClusterMap* map, const std::string& id,
                      const std::string& az) {
  v1::NodeInfo* node = map->add_nodes();
  node->set_node_id(id);
  node->set_address(absl::StrCat("127.0.0.1:", 7000 + map->nodes_size()));
  node->set_az(az);
  node->set_health(v1::HEALTHY);
  return node;
}

v1::ShardInfo* AddShard(v1::ClusterMap* map, const std::string& id,
                        uint32_t start, uint32_t end,
                        const std::string& primary,
                        std::vector<std::string> replicas) {
  v1::ShardInfo* shard = map->add_shards();
  shard->set_shard_id(id);
  shard->add_slots()->set_start(start);
  shard->mutable_slots(0)->set_end(end);
  shard->set_primary_node_id(primary);
  for (const std::string& r : replicas) shard->add_replica_node_ids(r);
  return shard;
}

// Two shards x (1+1) over AZs a/b: healthy and well placed.
v1::ClusterMap GoodMap() {
  v1::ClusterMap map;
  map.set_cluster_id("c");
  map.set_version(5);
  AddNode(&map, "p1", "a");
  AddNode(&map, "r1", "b");
  AddNode(&map, "p2", "b");
  AddNode(&map, "r2", "a");
  AddShard(&map, "shard-1", 0, 8191, "p1", {"r1"});
  AddShard(&map, "shard-2", 8192, 16383, "p2", {"r2"});
  return map;
}

bool HasLine(const std::vector<CheckLine>& lines, CheckLine::Level level,
             const std::string& fragment) {
  for (const CheckLine& line : lines) {
    if (line.level == level &&
        line.message.find(fragment) != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST(CheckClusterTest, HealthyWellPlacedClusterPasses) {
  std::vector<CheckLine> lines = CheckCluster(GoodMap());
  EXPECT_TRUE(CheckPassed(lines));
  EXPECT_TRUE(HasLine(lines, CheckLine::Level::kOk,
                      "All 16384 slots covered exactly once"));
}

TEST(CheckClusterTest, ReportsUncoveredAndDoublyOwnedSlots) {
  v1::ClusterMap map = GoodMap();
  map.mutable_shards(0)->mutable_slots(0)->set_end(8000);     // 8001-8191 open
  v1::SlotRange* extra = map.mutable_shards(1)->add_slots();  // 100-200 twice
  extra->set_start(100);
  extra->set_end(200);
  std::vector<CheckLine> lines = CheckCluster(map);
  EXPECT_FALSE(CheckPassed(lines));
  EXPECT_TRUE(HasLine(lines, CheckLine::Level::kErr,
                      "191 slots are not covered: 8001-8191"));
  EXPECT_TRUE(HasLine(lines, CheckLine::Level::kErr,
                      "101 slots are owned by more than one shard: 100-200"));
}

TEST(CheckClusterTest, MissingOrFailedPrimaryFails) {
  v1::ClusterMap map = GoodMap();
  map.mutable_shards(0)->clear_primary_node_id();
  EXPECT_TRUE(HasLine(CheckCluster(map), CheckLine::Level::kErr,
                      "shard-1 has no primary"));
  map = GoodMap();
  map.mutable_nodes(0)->set_health(v1::FAILED);
  std::vector<CheckLine> lines = CheckCluster(map);
  EXPECT_FALSE(CheckPassed(lines));
  EXPECT_TRUE(HasLine(lines, CheckLine::Level::kErr, "is FAILED"));
}

TEST(CheckClusterTest, ReplicaInThePrimarysAzFailsAndFailedReplicaWarns) {
  v1::ClusterMap map = GoodMap();
  map.mutable_nodes(1)->set_az("a");
  EXPECT_TRUE(HasLine(CheckCluster(map), CheckLine::Level::kErr,
                      "same AZ as its primary"));
  map = GoodMap();
  map.mutable_nodes(1)->set_health(v1::FAILED);
  std::vector<CheckLine> lines = CheckCluster(map);
  EXPECT_TRUE(CheckPassed(lines));
  EXPECT_TRUE(HasLine(lines, CheckLine::Level::kWarn, "replica r1"));
}

TEST(CheckClusterTest, NoClusterYetSaysHowToCreateOne) {
  v1::ClusterMap map;
  AddNode(&map, "n", "a");
  std::vector<CheckLine> lines = CheckCluster(map);
  EXPECT_FALSE(CheckPassed(lines));
  EXPECT_TRUE(HasLine(lines, CheckLine::Level::kErr, "slotctl cluster create"));
}

TEST(SlotListTextTest, CompressesRangesAndTruncates) {
  EXPECT_EQ(SlotListText({1, 2, 3, 5, 7, 8}), "1-3,5,7-8");
  std::vector<uint32_t> many;
  for (uint32_t i = 0; i < 40; i += 2) many.push_back(i);
  EXPECT_EQ(SlotListText(many), "0,2,4,6,8,10,12,14,...");
}

}  // namespace
}  // namespace slotcache::slotctl
