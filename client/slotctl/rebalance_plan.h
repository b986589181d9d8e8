// The plan behind `slotctl cluster rebalance-primaries`: which shards to
// hand over (manual failover) to which replica so that primaries spread
// evenly over the AZs again, e.g. after an AZ outage moved them away.
// Pure function of the cluster map.
//
// Thread-safety: pure functions, safe from any thread.
#ifndef SLOTCACHE_CLIENT_SLOTCTL_REBALANCE_PLAN_H_
#define SLOTCACHE_CLIENT_SLOTCTL_REBALANCE_PLAN_H_

#include <string>
#include <vector>

#include "proto/common.pb.h"

namespace slotcache::slotctl {

struct PrimaryMove {
  std::string shard_id;
  std::string from_node;
  std::string from_az;
  std::string to_node;
  std::string to_az;
};

// Moves, in order, that bring every AZ to within one primary of the
// others (counting AZs that hold a healthy member of some shard). Each
// move goes to a HEALTHY replica of the shard, from the AZ with the most
// primaries to the AZ with the fewest that the shard has a replica in.
// Empty when the primaries are spread already (or cannot be spread more).
std::vector<PrimaryMove> PlanPrimaryRebalance(const v1::ClusterMap& map);

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_REBALANCE_PLAN_H_
