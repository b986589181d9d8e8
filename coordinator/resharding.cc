#include "coordinator/resharding.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/slot.h"
#include "common/status.h"

namespace slotcache::coordinator {
namespace {

v1::SlotRange Range(uint32_t start, uint32_t end) {
  v1::SlotRange r;
  r.set_start(start);
  r.set_end(end);
  return r;
}

uint64_t WeightOfSlot(const SlotWeights& weights, uint32_t slot) {
  return weights.empty() ? 1 : weights[slot];
}

// The planners' working state for one shard.
struct Load {
  ShardSlots shard;
  uint64_t load = 0;
  uint64_t target = 0;
  bool may_give = true;
};

// Targets splitting `total` over `loads` (those with `eligible`) as evenly
// as integers allow; the remainder goes to the most loaded ones.
void SetEvenTargets(std::vector<Load*> eligible, uint64_t total) {
  if (eligible.empty()) return;
  const uint64_t base = total / eligible.size();
  uint64_t rest = total % eligible.size();
  std::stable_sort(
      eligible.begin(), eligible.end(),
      [](const Load* a, const Load* b) { return a->load > b->load; });
  for (Load* l : eligible) {
    l->target = base + (rest > 0 ? 1 : 0);
    if (rest > 0) --rest;
  }
}

// Greedy pairing of the largest excess with the largest deficit (see
// PlanRebalance), taking each donor's highest-numbered slots.
std::vector<v1::SlotMove> PlanMoves(std::vector<Load> loads,
                                    const SlotWeights& weights) {
  std::vector<v1::SlotMove> moves;
  // Every round takes a slot or retires a donor, so this is only a guard.
  for (size_t round = 0; round < kNumSlots + loads.size(); ++round) {
    Load* donor = nullptr;
    Load* receiver = nullptr;
    for (Load& l : loads) {
      if (l.may_give && l.load > l.target &&
          (donor == nullptr ||
           l.load - l.target > donor->load - donor->target)) {
        donor = &l;
      }
      if (l.load < l.target &&
          (receiver == nullptr ||
           l.target - l.load > receiver->target - receiver->load)) {
        receiver = &l;
      }
    }
    if (donor == nullptr || receiver == nullptr) break;
    const uint64_t need = std::min(donor->load - donor->target,
                                   receiver->target - receiver->load);
    uint64_t moved = 0;
    SlotRanges taken;
    SlotRanges& from = donor->shard.slots;
    while (moved < need && !from.empty()) {
      const uint32_t slot = from.back().end();
      const uint64_t w = WeightOfSlot(weights, slot);
      // Take the slot while it fits, or when overshooting by it is
      // still closer to the target than stopping short.
      const bool fits = moved + w <= need;
      if (!fits && moved + w - need >= need - moved) break;
      moved += w;
      taken.insert(taken.begin(), Range(slot, slot));
      if (from.back().start() == slot) {
        from.pop_back();
      } else {
        from.back().set_end(slot - 1);
      }
      if (!fits) break;
    }
    if (moved == 0) {
      // Nothing useful to give from its top (a heavy slot): give back
      // what was taken and retire this donor.
      from = AddRanges(from, taken);
      donor->may_give = false;
      continue;
    }
    taken = NormalizeRanges(std::move(taken));
    donor->load -= moved;
    receiver->load += moved;
    receiver->shard.slots = AddRanges(receiver->shard.slots, taken);
    v1::SlotMove& move = moves.emplace_back();
    move.set_from_shard_id(donor->shard.shard_id);
    move.set_to_shard_id(receiver->shard.shard_id);
    for (const v1::SlotRange& r : taken) *move.add_slots() = r;
  }
  return moves;
}

std::vector<Load> LoadsOf(const std::vector<ShardSlots>& shards,
                          const SlotWeights& weights) {
  std::vector<Load> loads;
  for (const ShardSlots& s : shards) {
    Load& l = loads.emplace_back();
    l.shard = s;
    l.shard.slots = NormalizeRanges(s.slots);
    l.load = TotalWeight(l.shard.slots, weights);
  }
  return loads;
}

}  // namespace

uint64_t TotalWeight(const SlotRanges& ranges, const SlotWeights& weights) {
  if (weights.empty()) return CountSlots(ranges);
  uint64_t total = 0;
  for (const v1::SlotRange& r : ranges) {
    for (uint32_t s = r.start(); s <= r.end(); ++s) total += weights[s];
  }
  return total;
}

absl::Status ValidateRanges(const SlotRanges& ranges) {
  for (const v1::SlotRange& r : ranges) {
    if (r.start() > r.end() || r.end() >= kNumSlots) {
      return InvalidInputError(
          absl::StrCat("slot range ", r.start(), "-", r.end(),
                       " is not START-END with START <= END <= ", kNumSlots - 1,
                       "; give slots like 0-99,200"));
    }
  }
  SlotRanges sorted = ranges;
  std::sort(sorted.begin(), sorted.end(),
            [](const v1::SlotRange& a, const v1::SlotRange& b) {
              return a.start() < b.start();
            });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].start() <= sorted[i - 1].end()) {
      return InvalidInputError(
          absl::StrCat("slot ranges ", sorted[i - 1].start(), "-",
                       sorted[i - 1].end(), " and ", sorted[i].start(), "-",
                       sorted[i].end(), " overlap; give each slot once"));
    }
  }
  return absl::OkStatus();
}

