#include "coordinator/placement.h"

#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "gtest/gtest.h"

namespace slotcache::coordinator {
namespace {

// `per_az` nodes in each of `azs` (named "a", "b", ...), ids "<az><i>".
std::vector<PlacementCandidate> Nodes(const std::vector<int>& per_az) {
  std::vector<PlacementCandidate> nodes;
  for (size_t az = 0; az < per_az.size(); ++az) {
    std::string name(1, static_cast<char>('a' + az));
    for (int i = 0; i < per_az[az]; ++i) {
      nodes.push_back({absl::StrCat(name, i), name});
    }
  }
  return nodes;
}

std::string AzOf(const std::string& id) { return id.substr(0, 1); }

TEST(PlaceShardsTest, NineNodesInThreeAzsGiveEveryShardThreeAzs) {
  auto placements = PlaceShards(Nodes({3, 3, 3}), 3, 2);
  ASSERT_TRUE(placements.ok()) << placements.status();
  ASSERT_EQ(placements->size(), 3u);
  std::set<std::string> primary_azs;
  std::set<std::string> all;
  for (const ShardPlacement& p : *placements) {
    ASSERT_EQ(p.replicas.size(), 2u);
    std::set<std::string> azs = {AzOf(p.primary)};
    for (const std::string& r : p.replicas) azs.insert(AzOf(r));
    EXPECT_EQ(azs.size(), 3u) << "shard members must be in different AZs";
    primary_azs.insert(AzOf(p.primary));
    all.insert(p.primary);
    all.insert(p.replicas.begin(), p.replicas.end());
  }
  EXPECT_EQ(primary_azs.size(), 3u) << "primaries spread across AZs";
  EXPECT_EQ(all.size(), 9u) << "no node used twice";
}

TEST(PlaceShardsTest, UnevenAzsStillSeparateShardMembers) {
  // 6 shards x (1+1) over a:5, b:4, c:3.
  auto placements = PlaceShards(Nodes({5, 4, 3}), 6, 1);
  ASSERT_TRUE(placements.ok()) << placements.status();
  absl::flat_hash_map<std::string, int> primaries;
  for (const ShardPlacement& p : *placements) {
    EXPECT_NE(AzOf(p.primary), AzOf(p.replicas[0]));
    ++primaries[AzOf(p.primary)];
  }
  for (const auto& [az, count] : primaries) EXPECT_EQ(count, 2) << az;
}

TEST(PlaceShardsTest, MoreReplicasThanAzsUseEveryAzAndThenRepeat) {
  auto placements = PlaceShards(Nodes({4, 4}), 2, 3);
  ASSERT_TRUE(placements.ok()) << placements.status();
  for (const ShardPlacement& p : *placements) {
    absl::flat_hash_map<std::string, int> per_az;
    ++per_az[AzOf(p.primary)];
    for (const std::string& r : p.replicas) ++per_az[AzOf(r)];
    EXPECT_EQ(per_az["a"], 2);
    EXPECT_EQ(per_az["b"], 2);
  }
}

TEST(PlaceShardsTest, SingleAzWorks) {
  auto placements = PlaceShards(Nodes({4}), 2, 1);
  ASSERT_TRUE(placements.ok()) << placements.status();
  EXPECT_EQ(placements->size(), 2u);
}

TEST(PlaceShardsTest, TooFewNodesSaysHowManyAndWhatToDo) {
  auto placements = PlaceShards(Nodes({2, 1, 1}), 3, 2);
  ASSERT_FALSE(placements.ok());
  EXPECT_EQ(placements.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(placements.status().message(),
            "need 9 registered unassigned nodes for 3 shards x (1+2), have 4; "
            "start more nodes or lower --shards/--replicas");
}

TEST(PlaceShardsTest, RejectsZeroShardsAndTooManyReplicas) {
  EXPECT_EQ(PlaceShards(Nodes({3}), 0, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto too_many = PlaceShards(Nodes({9}), 1, 6);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.status().message().find("between 0 and 5"),
            std::string::npos);
}

TEST(EvenSlotRangesTest, CoversAllSlotsContiguouslyWithNearEqualSizes) {
  for (uint32_t shards : {1u, 3u, 7u, 100u}) {
    std::vector<v1::SlotRange> ranges = EvenSlotRanges(shards);
    ASSERT_EQ(ranges.size(), shards);
    uint32_t next = 0;
    uint32_t min_size = kNumSlots, max_size = 0;
    for (const v1::SlotRange& r : ranges) {
      EXPECT_EQ(r.start(), next);
      ASSERT_LE(r.start(), r.end());
      uint32_t size = r.end() - r.start() + 1;
      min_size = std::min(min_size, size);
      max_size = std::max(max_size, size);
      next = r.end() + 1;
    }
    EXPECT_EQ(next, kNumSlots);
    EXPECT_LE(max_size - min_size, 1u);
  }
  std::vector<v1::SlotRange> three = EvenSlotRanges(3);
  EXPECT_EQ(three[0].end(), 5460u);
  EXPECT_EQ(three[1].end(), 10921u);
}

}  // namespace
}  // namespace slotcache::coordinator
