#include "node/replication/replication_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/slot.h"
#include "common/status.h"

namespace slotcache::node {
namespace {

constexpr absl::Duration kRoleCheckInterval = absl::Milliseconds(50);
// The made-up node id of a --replicaof primary in the synthesized map.
constexpr char kReplicaofPrimaryId[] = "replicaof-primary";

v1::ClusterMap ReplicaofMap(const NodeIdentity& self,
                            const std::string& primary) {
  v1::ClusterMap map;
  map.set_cluster_id("replicaof");
  map.set_version(1);
  v1::ShardInfo* shard = map.add_shards();
  shard->set_shard_id("replicaof");
  v1::SlotRange* range = shard->add_slots();
  range->set_start(0);
  range->set_end(kNumSlots - 1);
  shard->set_primary_node_id(kReplicaofPrimaryId);
  shard->add_replica_node_ids(self.node_id);
  shard->set_config_epoch(1);
  v1::NodeInfo* p = map.add_nodes();
  p->set_node_id(kReplicaofPrimaryId);
  p->set_address(primary);
  p->set_role(v1::PRIMARY);
  p->set_shard_id("replicaof");
  v1::NodeInfo* r = map.add_nodes();
  r->set_node_id(self.node_id);
  r->set_address(self.address);
  r->set_az(self.az);
  r->set_role(v1::REPLICA);
  r->set_shard_id("replicaof");
  return map;
}

// The service's SyncGate (see replication_service.h): a primary in the
// current map, or a standalone node (no map, no --replicaof: it owns
// every slot).
absl::Status MayServeSync(const ClusterState& cluster) {
  const RoutingView view = cluster.View(false);
  const RoutingTable& table = view.table();
  if (table.standalone) return absl::OkStatus();
  if (table.local_shard != RoutingTable::kUnowned &&
      table.shards[table.local_shard].local_role == v1::PRIMARY) {
    return absl::OkStatus();
  }
  const uint64_t version = table.map != nullptr ? table.map->version() : 0;
  const std::string where =
      table.local_shard == RoutingTable::kUnowned
          ? absl::StrCat("it is in no shard of its cluster map (version ",
                         version, ")")
          : absl::StrCat("it is a replica of shard ",
                         table.shards[table.local_shard].shard_id,
                         " in its cluster map (version ", version, ")");
  return absl::FailedPreconditionError(absl::StrCat(
      "this node is not a primary, so it serves no Sync: ", where,
      ". Follow the primary the coordinator's map names; retry after a "
      "backoff if this node is about to be promoted"));
}

}  // namespace

ReplicationManager::ReplicationManager(ReplicationLog* log,
                                       storage::Store* store,
                                       ClusterState* cluster, Clock* clock)
    : log_(log),
      cluster_(cluster),
      clock_(clock),
      tracker_(clock),
      service_(log, store, &tracker_,
               [cluster] { return MayServeSync(*cluster); }),
      agent_(std::make_unique<ReplicaAgent>(
          ReplicaAgentOptions{cluster->identity().node_id}, log, store)) {}

ReplicationManager::~ReplicationManager() { Stop(); }

absl::Status ReplicationManager::Start(const std::string& replicaof) {
  if (!replicaof.empty()) {
    absl::StatusOr<uint64_t> applied =
        cluster_->Apply(ReplicaofMap(cluster_->identity(), replicaof));
    if (!applied.ok()) return applied.status();
  }
  agent_->Follow(PrimaryToFollow(cluster_->View(false).table()));
  watcher_ = std::thread([this] { WatchRoles(); });
  return absl::OkStatus();
}

void ReplicationManager::Stop() {
  if (stop_.stopped()) return;
  stop_.Stop();
  if (watcher_.joinable()) watcher_.join();
  agent_->Stop();
  service_.Stop();
  tracker_.Stop();
}

std::string ReplicationManager::PrimaryToFollow(const RoutingTable& table) {
  if (table.local_shard == RoutingTable::kUnowned) return "";
  const RoutingTable::Shard& shard = table.shards[table.local_shard];
  if (shard.local_role != v1::REPLICA) return "";
  return shard.primary_address;
}

void ReplicationManager::WatchRoles() {
  while (stop_.SleepFor(kRoleCheckInterval)) {
    // One view per round: the primary and the limbo check must agree.
    const RoutingView view = cluster_->View(false);
    const RoutingTable& table = view.table();
    const std::string primary = PrimaryToFollow(table);
    // A replica whose shard has no known primary (failover in flight)
    // keeps following the old one until the map names the new primary.
    const bool in_limbo =
        primary.empty() && table.local_shard != RoutingTable::kUnowned &&
        table.shards[table.local_shard].local_role == v1::REPLICA;
    if (!in_limbo) agent_->Follow(primary);
  }
}

void ReplicationManager::WaitForReplicas(int needed, absl::Duration timeout,
                                         std::function<void(int)> done) {
  // The counter, not the contiguous end: every write that completed before
  // this call reserved an offset <= it, so an ack up to here covers them.
  tracker_.WaitForAcks(log_->reserved_offset(), needed, timeout,
                       std::move(done));
}

void ReplicationManager::FillStatus(v1::NodeStatus* status) const {
  status->set_replication_id(log_->replication_id());
  const uint64_t end = log_->end_offset();
  status->set_replication_offset(end);
  status->set_full_syncs_served(service_.full_syncs_served());
  status->set_partial_syncs_served(service_.partial_syncs_served());
  const absl::Time now = clock_->Now();
  for (const ReplicaTracker::Replica& r : tracker_.Replicas()) {
    v1::ReplicaLag* lag = status->add_replicas();
    lag->set_node_id(r.node_id);
    lag->set_peer(r.peer);
    lag->set_acked_offset(r.acked_offset);
    lag->set_full_sync_in_progress(r.full_sync_in_progress);
    const uint64_t behind = end > r.acked_offset ? end - r.acked_offset : 0;
    lag->set_lag_entries(behind);
    if (behind > 0) {
      absl::optional<absl::Time> since = log_->AppendTime(r.acked_offset + 1);
      if (since.has_value()) {
        lag->set_lag_seconds(absl::ToDoubleSeconds(
            std::max(now - *since, absl::ZeroDuration())));
      }
    }
  }
  const ReplicaAgentStatus agent = agent_->status();
  status->set_primary_address(agent.primary_address);
  status->set_primary_link_up(agent.link_up);
  status->set_full_syncs(agent.full_syncs);
  status->set_partial_syncs(agent.partial_syncs);
  status->set_replication_lag_entries(agent.lag_entries);
  status->set_replication_lag_seconds(agent.lag_seconds);
}

void ReplicationManager::FillHeartbeat(v1::HeartbeatRequest* heartbeat) const {
  heartbeat->set_replication_id(log_->replication_id());
  heartbeat->set_replication_offset(log_->end_offset());
  const ReplicaAgentStatus agent = agent_->status();
  heartbeat->set_replication_lag_seconds(agent.lag_seconds);
  // Only a replica's copy matters for promotion (coordinator/failover.h).
  heartbeat->set_replica_synced(agent.synced && !agent.primary_address.empty());
}

}  // namespace slotcache::node