SlotRanges NormalizeRanges(SlotRanges ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const v1::SlotRange& a, const v1::SlotRange& b) {
              return a.start() < b.start();
            });
  SlotRanges merged;
  for (const v1::SlotRange& r : ranges) {
    if (!merged.empty() && r.start() <= merged.back().end() + 1) {
      merged.back().set_end(std::max(merged.back().end(), r.end()));
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

uint32_t CountSlots(const SlotRanges& ranges) {
  uint32_t n = 0;
  for (const v1::SlotRange& r : ranges) n += r.end() - r.start() + 1;
  return n;
}

bool ContainsAll(const SlotRanges& whole, const SlotRanges& part) {
  return SubtractRanges(part, whole).empty();
}

bool Overlaps(const SlotRanges& a, const SlotRanges& b) {
  return CountSlots(SubtractRanges(a, b)) != CountSlots(NormalizeRanges(a));
}

SlotRanges SubtractRanges(const SlotRanges& from, const SlotRanges& removed) {
  SlotRanges out;
  const SlotRanges cut = NormalizeRanges(removed);
  for (const v1::SlotRange& r : NormalizeRanges(from)) {
    uint32_t start = r.start();
    bool done = false;
    for (const v1::SlotRange& c : cut) {
      if (c.end() < start || c.start() > r.end()) continue;
      if (c.start() > start) out.push_back(Range(start, c.start() - 1));
      if (c.end() >= r.end()) {
        done = true;
        break;
      }
      start = c.end() + 1;
    }
    if (!done) out.push_back(Range(start, r.end()));
  }
  return out;
}

SlotRanges AddRanges(const SlotRanges& to, const SlotRanges& added) {
  SlotRanges all = to;
  all.insert(all.end(), added.begin(), added.end());
  return NormalizeRanges(std::move(all));
}

std::string RangesText(const SlotRanges& ranges) {
  std::vector<std::string> parts;
  for (const v1::SlotRange& r : ranges) {
    parts.push_back(r.start() == r.end()
                        ? absl::StrCat(r.start())
                        : absl::StrCat(r.start(), "-", r.end()));
  }
  return absl::StrJoin(parts, ",");
}

std::string MigrationId(const std::string& op_id, int index) {
  return absl::StrCat(op_id, "/move-", index + 1);
}

absl::StatusOr<SlotRanges> HighestSlots(const SlotRanges& owned,
                                        uint32_t count) {
  const SlotRanges sorted = NormalizeRanges(owned);
  const uint32_t have = CountSlots(sorted);
  if (count == 0 || count > have) {
    return InvalidInputError(absl::StrCat(
        "cannot take ", count, " slots from a shard that owns ", have,
        "; give a slot count between 1 and ", have, " (or explicit slots)"));
  }
  SlotRanges out;
  for (auto it = sorted.rbegin(); it != sorted.rend() && count > 0; ++it) {
    const uint32_t size = it->end() - it->start() + 1;
    const uint32_t take = std::min(size, count);
    out.push_back(Range(it->end() - take + 1, it->end()));
    count -= take;
  }
  return NormalizeRanges(std::move(out));
}

std::vector<v1::SlotMove> PlanRebalance(const std::vector<ShardSlots>& shards,
                                        const SlotWeights& weights) {
  std::vector<Load> loads = LoadsOf(shards, weights);
  uint64_t total = 0;
  std::vector<Load*> all;
  for (Load& l : loads) {
    total += l.load;
    all.push_back(&l);
  }
  SetEvenTargets(all, total);
  return PlanMoves(std::move(loads), weights);
}

absl::StatusOr<std::vector<v1::SlotMove>> PlanDrain(
    const std::vector<ShardSlots>& shards, const std::string& drained) {
  std::vector<Load> loads = LoadsOf(shards, SlotWeights());
  uint64_t total = 0;
  std::vector<Load*> others;
  bool found = false;
  for (Load& l : loads) {
    total += l.load;
    if (l.shard.shard_id == drained) {
      found = true;
      l.target = 0;
    } else {
      l.may_give = false;
      others.push_back(&l);
    }
  }
  if (!found) {
    return absl::NotFoundError(absl::StrCat(
        "no shard '", drained, "'; `slotctl cluster status` lists the shards"));
  }
  if (others.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        drained,
        " is the only shard: its slots have nowhere to go; add a shard "
        "first (slotctl shard add)"));
  }
  SetEvenTargets(others, total);
  return PlanMoves(std::move(loads), SlotWeights());
}

}  // namespace slotcache::coordinator
