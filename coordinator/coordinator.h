// The coordinator's state machine: node membership and health, shards and
// their slots and epochs, the published cluster map, operations and events.
// The gRPC service (coordinator_service.h) is a thin layer over it.
//
// Rules it keeps (DESIGN §2, §5):
//   - Every change is written to the StateStore (atomic, synced) *before*
//     it is published, so the map version and config epochs it hands out
//     never go backwards, also across restarts.
//   - The published map is an immutable snapshot (shared_ptr<const>),
//     replaced whole with version + 1 on any change of membership, roles,
//     slots, addresses or health.
//   - Failure detection uses the injected Clock: DetectFailures() marks
//     nodes FAILED once their last heartbeat is older than node_timeout, so
//     tests drive it with a FakeClock instead of sleeping.
//
// Hooks for the failover issue (not implemented here, on purpose):
//   - LeaseFor() is the one place that decides a primary's write lease.
//   - CoordinatorOptions::on_node_failed runs for every node newly marked
//     FAILED; promotion will hang off it.
//
// Thread-safety: all public methods are safe to call from any thread.
#ifndef SLOTCACHE_COORDINATOR_COORDINATOR_H_
#define SLOTCACHE_COORDINATOR_COORDINATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "coordinator/state_store.h"
#include "proto/common.pb.h"
#include "proto/coordinator.pb.h"

namespace slotcache::coordinator {

struct CoordinatorOptions {
  // How often nodes heartbeat (told to them at registration).
  absl::Duration heartbeat_interval = absl::Milliseconds(200);
  // A node whose last heartbeat is older than this is FAILED.
  absl::Duration node_timeout = absl::Milliseconds(1000);
  // Write lease granted to a healthy primary with each heartbeat reply.
  absl::Duration primary_lease = absl::Milliseconds(1000);
  // After a (re)start, nodes get this long to reconnect before failure
  // detection starts (they back off while the coordinator was down).
  absl::Duration startup_grace = absl::Seconds(3);
  // Not owned; must outlive the coordinator.
  Clock* clock = Clock::Real();
  // Runs (without the coordinator's lock held) for each node newly marked
  // FAILED. The failover issue hooks promotion here.
  std::function<void(const v1::NodeInfo&)> on_node_failed;
};

class Coordinator {
 public:
  // Loads the state from `store` and publishes the stored map.
  static absl::StatusOr<std::unique_ptr<Coordinator>> Create(
      std::unique_ptr<StateStore> store, const CoordinatorOptions& options);

  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;
  ~Coordinator();

  // First registration (empty node_id) assigns a new stable id. A known id
  // keeps its identity, role and shard; a changed address or AZ is updated.
  absl::StatusOr<v1::RegisterNodeResponse> RegisterNode(
      const v1::RegisterNodeRequest& request);

  // Records a heartbeat. NOT_FOUND for an unknown node id (the node must
  // register again). The reply carries the lease and, when the node's map
  // is older than the current one, the current map.
  absl::StatusOr<v1::HeartbeatResponse> Heartbeat(
      const v1::HeartbeatRequest& request);

  // Creates the cluster from the registered, healthy, unassigned nodes.
  absl::StatusOr<v1::CreateClusterResponse> CreateCluster(
      const v1::CreateClusterRequest& request);

  // The current map plus live per-node fields (last heartbeat, offset).
  v1::ClusterMap Describe() const;

  absl::StatusOr<v1::ListEventsResponse> ListEvents(
      const v1::ListEventsRequest& request) const;
  v1::ListOperationsResponse ListOperations() const;

  // The published map (never null; version 0 before anything happened).
  std::shared_ptr<const v1::ClusterMap> CurrentMap() const;

  // Waits up to `timeout` (real time) for a map newer than `version`.
  // Returns null on timeout or after Shutdown().
  std::shared_ptr<const v1::ClusterMap> WaitForMapAfter(
      uint64_t version, absl::Duration timeout) const;

  // Marks nodes FAILED whose last heartbeat is older than node_timeout.
  // Called periodically by the failure-detection thread, and by tests.
  void DetectFailures();

  // Starts a thread that calls DetectFailures() every
  // min(heartbeat_interval, node_timeout / 4). Stopped by Shutdown().
  void StartFailureDetection();

  // Wakes every WaitForMapAfter() and stops the failure-detection thread.
  void Shutdown();

  // The write lease (zero for none) a node gets with a heartbeat reply.
  absl::Duration LeaseFor(const v1::NodeInfo& node) const;

 private:
  // In-memory liveness; not persisted (a restart starts everyone fresh).
  struct Liveness {
    absl::Time last_seen;
    v1::HeartbeatRequest last_report;
  };
  struct PendingEvent {
    std::string kind;
    std::string message;
  };

  Coordinator(std::unique_ptr<StateStore> store,
              const CoordinatorOptions& options);

  // Persists `update` together with `events` (numbered here) and the meta
  // counters (map version + 1 when `new_map`), then applies the records in
  // memory and, when `new_map`, publishes a new map. Nothing changes in
  // memory when the write fails.
  absl::Status CommitLocked(StateUpdate update,
                            std::vector<PendingEvent> events, bool new_map)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Health a node should show once it is alive.
  static v1::Health AliveHealth(const v1::NodeInfo& node);
  void FailureDetectionLoop();

  // Constant after construction.
  const CoordinatorOptions options_;
  const std::unique_ptr<StateStore> store_;

  mutable absl::Mutex mu_;
  StoredMeta meta_ ABSL_GUARDED_BY(mu_);
  // Keyed by node id.
  absl::flat_hash_map<std::string, v1::NodeInfo> nodes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Liveness> liveness_ ABSL_GUARDED_BY(mu_);
  // In creation order.
  std::vector<v1::ShardInfo> shards_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Operation> operations_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const v1::ClusterMap> map_ ABSL_GUARDED_BY(mu_);
  // Failure detection waits until this time after a (re)start.
  absl::Time detect_after_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;

  std::thread detector_;
};

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_COORDINATOR_H_
