#include "coordinator/resharding.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/slot.h"
#include "gtest/gtest.h"

namespace slotcache::coordinator {
namespace {

SlotRanges R(std::vector<std::pair<uint32_t, uint32_t>> pairs) {
  SlotRanges out;
  for (const auto& [start, end] : pairs) {
    v1::SlotRange& r = out.emplace_back();
    r.set_start(start);
    r.set_end(end);
  }
  return out;
}

std::string Text(const v1::SlotMove& m) {
  SlotRanges slots(m.slots().begin(), m.slots().end());
  return m.from_shard_id() + "->" + m.to_shard_id() + ":" + RangesText(slots);
}

// Applies `moves` to `shards` (checking each move's slots are its
// source's) and returns each shard's slot count.
absl::flat_hash_map<std::string, uint32_t> Apply(
    std::vector<ShardSlots> shards, const std::vector<v1::SlotMove>& moves) {
  auto find = [&](const std::string& id) -> ShardSlots& {
    for (ShardSlots& s : shards) {
      if (s.shard_id == id) return s;
    }
    ADD_FAILURE() << "no shard " << id;
    return shards[0];
  };
  for (const v1::SlotMove& m : moves) {
    SlotRanges slots(m.slots().begin(), m.slots().end());
    ShardSlots& from = find(m.from_shard_id());
    EXPECT_TRUE(ContainsAll(from.slots, slots)) << Text(m);
    from.slots = SubtractRanges(from.slots, slots);
    ShardSlots& to = find(m.to_shard_id());
    EXPECT_FALSE(Overlaps(to.slots, slots)) << Text(m);
    to.slots = AddRanges(to.slots, slots);
  }
  absl::flat_hash_map<std::string, uint32_t> counts;
  uint32_t total = 0;
  for (const ShardSlots& s : shards) {
    counts[s.shard_id] = CountSlots(s.slots);
    total += counts[s.shard_id];
  }
  EXPECT_EQ(total, kNumSlots);
  return counts;
}

TEST(SlotRangesTest, ValidateRefusesBadAndOverlappingRanges) {
  EXPECT_TRUE(ValidateRanges(R({{0, 10}, {11, 20}})).ok());
  EXPECT_EQ(ValidateRanges(R({{5, 4}})).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateRanges(R({{0, 16384}})).code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status overlap = ValidateRanges(R({{10, 20}, {0, 10}}));
  EXPECT_EQ(overlap.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(overlap.message(),
            "slot ranges 0-10 and 10-20 overlap; give each slot once");
}

TEST(SlotRangesTest, SubtractAndAddKeepListsSortedAndMerged) {
  const SlotRanges owned = R({{0, 99}, {200, 299}});
  EXPECT_EQ(RangesText(SubtractRanges(owned, R({{50, 59}, {250, 299}}))),
            "0-49,60-99,200-249");
  EXPECT_EQ(RangesText(SubtractRanges(owned, R({{0, 299}}))), "");
  EXPECT_EQ(RangesText(AddRanges(owned, R({{100, 199}}))), "0-299");
  EXPECT_EQ(RangesText(AddRanges(R({{5, 5}}), R({{3, 3}, {4, 4}}))), "3-5");
  EXPECT_TRUE(ContainsAll(owned, R({{10, 20}, {299, 299}})));
  EXPECT_FALSE(ContainsAll(owned, R({{99, 100}})));
  EXPECT_TRUE(Overlaps(owned, R({{299, 400}})));
  EXPECT_FALSE(Overlaps(owned, R({{100, 199}})));
  EXPECT_EQ(CountSlots(owned), 200u);
}

TEST(SlotRangesTest, HighestSlotsTakesFromTheTopAcrossRanges) {
  const SlotRanges owned = R({{0, 99}, {200, 209}});
  EXPECT_EQ(RangesText(*HighestSlots(owned, 5)), "205-209");
  EXPECT_EQ(RangesText(*HighestSlots(owned, 15)), "95-99,200-209");
  EXPECT_EQ(HighestSlots(owned, 111).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HighestSlots(owned, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RebalanceTest, NewEmptyShardGetsItsShareFromEveryOther) {
  // Three even shards plus an empty fourth.
  std::vector<ShardSlots> shards = {{"shard-1", R({{0, 5460}})},
                                    {"shard-2", R({{5461, 10921}})},
                                    {"shard-3", R({{10922, 16383}})},
                                    {"shard-4", {}}};
  std::vector<v1::SlotMove> moves = PlanRebalance(shards, {});
  ASSERT_EQ(moves.size(), 3u);
  absl::flat_hash_map<std::string, uint32_t> counts = Apply(shards, moves);
  for (const auto& [id, n] : counts) EXPECT_EQ(n, 4096u) << id;
  for (const v1::SlotMove& m : moves) {
    EXPECT_EQ(m.to_shard_id(), "shard-4");
    EXPECT_EQ(m.slots_size(), 1) << "contiguous: " << Text(m);
  }
  // The donor with the most to give goes first; its highest slots move.
  EXPECT_EQ(Text(moves[0]), "shard-3->shard-4:15018-16383");
  // Deterministic.
  std::vector<v1::SlotMove> again = PlanRebalance(shards, {});
  ASSERT_EQ(again.size(), moves.size());
  for (size_t i = 0; i < moves.size(); ++i) {
    EXPECT_EQ(Text(again[i]), Text(moves[i]));
  }
}

TEST(RebalanceTest, BalancedClusterNeedsNoMoves) {
  std::vector<ShardSlots> shards = {{"shard-1", R({{0, 5460}})},
                                    {"shard-2", R({{5461, 10921}})},
                                    {"shard-3", R({{10922, 16383}})}};
  EXPECT_TRUE(PlanRebalance(shards, {}).empty());
}

TEST(RebalanceTest, ByWeightMovesFewSlotsOfHeavyShard) {
  std::vector<ShardSlots> shards = {{"shard-1", R({{0, 8191}})},
                                    {"shard-2", R({{8192, 16383}})}};
  SlotWeights keys(kNumSlots, 0);
  // shard-1 holds 1000 keys in its top 10 slots, shard-2 holds none.
  for (uint32_t s = 8182; s <= 8191; ++s) keys[s] = 100;
  std::vector<v1::SlotMove> moves = PlanRebalance(shards, keys);
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(Text(moves[0]), "shard-1->shard-2:8187-8191");
  EXPECT_EQ(
      TotalWeight(SlotRanges(moves[0].slots().begin(), moves[0].slots().end()),
                  keys),
      500u);
}

TEST(RebalanceTest, ByWeightLeavesASlotThatWouldOvershoot) {
  std::vector<ShardSlots> shards = {{"shard-1", R({{0, 8191}})},
                                    {"shard-2", R({{8192, 16383}})}};
  SlotWeights keys(kNumSlots, 0);
  keys[8191] = 1000;  // One hot slot: moving it only moves the imbalance.
  EXPECT_TRUE(PlanRebalance(shards, keys).empty());
}

TEST(DrainTest, SpreadsEverySlotEvenlyOverTheOthers) {
  std::vector<ShardSlots> shards = {{"shard-1", R({{0, 4095}})},
                                    {"shard-2", R({{4096, 8191}})},
                                    {"shard-3", R({{8192, 12287}})},
                                    {"shard-4", R({{12288, 16383}})}};
  absl::StatusOr<std::vector<v1::SlotMove>> moves =
      PlanDrain(shards, "shard-2");
  ASSERT_TRUE(moves.ok()) << moves.status();
  ASSERT_EQ(moves->size(), 3u);
  absl::flat_hash_map<std::string, uint32_t> counts = Apply(shards, *moves);
  EXPECT_EQ(counts["shard-2"], 0u);
  EXPECT_EQ(counts["shard-1"] + counts["shard-3"] + counts["shard-4"],
            kNumSlots);
  for (const char* id : {"shard-1", "shard-3", "shard-4"}) {
    EXPECT_GE(counts[id], 5461u) << id;
    EXPECT_LE(counts[id], 5462u) << id;
  }
  for (const v1::SlotMove& m : *moves) EXPECT_EQ(m.from_shard_id(), "shard-2");
}

TEST(DrainTest, RefusesUnknownAndLastShard) {
  std::vector<ShardSlots> one = {{"shard-1", R({{0, 16383}})}};
  EXPECT_EQ(PlanDrain(one, "shard-1").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PlanDrain(one, "shard-7").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(DrainTest, EmptyShardNeedsNoMoves) {
  std::vector<ShardSlots> shards = {{"shard-1", R({{0, 16383}})},
                                    {"shard-2", {}}};
  absl::StatusOr<std::vector<v1::SlotMove>> moves =
      PlanDrain(shards, "shard-2");
  ASSERT_TRUE(moves.ok());
  EXPECT_TRUE(moves->empty());
}

}  // namespace
}  // namespace slotcache::coordinator
