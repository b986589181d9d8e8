// The checks behind `slotctl cluster check`, as a pure function of a
// cluster map (like `redis-cli --cluster check`, plus AZ placement).
//
// Thread-safety: pure functions, safe from any thread.
#ifndef SLOTCACHE_CLIENT_SLOTCTL_CLUSTER_CHECK_H_
#define SLOTCACHE_CLIENT_SLOTCTL_CLUSTER_CHECK_H_

#include <string>
#include <vector>

#include "proto/common.pb.h"
#include "proto/coordinator.pb.h"

namespace slotcache::slotctl {

struct CheckLine {
  enum class Level { kOk, kWarn, kErr };
  Level level;
  std::string message;
};

// "OK", "WARN" or "ERR".
const char* LevelName(CheckLine::Level level);

// What is checked (each an [OK] or [ERR] line):
//   - a cluster exists and has shards;
//   - all 16384 slots are covered, each by exactly one shard;
//   - every shard has a primary that is a known, healthy node (for one
//     that is not, the newest failover operation of the shard in
//     `operations` says whether a failover runs or why it failed);
//   - every replica is known and in another AZ than its shard's primary.
// Failed replicas are [WARN] (the shard still serves).
std::vector<CheckLine> CheckCluster(
    const v1::ClusterMap& map,
    const std::vector<v1::Operation>& operations = {});

// True when no line is [ERR].
bool CheckPassed(const std::vector<CheckLine>& lines);

// "0-5460,5462" style text for a sorted list of slots.
std::string SlotListText(const std::vector<uint32_t>& slots);

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_CLUSTER_CHECK_H_
