#include "coordinator/coordinator.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/node_id.h"
#include "common/slot.h"
#include "common/status.h"
#include "coordinator/placement.h"

namespace slotcache::coordinator {
namespace {

std::string NewClusterId() {
  absl::BitGen gen;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(gen));
}

bool ValidHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  return colon != std::string::npos && colon > 0 && colon + 1 < address.size();
}

std::string RangesText(const v1::ShardInfo& shard) {
  std::vector<std::string> parts;
  for (const v1::SlotRange& r : shard.slots()) {
    parts.push_back(absl::StrCat(r.start(), "-", r.end()));
  }
  return absl::StrJoin(parts, ",");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(
    std::unique_ptr<StateStore> store, const CoordinatorOptions& options) {
  absl::StatusOr<StoredState> state = store->Load();
  if (!state.ok()) return state.status();
  std::unique_ptr<Coordinator> c(new Coordinator(std::move(store), options));
  bool recover = false;
  {
    absl::MutexLock lock(&c->mu_);
    c->meta_ = state->meta;
    const absl::Time now = options.clock->Now();
    for (v1::NodeInfo& node : state->nodes) {
      std::string id = node.node_id();
      Liveness& live = c->liveness_[id];
      live.last_seen = now;
      // The previous process may have granted a lease just before it
      // stopped; count it as granted now (failover.h).
      live.last_lease_grant = now;
      c->nodes_[id] = std::move(node);
    }
    c->shards_ = std::move(state->shards);
    // By first slot; shards without slots (just added) last, by id.
    auto first_slot = [](const v1::ShardInfo& s) {
      return s.slots_size() > 0 ? s.slots(0).start() : kNumSlots;
    };
    std::sort(c->shards_.begin(), c->shards_.end(),
              [&](const v1::ShardInfo& a, const v1::ShardInfo& b) {
                return std::make_pair(first_slot(a), a.shard_id()) <
                       std::make_pair(first_slot(b), b.shard_id());
              });
    c->operations_ = std::move(state->operations);
    c->detect_after_ = now + options.startup_grace;
    c->PublishLocked();
    c->RollBackInterruptedLocked();
    SC_LOG(INFO,
           "coordinator state loaded: %d nodes, %d shards, map version %d, "
           "max config epoch %d",
           c->nodes_.size(), c->shards_.size(), c->meta_.map_version(),
           c->meta_.max_config_epoch());
    recover = !c->recovered_.empty();
  }
  // Interrupted moves are rolled back once their nodes answer.
  if (recover) c->StartMover([raw = c.get()] { raw->RecoverInterrupted(); });
  return c;
}

Coordinator::Coordinator(std::unique_ptr<StateStore> store,
                         const CoordinatorOptions& options)
    : options_(options), store_(std::move(store)) {}

Coordinator::~Coordinator() { Shutdown(); }

void Coordinator::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
  }
  stop_.Stop();
  if (detector_.joinable()) detector_.join();
  {
    absl::MutexLock lock(&manual_mu_);
    if (manual_.joinable()) manual_.join();
  }
  absl::MutexLock lock(&mover_mu_);
  if (mover_.joinable()) mover_.join();
}

v1::Health Coordinator::AliveHealth(const v1::NodeInfo& node) {
  return node.shard_id().empty() ? v1::JOINING : v1::HEALTHY;
}

absl::Duration Coordinator::LeaseForLocked(const v1::NodeInfo& node) const {
  // Only a healthy primary may accept writes, and not one being replaced:
  // failover relies on this being the single place a lease is granted. It
  // stops granting leases to the primary it replaces, then waits out the
  // last one (plus the drift margin) before promoting a replica.
  if (node.role() != v1::PRIMARY || node.health() != v1::HEALTHY) {
    return absl::ZeroDuration();
  }
  auto failover = failovers_.find(node.shard_id());
  if (failover != failovers_.end() &&
      failover->second.old_primary == node.node_id()) {
    return absl::ZeroDuration();
  }
  return options_.primary_lease;
}

