// Resharding plans, as pure functions (docs/RESHARDING.md): slot-range set
// arithmetic, the slots a MigrateSlots by count takes, the rebalance
// planner and the drain plan of RemoveShard. The Coordinator runs the moves
// (coordinator_migration.cc).
//
// A "range list" is a std::vector<v1::SlotRange>; the functions here that
// return one return it normalized: sorted by start, non-overlapping, with
// adjacent ranges merged (the form ShardInfo.slots is kept in).
//
// Thread-safety: pure functions, safe from any thread.
#ifndef SLOTCACHE_COORDINATOR_RESHARDING_H_
#define SLOTCACHE_COORDINATOR_RESHARDING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/common.pb.h"
#include "proto/coordinator.pb.h"

namespace slotcache::coordinator {

using SlotRanges = std::vector<v1::SlotRange>;

// INVALID_ARGUMENT unless every range has start <= end <= 16383 and no two
// ranges overlap (the message names the bad range and what to do).
absl::Status ValidateRanges(const SlotRanges& ranges);

// `ranges` sorted and merged (overlaps are merged too).
SlotRanges NormalizeRanges(SlotRanges ranges);

// Number of slots in `ranges` (which must not overlap).
uint32_t CountSlots(const SlotRanges& ranges);

// True when every slot of `part` is in `whole`.
bool ContainsAll(const SlotRanges& whole, const SlotRanges& part);

// True when some slot is in both.
bool Overlaps(const SlotRanges& a, const SlotRanges& b);

// `from` without the slots of `removed`, and `to` with those of `added`.
SlotRanges SubtractRanges(const SlotRanges& from, const SlotRanges& removed);
SlotRanges AddRanges(const SlotRanges& to, const SlotRanges& added);

// "0-99,200-200" (empty string for no slots).
std::string RangesText(const SlotRanges& ranges);

// The `count` highest-numbered slots of `owned`. INVALID_ARGUMENT when
// `count` is 0 or more than `owned` holds.
absl::StatusOr<SlotRanges> HighestSlots(const SlotRanges& owned,
                                        uint32_t count);

// The migration id of move `index` (from 0) of operation `op_id`, as the
// nodes see it (StartImportRequest.migration_id).
std::string MigrationId(const std::string& op_id, int index);

// One shard as the planners see it.
struct ShardSlots {
  std::string shard_id;
  SlotRanges slots;
};

// What a planned move is estimated to carry: the weight of a slot.
// An empty `weights` weighs every slot 1 (rebalance by slots); otherwise
// it has kNumSlots entries (keys or estimated bytes per slot).
using SlotWeights = std::vector<uint64_t>;

// The summed weight of `ranges` (its slot count for empty `weights`).
uint64_t TotalWeight(const SlotRanges& ranges, const SlotWeights& weights);

// Moves that even out the total weight per shard: shards above their
// target give their highest-numbered slots to shards below theirs. The
// targets split the total as evenly as integers allow (the remainder goes
// to the shards holding most already, so fewer slots move). Each move
// pairs the donor with the largest excess with the receiver with the
// largest deficit, so there are at most shards - 1 moves. With weights a
// slot is moved only while that brings the pair closer to its targets.
// Deterministic: ties go to the earlier shard in `shards`.
std::vector<v1::SlotMove> PlanRebalance(const std::vector<ShardSlots>& shards,
                                        const SlotWeights& weights);

// Moves that take every slot of `drained` to the other shards, so that the
// others end as even (by slot count) as the slots allow. NOT_FOUND for an
// unknown shard, FAILED_PRECONDITION when it is the only one.
absl::StatusOr<std::vector<v1::SlotMove>> PlanDrain(
    const std::vector<ShardSlots>& shards, const std::string& drained);

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_RESHARDING_H_
