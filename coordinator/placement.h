// Cluster layout: which registered node becomes which shard's primary or
// replica, and which slots each shard owns. Pure functions.
//
// Placement goals, in order:
//   1. every shard gets 1 primary + R replicas (or a clear error);
//   2. a shard's members sit in different AZs whenever enough AZs have free
//      nodes, so losing one AZ loses at most one copy of each slot;
//   3. primaries spread evenly across AZs, so losing one AZ promotes as few
//      replicas as possible.
//
// Thread-safety: pure functions, safe from any thread.
#ifndef SLOTCACHE_COORDINATOR_PLACEMENT_H_
#define SLOTCACHE_COORDINATOR_PLACEMENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/common.pb.h"

namespace slotcache::coordinator {

// Redis Cluster and ElastiCache allow at most 5 replicas per shard.
inline constexpr uint32_t kMaxReplicasPerShard = 5;

struct PlacementCandidate {
  std::string node_id;
  std::string az;
};

struct ShardPlacement {
  std::string primary;
  std::vector<std::string> replicas;
};

// Assigns `candidates` (free, healthy nodes; earlier entries are preferred
// within an AZ) to `shards` shards of 1 + `replicas` nodes each. Errors:
// INVALID_ARGUMENT for a bad shape, FAILED_PRECONDITION when there are too
// few candidates (the message says how many are needed and what to do).
absl::StatusOr<std::vector<ShardPlacement>> PlaceShards(
    const std::vector<PlacementCandidate>& candidates, uint32_t shards,
    uint32_t replicas);

// The 16384 slots split into `shards` contiguous ranges whose sizes differ
// by at most one (like redis-cli --cluster create). Requires
// 1 <= shards <= kNumSlots.
std::vector<v1::SlotRange> EvenSlotRanges(uint32_t shards);

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_PLACEMENT_H_