absl::Status Coordinator::CommitLocked(StateUpdate update,
                                       std::vector<PendingEvent> events,
                                       bool new_map) {
  StoredMeta meta = meta_;
  if (new_map) meta.set_map_version(meta.map_version() + 1);
  const int64_t now_ms = absl::ToUnixMillis(options_.clock->Now());
  for (PendingEvent& pending : events) {
    v1::Event& event = update.events.emplace_back();
    event.set_seq(meta.last_event_seq() + 1);
    meta.set_last_event_seq(event.seq());
    event.set_unix_ms(now_ms);
    event.set_kind(std::move(pending.kind));
    event.set_message(std::move(pending.message));
    SC_LOG(INFO, "event %s: %s", event.kind(), event.message());
  }
  update.meta = meta;
  if (absl::Status written = store_->Write(update); !written.ok()) {
    SC_LOG(ERROR, "not applying a change: %s", written.ToString());
    return written;
  }
  meta_ = std::move(meta);
  for (v1::NodeInfo& node : update.nodes) {
    std::string id = node.node_id();
    nodes_[id] = std::move(node);
  }
  for (v1::ShardInfo& shard : update.shards) {
    auto it = std::find_if(shards_.begin(), shards_.end(),
                           [&](const v1::ShardInfo& s) {
                             return s.shard_id() == shard.shard_id();
                           });
    if (it != shards_.end()) {
      *it = std::move(shard);
    } else {
      shards_.push_back(std::move(shard));
    }
  }
  for (const std::string& id : update.removed_shard_ids) {
    shards_.erase(std::remove_if(shards_.begin(), shards_.end(),
                                 [&](const v1::ShardInfo& s) {
                                   return s.shard_id() == id;
                                 }),
                  shards_.end());
  }
  for (v1::Operation& op : update.operations) {
    auto it =
        std::find_if(operations_.begin(), operations_.end(),
                     [&](const v1::Operation& o) { return o.id() == op.id(); });
    if (it != operations_.end()) {
      *it = std::move(op);
    } else {
      operations_.push_back(std::move(op));
    }
  }
  if (new_map) PublishLocked();
  return absl::OkStatus();
}

void Coordinator::PublishLocked() {
  // Built only from persisted records, so the map of a given version is the
  // same before and after a restart. Live fields are added by Describe().
  auto map = std::make_shared<v1::ClusterMap>();
  map->set_cluster_id(meta_.cluster_id());
  map->set_version(meta_.map_version());
  for (const v1::ShardInfo& shard : shards_) *map->add_shards() = shard;
  std::vector<const v1::NodeInfo*> nodes;
  for (const auto& [id, node] : nodes_) nodes.push_back(&node);
  std::sort(nodes.begin(), nodes.end(),
            [](const v1::NodeInfo* a, const v1::NodeInfo* b) {
              return a->node_id() < b->node_id();
            });
  for (const v1::NodeInfo* node : nodes) *map->add_nodes() = *node;
  map_ = std::move(map);
}

