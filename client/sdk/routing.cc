#include "client/sdk/routing.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace slotcache {

std::shared_ptr<const RoutingTable> RoutingTable::FromClusterMap(
    const v1::ClusterMap& map, absl::string_view fallback_address) {
  std::shared_ptr<RoutingTable> table(new RoutingTable());
  table->version_ = map.version();
  table->fallback_ = std::string(fallback_address);
  table->slot_to_shard_.fill(kNoShard);

  // Version 0 is a standalone node describing itself. Dial it the way we
  // reached it (the seed address), not by the address it reports, which
  // may be a bind address that does not route from here.
  if (map.version() == 0 && !table->fallback_.empty()) return table;

  absl::flat_hash_map<std::string, const v1::NodeInfo*> nodes;
  for (const v1::NodeInfo& node : map.nodes()) nodes[node.node_id()] = &node;

  for (const v1::ShardInfo& shard_info : map.shards()) {
    auto primary = nodes.find(shard_info.primary_node_id());
    // A shard whose primary the map does not describe cannot be routed to;
    // its slots fall back (the node there answers MOVED or CLUSTERDOWN).
    if (primary == nodes.end() || primary->second->address().empty()) continue;
    Shard shard;
    shard.primary_address = primary->second->address();
    shard.config_epoch = shard_info.config_epoch();
    for (const std::string& replica_id : shard_info.replica_node_ids()) {
      auto replica = nodes.find(replica_id);
      if (replica == nodes.end()) continue;
      const v1::NodeInfo& info = *replica->second;
      // Only replicas the coordinator considers alive take reads; a map
      // from a standalone node leaves health unspecified, which counts.
      if (info.health() == v1::FAILED || info.health() == v1::JOINING) {
        continue;
      }
      shard.replicas.push_back({info.address(), info.az()});
    }
    const int32_t index = static_cast<int32_t>(table->shards_.size());
    table->shards_.push_back(std::move(shard));
    for (const v1::SlotRange& range : shard_info.slots()) {
      for (uint32_t slot = range.start();
           slot <= range.end() && slot < kNumSlots; ++slot) {
        table->slot_to_shard_[slot] = index;
      }
    }
  }
  return table;
}

const RoutingTable::Shard* RoutingTable::ShardFor(uint32_t slot) const {
  if (slot >= kNumSlots) return nullptr;
  const int32_t index = slot_to_shard_[slot];
  return index == kNoShard ? nullptr : &shards_[index];
}

const std::string& RoutingTable::PrimaryFor(uint32_t slot) const {
  const Shard* shard = ShardFor(slot);
  return shard == nullptr ? fallback_ : shard->primary_address;
}

Route RoutingTable::Pick(uint32_t slot, bool is_read, ReadPolicy policy,
                         absl::string_view local_az, uint64_t salt) const {
  const Shard* shard = ShardFor(slot);
  if (shard == nullptr) return {fallback_, false};
  if (!is_read || policy == ReadPolicy::kPrimary || shard->replicas.empty()) {
    return {shard->primary_address, false};
  }
  if (policy == ReadPolicy::kPreferReplica) {
    return {shard->replicas[salt % shard->replicas.size()].address, true};
  }
  // kSameAzReplica: spread over the replicas in our AZ, if any.
  std::vector<const Replica*> local;
  for (const Replica& replica : shard->replicas) {
    if (!local_az.empty() && replica.az == local_az) local.push_back(&replica);
  }
  if (local.empty()) return {shard->primary_address, false};
  return {local[salt % local.size()]->address, true};
}

std::shared_ptr<const RoutingTable> RoutingTable::WithSlotMoved(
    uint32_t slot, absl::string_view address, uint64_t config_epoch) const {
  if (slot >= kNumSlots) return nullptr;
  const Shard* current = ShardFor(slot);
  if (current != nullptr && config_epoch < current->config_epoch) {
    return nullptr;
  }
  std::shared_ptr<RoutingTable> table(new RoutingTable(*this));
  // Reuse the shard already led by `address` so its replicas stay known;
  // otherwise add a shard that only has the (new) primary.
  int32_t target = kNoShard;
  for (size_t i = 0; i < table->shards_.size(); ++i) {
    if (table->shards_[i].primary_address == address) {
      target = static_cast<int32_t>(i);
      break;
    }
  }
  if (target == kNoShard) {
    target = static_cast<int32_t>(table->shards_.size());
    Shard shard;
    shard.primary_address = std::string(address);
    table->shards_.push_back(std::move(shard));
  }
  Shard& shard = table->shards_[target];
  if (config_epoch > shard.config_epoch) shard.config_epoch = config_epoch;
  table->slot_to_shard_[slot] = target;
  return table;
}

std::vector<std::string> RoutingTable::Addresses() const {
  std::vector<std::string> out;
  absl::flat_hash_set<std::string> seen;
  for (const Shard& shard : shards_) {
    if (seen.insert(shard.primary_address).second) {
      out.push_back(shard.primary_address);
    }
  }
  for (const Shard& shard : shards_) {
    for (const Replica& replica : shard.replicas) {
      if (seen.insert(replica.address).second) out.push_back(replica.address);
    }
  }
  if (!fallback_.empty() && seen.insert(fallback_).second) {
    out.push_back(fallback_);
  }
  return out;
}

}  // namespace slotcache
