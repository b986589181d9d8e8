#include "coordinator/coordinator_metrics.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "common/metrics/families.h"
#include "proto/coordinator.pb.h"

namespace slotcache::coordinator {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;
using slotcache::metrics::AddFamily;
using slotcache::metrics::AddGauge;
using slotcache::metrics::AddSample;

// Events read per ListEvents call while catching up.
constexpr uint32_t kEventBatch = 1000;

std::string HealthName(v1::Health health) {
  return absl::AsciiStrToLower(v1::Health_Name(health));
}

const char* StateName(v1::Operation::State state) {
  switch (state) {
    case v1::Operation::RUNNING:
      return "running";
    case v1::Operation::SUCCEEDED:
      return "succeeded";
    case v1::Operation::FAILED:
      return "failed";
    default:
      return "unknown";
  }
}

}  // namespace

CoordinatorCollector::CoordinatorCollector(const Coordinator* coordinator)
    : coordinator_(coordinator) {}

std::vector<MetricFamily> CoordinatorCollector::Collect() const {
  std::vector<MetricFamily> out;
  CollectMap(&out);
  CollectOperations(&out);
  CollectEvents(&out);
  return out;
}

void CoordinatorCollector::CollectMap(std::vector<MetricFamily>* out) const {
  const v1::ClusterMap map = coordinator_->Describe();
  AddGauge(out, "slotcache_cluster_map_version",
           "Version of the published cluster map.",
           static_cast<double>(map.version()));
  absl::flat_hash_map<std::string, const v1::NodeInfo*> nodes;
  absl::btree_map<std::string, int> by_health = {{HealthName(v1::HEALTHY), 0},
                                                 {HealthName(v1::FAILED), 0}};
  for (const v1::NodeInfo& node : map.nodes()) {
    nodes[node.node_id()] = &node;
    ++by_health[HealthName(node.health())];
  }
  MetricFamily& health =
      AddFamily(out, "slotcache_coordinator_nodes",
                "Registered nodes by health.", MetricType::Gauge);
  for (const auto& [name, n] : by_health) {
    AddSample(health, n, {{"health", name}});
  }
  AddGauge(out, "slotcache_coordinator_shards", "Shards in the map.",
           map.shards_size());

  MetricFamily& epoch =
      AddFamily(out, "slotcache_shard_config_epoch",
                "config_epoch of each shard.", MetricType::Gauge);
  for (const v1::ShardInfo& shard : map.shards()) {
    AddSample(epoch, static_cast<double>(shard.config_epoch()),
              {{"shard", shard.shard_id()}});
  }
  MetricFamily& up = AddFamily(
      out, "slotcache_shard_primary_healthy",
      "1 when the shard has a primary that heartbeats within node_timeout.",
      MetricType::Gauge);
  for (const v1::ShardInfo& shard : map.shards()) {
    auto it = nodes.find(shard.primary_node_id());
    const bool healthy =
        it != nodes.end() && it->second->health() == v1::HEALTHY;
    AddSample(up, healthy ? 1 : 0, {{"shard", shard.shard_id()}});
  }
  MetricFamily& replicas =
      AddFamily(out, "slotcache_shard_healthy_replicas",
                "Healthy replicas of each shard.", MetricType::Gauge);
  for (const v1::ShardInfo& shard : map.shards()) {
    int n = 0;
    for (const std::string& id : shard.replica_node_ids()) {
      auto it = nodes.find(id);
      n += it != nodes.end() && it->second->health() == v1::HEALTHY;
    }
    AddSample(replicas, n, {{"shard", shard.shard_id()}});
  }
  MetricFamily& primary = AddFamily(
      out, "slotcache_shard_primary",
      "1 for the node that is the shard's primary in the map (an info "
      "metric: join on node to follow failovers).",
      MetricType::Gauge);
  for (const v1::ShardInfo& shard : map.shards()) {
    if (shard.primary_node_id().empty()) continue;
    AddSample(primary, 1,
              {{"node", shard.primary_node_id()}, {"shard", shard.shard_id()}});
  }
  MetricFamily& slots = AddFamily(out, "slotcache_shard_slots",
                                  "Slots each shard owns.", MetricType::Gauge);
  for (const v1::ShardInfo& shard : map.shards()) {
    int64_t n = 0;
    for (const v1::SlotRange& range : shard.slots()) {
      n += static_cast<int64_t>(range.end()) - range.start() + 1;
    }
    AddSample(slots, static_cast<double>(n), {{"shard", shard.shard_id()}});
  }
}

void CoordinatorCollector::CollectOperations(
    std::vector<MetricFamily>* out) const {
  const v1::ListOperationsResponse ops = coordinator_->ListOperations();
  absl::btree_map<std::pair<std::string, std::string>, int64_t> by_kind_state;
  absl::btree_map<std::string, int64_t> running;
  for (const v1::Operation& op : ops.operations()) {
    ++by_kind_state[{op.kind(), StateName(op.state())}];
    if (op.state() == v1::Operation::RUNNING) ++running[op.kind()];
  }
  MetricFamily& total = AddFamily(
      out, "slotcache_operations_total",
      "Operations started (kind: failover, migrate_slots, rebalance, ...), by "
      "current state; failovers and migrations are among them.",
      MetricType::Counter);
  for (const auto& [key, n] : by_kind_state) {
    AddSample(total, static_cast<double>(n),
              {{"kind", key.first}, {"state", key.second}});
  }
  MetricFamily& in_flight =
      AddFamily(out, "slotcache_operations_running",
                "Operations running now, by kind.", MetricType::Gauge);
  for (const auto& [kind, n] : running) {
    AddSample(in_flight, static_cast<double>(n), {{"kind", kind}});
  }
}

void CoordinatorCollector::CollectEvents(std::vector<MetricFamily>* out) const {
  absl::MutexLock lock(&mu_);
  for (;;) {
    v1::ListEventsRequest request;
    request.set_after_seq(last_event_seq_);
    request.set_limit(kEventBatch);
    absl::StatusOr<v1::ListEventsResponse> events =
        coordinator_->ListEvents(request);
    if (!events.ok() || events->events_size() == 0) break;
    for (const v1::Event& event : events->events()) {
      ++events_by_kind_[event.kind()];
      last_event_seq_ = std::max(last_event_seq_, event.seq());
    }
    if (events->events_size() < static_cast<int>(kEventBatch)) break;
  }
  MetricFamily& family = AddFamily(out, "slotcache_coordinator_events_total",
                                   "Events in the coordinator's log, by kind.",
                                   MetricType::Counter);
  for (const auto& [kind, n] : events_by_kind_) {
    AddSample(family, static_cast<double>(n), {{"kind", kind}});
  }
}

}  // namespace slotcache::coordinator
