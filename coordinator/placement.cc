#include "coordinator/placement.h"

#include <algorithm>
#include <climits>
#include <deque>
#include <map>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "common/status.h"

namespace slotcache::coordinator {
namespace {

// Free nodes per AZ, ordered by AZ name so placement is deterministic.
using AzPools = std::map<std::string, std::deque<std::string>>;

std::string TakeFrom(AzPools& pools, const std::string& az) {
  std::string id = pools[az].front();
  pools[az].pop_front();
  return id;
}

}  // namespace

absl::StatusOr<std::vector<ShardPlacement>> PlaceShards(
    const std::vector<PlacementCandidate>& candidates, uint32_t shards,
    uint32_t replicas) {
  if (shards == 0 || shards > kNumSlots) {
    return InvalidInputError(absl::StrCat("--shards must be between 1 and ",
                                          kNumSlots, " (got ", shards, ")"));
  }
  if (replicas > kMaxReplicasPerShard) {
    return InvalidInputError(absl::StrCat("--replicas must be between 0 and ",
                                          kMaxReplicasPerShard, " (got ",
                                          replicas, ")"));
  }
  const uint64_t needed = uint64_t{shards} * (1 + replicas);
  if (candidates.size() < needed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "need ", needed, " registered unassigned nodes for ", shards,
        " shards x (1+", replicas, "), have ", candidates.size(),
        "; start more nodes or lower --shards/--replicas"));
  }

  AzPools pools;
  for (const PlacementCandidate& c : candidates)
    pools[c.az].push_back(c.node_id);

  std::vector<ShardPlacement> placements(shards);
  // AZs used so far by each shard (how many of its members sit there).
  std::vector<absl::flat_hash_map<std::string, int>> used(shards);

  // Primaries: the AZ with the fewest primaries so far, then the most free
  // nodes (so small AZs are not drained before replicas need them).
  absl::flat_hash_map<std::string, int> primaries_in;
  for (uint32_t s = 0; s < shards; ++s) {
    const std::string* best = nullptr;
    for (const auto& [az, pool] : pools) {
      if (pool.empty()) continue;
      if (best == nullptr ||
          std::make_tuple(primaries_in[az], -static_cast<int>(pool.size())) <
              std::make_tuple(primaries_in[*best],
                              -static_cast<int>(pools[*best].size()))) {
        best = &az;
      }
    }
    std::string az = *best;
    placements[s].primary = TakeFrom(pools, az);
    ++primaries_in[az];
    ++used[s][az];
  }

  // Replicas round by round (every shard gets its first replica before any
  // gets a second). Within a round the most constrained shard picks first:
  // the one with the fewest free nodes in AZs it does not use yet, so a
  // shard with many options does not take the last node another shard
  // needs. Each pick: the AZ this shard uses least, then the one with the
  // most free nodes.
  auto uses = [&](uint32_t s, const std::string& az) {
    auto it = used[s].find(az);
    return it == used[s].end() ? 0 : it->second;
  };
  for (uint32_t round = 0; round < replicas; ++round) {
    std::vector<bool> done(shards, false);
    for (uint32_t picked = 0; picked < shards; ++picked) {
      int best_shard = -1;
      size_t best_options = 0;
      for (uint32_t s = 0; s < shards; ++s) {
        if (done[s]) continue;
        const int least = [&] {
          int m = INT_MAX;
          for (const auto& [az, pool] : pools) {
            if (!pool.empty()) m = std::min(m, uses(s, az));
          }
          return m;
        }();
        size_t options = 0;
        for (const auto& [az, pool] : pools) {
          if (uses(s, az) == least) options += pool.size();
        }
        if (best_shard < 0 || options < best_options) {
          best_shard = static_cast<int>(s);
          best_options = options;
        }
      }
      const uint32_t s = static_cast<uint32_t>(best_shard);
      const std::string* best = nullptr;
      for (const auto& [az, pool] : pools) {
        if (pool.empty()) continue;
        auto key = [&](const std::string& a) {
          return std::make_tuple(uses(s, a),
                                 -static_cast<int>(pools[a].size()));
        };
        if (best == nullptr || key(az) < key(*best)) best = &az;
      }
      std::string az = *best;
      placements[s].replicas.push_back(TakeFrom(pools, az));
      ++used[s][az];
      done[s] = true;
    }
  }
  return placements;
}

std::vector<v1::SlotRange> EvenSlotRanges(uint32_t shards) {
  std::vector<v1::SlotRange> ranges;
  uint64_t start = 0;
  for (uint32_t s = 0; s < shards; ++s) {
    uint64_t end = uint64_t{kNumSlots} * (s + 1) / shards;  // exclusive
    v1::SlotRange& range = ranges.emplace_back();
    range.set_start(static_cast<uint32_t>(start));
    range.set_end(static_cast<uint32_t>(end - 1));
    start = end;
  }
  return ranges;
}

}  // namespace slotcache::coordinator
