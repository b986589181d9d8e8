#include "client/slotctl/rebalance_plan.h"

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_map.h"

namespace slotcache::slotctl {

std::vector<PrimaryMove> PlanPrimaryRebalance(const v1::ClusterMap& map) {
  absl::flat_hash_map<std::string, const v1::NodeInfo*> nodes;
  for (const v1::NodeInfo& node : map.nodes()) nodes[node.node_id()] = &node;
  // Primaries per AZ; std::map so ties resolve the same way every run.
  std::map<std::string, int> count;
  absl::flat_hash_map<std::string, std::string> primary_az;  // by shard
  for (const v1::ShardInfo& shard : map.shards()) {
    for (const std::string& id : shard.replica_node_ids()) {
      auto it = nodes.find(id);
      if (it != nodes.end() && it->second->health() == v1::HEALTHY) {
        count.emplace(it->second->az(), 0);
      }
    }
    auto p = nodes.find(shard.primary_node_id());
    if (p == nodes.end()) continue;
    ++count[p->second->az()];
    primary_az[shard.shard_id()] = p->second->az();
  }

  std::vector<PrimaryMove> moves;
  // Each move lowers the spread or the number of AZs at the maximum, so
  // this ends; the bound only guards against a bug.
  for (size_t round = 0; round <= static_cast<size_t>(map.shards_size());
       ++round) {
    auto [min_it, max_it] = std::minmax_element(
        count.begin(), count.end(),
        [](const auto& a, const auto& b) { return a.second < b.second; });
    if (count.empty() || max_it->second - min_it->second <= 1) break;
    // The best move out of the fullest AZ: to the emptiest AZ reachable.
    bool found = false;
    PrimaryMove chosen;
    for (const v1::ShardInfo& shard : map.shards()) {
      if (primary_az[shard.shard_id()] != max_it->first) continue;
      for (const std::string& id : shard.replica_node_ids()) {
        auto r = nodes.find(id);
        if (r == nodes.end() || r->second->health() != v1::HEALTHY) continue;
        const std::string& az = r->second->az();
        if (count[az] + 1 >= max_it->second) continue;  // No improvement.
        if (!found || count[az] < count[chosen.to_az]) {
          chosen = {shard.shard_id(), shard.primary_node_id(), max_it->first,
                    id, az};
          found = true;
        }
      }
    }
    if (!found) break;
    --count[chosen.from_az];
    ++count[chosen.to_az];
    primary_az[chosen.shard_id] = chosen.to_az;
    moves.push_back(chosen);
  }
  return moves;
}

}  // namespace slotcache::slotctl