absl::StatusOr<v1::RegisterNodeResponse> Coordinator::RegisterNode(
    const v1::RegisterNodeRequest& request) {
  if (!ValidHostPort(request.address())) {
    return InvalidInputError(absl::StrCat(
        "node registered with address '", request.address(),
        "', which is not HOST:PORT; start slotcache-node with a --listen "
        "address that clients can reach"));
  }
  if (request.az().empty()) {
    return InvalidInputError(absl::StrCat(
        "node at ", request.address(),
        " registered without an availability zone; start slotcache-node "
        "with --az=NAME"));
  }
  if (!request.node_id().empty() && !IsValidNodeId(request.node_id())) {
    return InvalidInputError(absl::StrCat(
        "node id '", request.node_id(),
        "' is not 1-64 letters, digits, '-' or '_'; delete the node's "
        "node_id file in its --data_dir to get a new id"));
  }
  absl::MutexLock lock(&mu_);
  if (shutdown_) return absl::UnavailableError("coordinator is shutting down");
  const absl::Time now = options_.clock->Now();
  std::string id = request.node_id();
  auto known = nodes_.find(id);
  StateUpdate update;
  std::vector<PendingEvent> events;
  bool changed = true;
  const StoredMeta meta_before = meta_;
  // Set when a restarted primary is demoted (below).
  std::string demoted_shard;
  if (id.empty()) {
    do {
      id = NewNodeId();
    } while (nodes_.contains(id));
  }
  if (known == nodes_.end()) {
    v1::NodeInfo& node = update.nodes.emplace_back();
    node.set_node_id(id);
    node.set_address(request.address());
    node.set_resp_address(request.resp_address());
    node.set_az(request.az());
    node.set_health(v1::JOINING);
    events.push_back({"node_registered",
                      absl::StrCat("node ", id, " registered from ",
                                   request.address(), " in ", request.az())});
  } else {
    const v1::NodeInfo& old = known->second;
    v1::NodeInfo node = old;
    node.set_address(request.address());
    node.set_resp_address(request.resp_address());
    node.set_az(request.az());
    node.set_health(AliveHealth(node));
    // A primary whose process restarted lost its data (nodes keep it in
    // memory only). Were it to stay primary, its replicas would follow it
    // to its new address and full-sync its empty store. So in the same
    // commit its shard loses its primary (clients get CLUSTERDOWN, the
    // replicas keep their data and wait) and a failover promotes the best
    // replica. A shard without replicas keeps it: there is no better copy.
    const v1::ShardInfo* shard = FindShardLocked(old.shard_id());
    if (request.restarted() && shard != nullptr &&
        shard->primary_node_id() == id && shard->replica_node_ids_size() > 0) {
      v1::ShardInfo& demoted = update.shards.emplace_back(*shard);
      demoted.set_primary_node_id("");
      demoted.add_replica_node_ids(id);
      meta_.set_max_config_epoch(meta_.max_config_epoch() + 1);
      demoted.set_config_epoch(meta_.max_config_epoch());
      node.set_role(v1::REPLICA);
      demoted_shard = shard->shard_id();
      events.push_back(
          {"primary_restarted",
           absl::StrCat("primary ", id, " of ", shard->shard_id(),
                        " restarted without its data; the shard has no "
                        "primary (epoch ",
                        demoted.config_epoch(),
                        ") until a replica is promoted")});
    }
    changed = node.address() != old.address() || node.az() != old.az() ||
              node.health() != old.health() ||
              node.resp_address() != old.resp_address() ||
              !demoted_shard.empty();
    std::string detail;
    if (node.address() != old.address()) {
      absl::StrAppend(&detail, ", address ", old.address(), " -> ",
                      node.address());
    }
    if (node.az() != old.az()) {
      absl::StrAppend(&detail, ", az ", old.az(), " -> ", node.az());
    }
    events.push_back(
        {"node_reregistered",
         absl::StrCat("node ", id, " re-registered from ", request.address(),
                      old.shard_id().empty()
                          ? std::string()
                          : absl::StrCat(" (", v1::Role_Name(old.role()),
                                         " of ", old.shard_id(), ")"),
                      detail)});
    update.nodes.push_back(std::move(node));
  }
  if (absl::Status s =
          CommitLocked(std::move(update), std::move(events), changed);
      !s.ok()) {
    meta_ = meta_before;
    return s;
  }
  Liveness& live = liveness_[id];
  live.last_seen = now;
  // The last report of the previous process (its history) is what the
  // failover of a restarted primary compares replicas with.
  if (!demoted_shard.empty() && !failovers_.contains(demoted_shard)) {
    (void)BeginFailoverLocked(
        *FindShardLocked(demoted_shard), id, /*manual=*/false,
        absl::StrCat("primary ", id, " restarted without its data"));
  }
  live.last_report.Clear();

  v1::RegisterNodeResponse response;
  response.set_node_id(id);
  *response.mutable_cluster_map() = *map_;
  response.set_heartbeat_interval_ms(static_cast<uint32_t>(
      absl::ToInt64Milliseconds(options_.heartbeat_interval)));
  return response;
}

absl::StatusOr<v1::HeartbeatResponse> Coordinator::Heartbeat(
    const v1::HeartbeatRequest& request) {
  absl::MutexLock lock(&mu_);
  if (shutdown_) return absl::UnavailableError("coordinator is shutting down");
  auto it = nodes_.find(request.node_id());
  if (it == nodes_.end()) {
    return absl::NotFoundError(
        absl::StrCat("unknown node id '", request.node_id(),
                     "'; the node must call RegisterNode before heartbeating"));
  }
  Liveness& live = liveness_[request.node_id()];
  const absl::Time now = options_.clock->Now();
  live.last_seen = now;
  live.last_report = request;
  if (it->second.health() == v1::FAILED) {
    v1::NodeInfo node = it->second;
    node.set_health(AliveHealth(node));
    StateUpdate update;
    update.nodes.push_back(node);
    absl::Status s = CommitLocked(
        std::move(update),
        {{"node_recovered",
          absl::StrCat("node ", node.node_id(), " (", node.address(),
                       ") is heartbeating again")}},
        /*new_map=*/true);
    if (!s.ok()) return s;
  }
  v1::HeartbeatResponse response;
  const v1::NodeInfo& node = nodes_.at(request.node_id());
  const absl::Duration lease = LeaseForLocked(node);
  if (lease > absl::ZeroDuration()) live.last_lease_grant = now;
  response.set_lease_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(lease)));
  if (request.cluster_map_version() < map_->version()) {
    *response.mutable_cluster_map() = *map_;
  }
  return response;
}

