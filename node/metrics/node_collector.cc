#include "node/metrics/node_collector.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/metrics/families.h"
#include "common/slot.h"
#include "proto/admin.pb.h"

namespace slotcache::node::metrics {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;
using slotcache::metrics::AddCounter;
using slotcache::metrics::AddFamily;
using slotcache::metrics::AddGauge;
using slotcache::metrics::AddSample;

}  // namespace

NodeCollector::NodeCollector(NodeCollectorSources sources)
    : sources_(std::move(sources)) {}

std::vector<MetricFamily> NodeCollector::Collect() const {
  std::vector<MetricFamily> out;
  CollectKeyspace(&out);
  CollectCluster(&out);
  CollectReplication(&out);
  CollectClients(&out);
  if (sources_.commands != nullptr) sources_.commands->Collect(&out);
  return out;
}

void NodeCollector::CollectKeyspace(std::vector<MetricFamily>* out) const {
  const storage::StoreStats stats = sources_.store->Stats();
  AddGauge(out, "slotcache_keys", "Keys held by this node (Redis db keys).",
           stats.keys);
  AddGauge(out, "slotcache_keys_expiring", "Keys with a TTL.",
           stats.keys_with_ttl);
  AddGauge(out, "slotcache_memory_used_bytes",
           "Memory used by keys and values, as counted for maxmemory.",
           stats.used_memory_bytes);
  AddGauge(out, "slotcache_memory_max_bytes", "The maxmemory limit (0: none).",
           static_cast<double>(stats.maxmemory_bytes));
  AddCounter(out, "slotcache_expired_keys_total",
             "Keys removed by lazy or active expiry.", stats.expired_keys);
  AddCounter(out, "slotcache_evicted_keys_total",
             "Keys removed by maxmemory eviction.", stats.evicted_keys);

  std::vector<std::pair<int64_t, uint32_t>> slots;
  for (uint32_t s = 0; s < kNumSlots; ++s) {
    const int64_t keys = sources_.store->SlotKeyCount(s);
    if (keys > 0) slots.emplace_back(keys, s);
  }
  const size_t top = std::min<size_t>(kTopSlots, slots.size());
  std::partial_sort(slots.begin(), slots.begin() + top, slots.end(),
                    [](const auto& a, const auto& b) { return a > b; });
  AddGauge(out, "slotcache_slots_with_keys", "Slots holding at least one key.",
           static_cast<double>(slots.size()));
  MetricFamily& per_slot =
      AddFamily(out, "slotcache_slot_keys",
                absl::StrCat("Keys per slot, for the ", kTopSlots,
                             " slots holding the most."),
                MetricType::Gauge);
  for (size_t i = 0; i < top; ++i) {
    AddSample(per_slot, static_cast<double>(slots[i].first),
              {{"slot", absl::StrCat(slots[i].second)}});
  }
}

void NodeCollector::CollectCluster(std::vector<MetricFamily>* out) const {
  const std::shared_ptr<const RoutingTable> table = sources_.cluster->table();
  AddGauge(out, "slotcache_cluster_map_version",
           "Version of the cluster map the node serves with (0: standalone).",
           static_cast<double>(sources_.cluster->map_version()));
  const v1::Role role = sources_.cluster->role();
  MetricFamily& roles = AddFamily(
      out, "slotcache_role",
      "1 for this node's role in its shard (primary, replica or none).",
      MetricType::Gauge);
  for (const auto& [r, name] :
       {std::pair{v1::PRIMARY, "primary"}, std::pair{v1::REPLICA, "replica"},
        std::pair{v1::ROLE_UNSPECIFIED, "none"}}) {
    AddSample(roles, role == r ? 1 : 0, {{"role", name}});
  }
  if (table->local_shard == RoutingTable::kUnowned) return;
  const RoutingTable::Shard& shard = table->shards[table->local_shard];
  AddGauge(out, "slotcache_config_epoch",
           "config_epoch of this node's shard in the held map.",
           static_cast<double>(shard.config_epoch));
  int64_t owned = 0;
  for (uint32_t s = 0; s < kNumSlots; ++s) owned += table->LocalShardOwns(s);
  AddGauge(out, "slotcache_slots_owned",
           "Slots this node's shard owns in the held map.",
           static_cast<double>(owned));
}

void NodeCollector::CollectReplication(std::vector<MetricFamily>* out) const {
  if (sources_.replication == nullptr) return;
  v1::NodeStatus status;
  sources_.replication->FillStatus(&status);
  AddGauge(out, "slotcache_replication_offset",
           "Replication offset of this node's log (Redis master_repl_offset).",
           static_cast<double>(status.replication_offset()));
  // Primary side.
  AddGauge(out, "slotcache_connected_replicas",
           "Replicas streaming from this node (Redis connected_slaves).",
           status.replicas_size());
  AddCounter(out, "slotcache_full_syncs_served_total",
             "Full syncs this node served to replicas.",
             static_cast<double>(status.full_syncs_served()));
  AddCounter(out, "slotcache_partial_syncs_served_total",
             "Partial resyncs this node served to replicas.",
             static_cast<double>(status.partial_syncs_served()));
  MetricFamily& lag_s = AddFamily(
      out, "slotcache_replica_lag_seconds",
      "Per connected replica: age of its oldest unacknowledged entry.",
      MetricType::Gauge);
  for (const v1::ReplicaLag& r : status.replicas()) {
    AddSample(lag_s, r.lag_seconds(), {{"replica", r.node_id()}});
  }
  MetricFamily& lag_e =
      AddFamily(out, "slotcache_replica_lag_entries",
                "Per connected replica: log entries it has not acknowledged.",
                MetricType::Gauge);
  for (const v1::ReplicaLag& r : status.replicas()) {
    AddSample(lag_e, static_cast<double>(r.lag_entries()),
              {{"replica", r.node_id()}});
  }
  // Replica side: only on a node following a primary.
  if (status.primary_address().empty()) return;
  AddGauge(out, "slotcache_master_link_up",
           "1 while the stream from the primary is up (Redis master_link_up).",
           status.primary_link_up() ? 1 : 0);
  AddGauge(out, "slotcache_replication_lag_seconds",
           "Seconds since this replica was last caught up with its primary "
           "(0: caught up).",
           status.replication_lag_seconds());
  AddGauge(out, "slotcache_replication_lag_entries",
           "Entries the primary announced that this replica has not applied.",
           static_cast<double>(status.replication_lag_entries()));
  AddCounter(out, "slotcache_full_syncs_total",
             "Full syncs this replica went through.",
             static_cast<double>(status.full_syncs()));
  AddCounter(out, "slotcache_partial_syncs_total",
             "Partial resyncs this replica went through.",
             static_cast<double>(status.partial_syncs()));
}

void NodeCollector::CollectClients(std::vector<MetricFamily>* out) const {
  if (sources_.resp_clients == nullptr) return;
  const resp::ClientRegistry& clients = *sources_.resp_clients;
  AddGauge(out, "slotcache_connected_clients",
           "RESP client connections open (Redis connected_clients).",
           clients.connected());
  AddGauge(out, "slotcache_blocked_clients",
           "RESP clients parked in WAIT (Redis blocked_clients).",
           static_cast<double>(clients.blocked()));
  AddCounter(out, "slotcache_connections_received_total",
             "RESP connections accepted.",
             static_cast<double>(clients.connections_received()));
  AddCounter(out, "slotcache_rejected_connections_total",
             "RESP connections refused at maxclients.",
             static_cast<double>(clients.rejected_connections()));
}

}  // namespace slotcache::node::metrics