void Coordinator::DetectFailures() {
  std::vector<v1::NodeInfo> failed;
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_) return;
    const absl::Time now = options_.clock->Now();
    if (now < detect_after_) return;
    StateUpdate update;
    std::vector<PendingEvent> events;
    for (const auto& [id, node] : nodes_) {
      if (node.health() == v1::FAILED) continue;
      const absl::Time last_seen = liveness_[id].last_seen;
      if (now - last_seen <= options_.node_timeout) continue;
      v1::NodeInfo updated = node;
      updated.set_health(v1::FAILED);
      events.push_back(
          {"node_failed",
           absl::StrCat("node ", id, " (", node.address(), ", ", node.az(),
                        node.shard_id().empty()
                            ? std::string()
                            : absl::StrCat(", ", v1::Role_Name(node.role()),
                                           " of ", node.shard_id()),
                        ") missed heartbeats for ",
                        absl::FormatDuration(now - last_seen))});
      update.nodes.push_back(std::move(updated));
    }
    if (!update.nodes.empty()) {
      failed = update.nodes;
      if (!CommitLocked(std::move(update), std::move(events), true).ok()) {
        return;
      }
    }
    AdvanceFailoversLocked();
  }
  if (options_.on_node_failed) {
    for (const v1::NodeInfo& node : failed) options_.on_node_failed(node);
  }
}

void Coordinator::StartFailureDetection() {
  detector_ = std::thread([this] { FailureDetectionLoop(); });
}

void Coordinator::FailureDetectionLoop() {
  // Half the detection granularity: a failover's promotion waits for a
  // tick after the old lease ran out, so the tick adds to the gap.
  const absl::Duration tick =
      std::min(options_.heartbeat_interval, options_.node_timeout / 4) / 2;
  while (stop_.SleepFor(tick)) DetectFailures();
}

absl::StatusOr<v1::CreateClusterResponse> Coordinator::CreateCluster(
    const v1::CreateClusterRequest& request) {
  absl::MutexLock lock(&mu_);
  if (shutdown_) return absl::UnavailableError("coordinator is shutting down");
  if (!meta_.cluster_id().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cluster ", meta_.cluster_id(), " already exists with ", shards_.size(),
        " shards; see it with `slotctl cluster status` (to start over, stop "
        "the coordinator and give it an empty --data_dir)"));
  }
  std::vector<const v1::NodeInfo*> free;
  for (const auto& [id, node] : nodes_) {
    if (node.shard_id().empty() && node.health() != v1::FAILED) {
      free.push_back(&node);
    }
  }
  std::sort(free.begin(), free.end(),
            [](const v1::NodeInfo* a, const v1::NodeInfo* b) {
              return a->node_id() < b->node_id();
            });
  std::vector<PlacementCandidate> candidates;
  for (const v1::NodeInfo* node : free) {
    candidates.push_back({node->node_id(), node->az()});
  }
  absl::StatusOr<std::vector<ShardPlacement>> placements =
      PlaceShards(candidates, request.shards(), request.replicas());
  if (!placements.ok()) return placements.status();

  StoredMeta meta_before = meta_;
  meta_.set_cluster_id(NewClusterId());
  std::vector<v1::SlotRange> ranges = EvenSlotRanges(request.shards());
  StateUpdate update;
  std::vector<PendingEvent> events;
  events.push_back({"cluster_created",
                    absl::StrCat("cluster ", meta_.cluster_id(),
                                 " created: ", request.shards(),
                                 " shards x (1+", request.replicas(), ")")});
  uint64_t epoch = meta_.max_config_epoch();
  for (uint32_t s = 0; s < request.shards(); ++s) {
    const ShardPlacement& placement = (*placements)[s];
    v1::ShardInfo& shard = update.shards.emplace_back();
    shard.set_shard_id(absl::StrCat("shard-", s + 1));
    *shard.add_slots() = ranges[s];
    shard.set_primary_node_id(placement.primary);
    for (const std::string& r : placement.replicas) {
      shard.add_replica_node_ids(r);
    }
    shard.set_config_epoch(++epoch);

    std::vector<std::string> azs;
    auto assign = [&](const std::string& id, v1::Role role)
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                        v1::NodeInfo node = nodes_.at(id);
                        node.set_role(role);
                        node.set_shard_id(shard.shard_id());
                        node.set_health(v1::HEALTHY);
                        azs.push_back(node.az());
                        update.nodes.push_back(std::move(node));
                      };
    assign(placement.primary, v1::PRIMARY);
    for (const std::string& r : placement.replicas) assign(r, v1::REPLICA);
    std::vector<std::string> sorted = azs;
    std::sort(sorted.begin(), sorted.end());
    const bool az_diverse =
        std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
    events.push_back(
        {"shard_created",
         absl::StrCat(shard.shard_id(), ": slots ", RangesText(shard),
                      ", primary ", placement.primary, " (", azs[0],
                      "), replicas [", absl::StrJoin(placement.replicas, " "),
                      "], AZs [", absl::StrJoin(azs, " "), "], epoch ",
                      shard.config_epoch(),
                      az_diverse ? ""
                                 : "; WARNING: members share an AZ because "
                                   "too few AZs have free nodes")});
  }
  meta_.set_max_config_epoch(epoch);

  v1::Operation& op = update.operations.emplace_back();
  op.set_id(absl::StrCat("op-", meta_.last_operation_number() + 1));
  meta_.set_last_operation_number(meta_.last_operation_number() + 1);
  op.set_kind("create_cluster");
  op.set_state(v1::Operation::SUCCEEDED);
  const int64_t now_ms = absl::ToUnixMillis(options_.clock->Now());
  op.set_created_unix_ms(now_ms);
  op.set_finished_unix_ms(now_ms);
  op.set_message(absl::StrCat(request.shards(), " shards x (1+",
                              request.replicas(), "), cluster ",
                              meta_.cluster_id()));
  v1::Operation op_copy = op;

  if (absl::Status s = CommitLocked(std::move(update), std::move(events), true);
      !s.ok()) {
    meta_ = std::move(meta_before);
    return s;
  }
  v1::CreateClusterResponse response;
  *response.mutable_cluster_map() = *map_;
  *response.mutable_operation() = std::move(op_copy);
  return response;
}

v1::ClusterMap Coordinator::Describe() const {
  absl::MutexLock lock(&mu_);
  v1::ClusterMap map = *map_;
  for (v1::NodeInfo& node : *map.mutable_nodes()) {
    auto it = liveness_.find(node.node_id());
    if (it == liveness_.end() || it->second.last_report.node_id().empty()) {
      continue;
    }
    node.set_last_heartbeat_unix_ms(absl::ToUnixMillis(it->second.last_seen));
    node.set_replication_offset(it->second.last_report.replication_offset());
    node.set_key_count(it->second.last_report.key_count());
    node.set_used_memory_bytes(it->second.last_report.used_memory_bytes());
    node.set_replication_lag_seconds(
        it->second.last_report.replication_lag_seconds());
  }
  return map;
}

absl::StatusOr<v1::ListEventsResponse> Coordinator::ListEvents(
    const v1::ListEventsRequest& request) const {
  constexpr uint32_t kMaxEvents = 10000;
  const uint32_t limit =
      request.limit() == 0 ? kMaxEvents : std::min(request.limit(), kMaxEvents);
  absl::StatusOr<std::vector<v1::Event>> events =
      store_->ReadEvents(request.after_seq(), limit);
  if (!events.ok()) return events.status();
  v1::ListEventsResponse response;
  for (v1::Event& event : *events) *response.add_events() = std::move(event);
  return response;
}

v1::ListOperationsResponse Coordinator::ListOperations() const {
  absl::MutexLock lock(&mu_);
  v1::ListOperationsResponse response;
  for (const v1::Operation& op : operations_) *response.add_operations() = op;
  return response;
}

std::shared_ptr<const v1::ClusterMap> Coordinator::CurrentMap() const {
  absl::MutexLock lock(&mu_);
  return map_;
}

std::shared_ptr<const v1::ClusterMap> Coordinator::WaitForMapAfter(
    uint64_t version, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto ready = [this, version]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return shutdown_ || map_->version() > version;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (shutdown_ || map_->version() <= version) return nullptr;
  return map_;
}

}  // namespace slotcache::coordinator
