// The coordinator's state machine: node membership and health, shards and
// their slots and epochs, the published cluster map, operations and events.
// The gRPC service (coordinator_service.h) is a thin layer over it.
//
// Rules it keeps (docs/ARCHITECTURE.md §2, docs/COORDINATOR.md):
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
// Failover (coordinator_failover.cc, decisions in failover.h,
// docs/FAILOVER.md): at most one failover of the cluster runs at a time.
//   - Automatic: a primary marked FAILED stops getting leases (LeaseFor,
//     the one place that grants them); once its last lease is surely over
//     and the replicas reported again, the best replica is promoted with a
//     new config_epoch in one persisted commit, or the shard stays down
//     with a failover_failed event when no replica is eligible.
//   - Manual (StartFailover): the primary's lease renewal stops, its writes
//     are paused (bounded, longer than its last lease), the target catches
//     up to the exact offset, the switch commits, the pause ends.
//   - Each is an Operation. A failover commits in a single write, so one
//     found RUNNING after a restart never committed: it is marked FAILED
//     (rolled back, the shard keeps its primary) and, when the primary is
//     still down, failure handling starts a new one.
//
// Resharding (coordinator_migration.cc, plans in resharding.h,
// docs/RESHARDING.md): MigrateSlots, Rebalance and RemoveShard each start
// one operation whose planned moves are persisted before anything runs;
// its moves run one after the other on a thread of their own. At most one
// such operation runs at a time. A move commits in one persisted write
// (slots to the target, new epochs for both shards) only inside the
// source's bounded write pause minus a lease; anything failing before
// that rolls it back (AbortImport on the target's current primary,
// ResumeSlotWrites on the source). A failover of a shard of the move in
// flight and a move of a shard being failed over exclude each other.
//
// Thread-safety: all public methods are safe to call from any thread.
#ifndef SLOTCACHE_COORDINATOR_COORDINATOR_H_
#define SLOTCACHE_COORDINATOR_COORDINATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/stop_signal.h"
#include "coordinator/failover.h"
#include "coordinator/node_admin.h"
#include "coordinator/resharding.h"
#include "coordinator/state_store.h"
#include "proto/common.pb.h"
#include "proto/coordinator.pb.h"

namespace slotcache::coordinator {

struct CoordinatorOptions {
  // Defaults: fast on a LAN (a lost primary is replaced ~0.7 s after its
  // last heartbeat), tolerant of 4 lost heartbeats; see docs/FAILOVER.md.
  // How often nodes heartbeat (told to them at registration).
  absl::Duration heartbeat_interval = absl::Milliseconds(100);
  // A node whose last heartbeat is older than this is FAILED.
  absl::Duration node_timeout = absl::Milliseconds(500);
  // Write lease granted to a healthy primary with each heartbeat reply.
  absl::Duration primary_lease = absl::Milliseconds(500);
  // Added to the old primary's lease before a promotion (failover.h).
  absl::Duration lease_drift_margin = absl::Milliseconds(100);
  // A manual failover whose target has not caught up (or whose switch
  // could not be made) within this is rolled back.
  absl::Duration manual_failover_timeout = absl::Seconds(5);
  // Not owned; must outlive the coordinator. Manual failover needs it
  // (it pauses the primary and polls the target); null refuses it.
  NodeAdmin* node_admin = nullptr;
  // Not owned; the admin calls of slot migrations (longer deadlines than
  // a failover's). Null: node_admin's are used; both null refuse them.
  NodeAdmin* migration_admin = nullptr;
  // Slot migration (docs/RESHARDING.md). How long the source pauses
  // writes to the moving slots at the cut-over (D). A move commits only
  // before pause start + D - primary_lease - lease_drift_margin, so this
  // bounds the time the target has to catch up, finish and have its
  // replicas acknowledge.
  absl::Duration migration_pause = absl::Seconds(2);
  // The cut-over starts once the target is at most this far (in source
  // log offsets) behind the source.
  uint64_t migration_close_behind = 1000;
  // A move whose target has not come that close within this (snapshot and
  // tail) is rolled back.
  absl::Duration migration_catch_up_timeout = absl::Minutes(10);
  // How often a move polls its target's import status.
  absl::Duration migration_poll = absl::Milliseconds(5);
  // A rollback retries AbortImport / ResumeSlotWrites this many times,
  // this far apart (the target may be mid-failover, without a primary).
  int migration_rollback_attempts = 10;
  absl::Duration migration_retry_interval = absl::Milliseconds(200);
  // After a (re)start, nodes get this long to reconnect before failure
  // detection starts (they back off while the coordinator was down).
  absl::Duration startup_grace = absl::Seconds(3);
  // Not owned; must outlive the coordinator.
  Clock* clock = Clock::Real();
  // Runs (without the coordinator's lock held) for each node newly marked
  // FAILED (tests and metrics; failover itself is built in).
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

  // Starts a manual failover of request.shard_id() and returns its
  // operation (RUNNING); the work runs on a thread of its own. Errors
  // (nothing started): NOT_FOUND / INVALID_ARGUMENT for an unknown shard
  // or a target that is not an eligible replica of it,
  // FAILED_PRECONDITION while another failover runs or without a healthy
  // primary (the automatic failover handles that case).
  absl::StatusOr<v1::FailoverResponse> StartFailover(
      const v1::FailoverRequest& request);

  // Resharding (docs/RESHARDING.md, coordinator_migration.cc). Each of
  // MigrateSlots, Rebalance (unless dry_run or nothing to do) and
  // RemoveShard starts one operation (RUNNING) and returns at once.
  // Errors (nothing started): INVALID_ARGUMENT for bad slots or shapes,
  // NOT_FOUND for an unknown shard, FAILED_PRECONDITION while another
  // slot-moving operation or a failover of a shard involved runs.
  absl::StatusOr<v1::MigrateSlotsResponse> MigrateSlots(
      const v1::MigrateSlotsRequest& request);
  // by=keys|bytes asks each shard's primary for its keys per slot.
  absl::StatusOr<v1::RebalanceResponse> Rebalance(
      const v1::RebalanceRequest& request);
  // Forms a new shard without slots from registered nodes in no shard.
  // FAILED_PRECONDITION (with how many nodes are needed) when too few.
  absl::StatusOr<v1::AddShardResponse> AddShard(
      const v1::AddShardRequest& request);
  // Drains the shard's slots to the others, then takes it out of the map.
  absl::StatusOr<v1::RemoveShardResponse> RemoveShard(
      const v1::RemoveShardRequest& request);
  // NOT_FOUND for an unknown id.
  absl::StatusOr<v1::Operation> GetOperation(const std::string& id) const;
  // Asks a RUNNING slot-moving operation to roll back its move in flight
  // and stop; returns it as it is now. FAILED_PRECONDITION when it already
  // finished or is not one that can be cancelled.
  absl::StatusOr<v1::Operation> CancelOperation(const std::string& id);

  absl::StatusOr<v1::ListEventsResponse> ListEvents(
      const v1::ListEventsRequest& request) const;
  v1::ListOperationsResponse ListOperations() const;

  // Operations run outside this class (backup and restore,
  // coordinator/backup_manager.h; coordinator_operations.cc). Begin
  // persists a RUNNING operation of `kind` with `message` and the event
  // `event_kind` (a new id; NOT an operation a restart can resume: one
  // found RUNNING after a restart is marked FAILED). Progress is kept in
  // memory only; Finish persists the outcome with its event.
  absl::StatusOr<v1::Operation> BeginOperation(const std::string& kind,
                                               const std::string& message,
                                               const std::string& progress,
                                               const std::string& event_kind,
                                               const std::string& event);
  void SetOperationProgress(const std::string& id, const std::string& progress);
  absl::Status FinishOperation(const std::string& id,
                               v1::Operation::State state,
                               const std::string& outcome,
                               const std::string& event_kind,
                               const std::string& event);
  // Records one event (no other change).
  absl::Status RecordEvent(const std::string& kind, const std::string& message);

  // The published map (never null; version 0 before anything happened).
  std::shared_ptr<const v1::ClusterMap> CurrentMap() const;

  // Waits up to `timeout` (real time) for a map newer than `version`.
  // Returns null on timeout or after Shutdown().
  std::shared_ptr<const v1::ClusterMap> WaitForMapAfter(
      uint64_t version, absl::Duration timeout) const;

  // One tick of failure handling: marks nodes FAILED whose last heartbeat
  // is older than node_timeout, then starts, advances or finishes the
  // automatic failovers. Called periodically by the failure-detection
  // thread, and by tests.
  void DetectFailures();

  // Starts a thread that calls DetectFailures() every
  // min(heartbeat_interval, node_timeout / 4) / 2. Stopped by Shutdown().
  void StartFailureDetection();

  // Wakes every WaitForMapAfter(), stops the failure-detection thread and
  // waits for a running manual failover to end (rolled back if unfinished).
  // A resharding move in flight is left as a crash would leave it (its
  // pause ends by itself): the next start rolls it back.
  void Shutdown();

 private:
  // In-memory liveness; not persisted (a restart starts everyone fresh).
  struct Liveness {
    absl::Time last_seen;
    v1::HeartbeatRequest last_report;
    // When the coordinator last granted this node a lease. After a
    // restart: the restart time (a lease may have been granted just
    // before it).
    absl::Time last_lease_grant = absl::InfinitePast();
  };
  // A failover in progress (at most one; keyed by shard in failovers_).
  struct Failover {
    std::string op_id;
    std::string shard_id;
    std::string old_primary;
    bool manual = false;
    absl::Time started;
    // The old primary's last lease is surely over (failover.h).
    absl::Time lease_over;
    // The old primary's last report: its history and offset.
    std::string history_id;
    uint64_t primary_offset = 0;
  };
  // The slot-moving operation in flight (at most one).
  struct Resharding {
    std::string op_id;
    // Why the move in flight must roll back (cancel, automatic failover
    // of one of its shards); empty while it may go on.
    std::string abort_reason;
    // Shards of the move in flight (empty between moves).
    std::string from_shard;
    std::string to_shard;
    // Counters of the moves done, for MigrationProgress.
    uint64_t keys_done = 0;
    uint64_t bytes_done = 0;
    uint64_t keys_total_done = 0;
  };
  // A move to roll back after a restart (RUNNING operation found).
  struct PendingRollback {
    std::string migration_id;
    v1::SlotMove move;
  };
  // One move as the runner runs it (coordinator_migration.cc).
  struct MoveRun;
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
  // The write lease (zero for none) a node gets with a heartbeat reply.
  absl::Duration LeaseForLocked(const v1::NodeInfo& node) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Failover steps (coordinator_failover.cc).
  const v1::ShardInfo* FindShardLocked(const std::string& shard_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<ReplicaReport> ReportsLocked(const v1::ShardInfo& shard,
                                           absl::Time fresh_after) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Persists a RUNNING failover operation with its event and registers
  // it (the lease renewal of `old_primary` stops from here on). The shard
  // may already have no primary (a restarted primary was demoted, or an
  // earlier failover failed): `old_primary` is then that node or "".
  absl::StatusOr<Failover> BeginFailoverLocked(const v1::ShardInfo& shard,
                                               const std::string& old_primary,
                                               bool manual,
                                               const std::string& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits the promotion of `chosen`: new epoch, roles, operation
  // SUCCEEDED, event failover_completed; then publishes the map.
  absl::Status CommitPromotionLocked(const Failover& failover,
                                     const ReplicaReport& chosen,
                                     const std::string& detail)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends `failover` as FAILED with `why` (event failover_failed); the
  // shard keeps its primary.
  void FailFailoverLocked(const Failover& failover, const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetProgressLocked(const Failover& failover, const std::string& progress)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts failovers of shards whose primary is FAILED and advances them.
  void AdvanceFailoversLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The manual failover's steps, on its own thread.
  void RunManualFailover(Failover failover, std::string target);
  // Marks operations left RUNNING by an earlier process FAILED (failover)
  // or queues their rollback (resharding: RecoverReshardingLocked).
  void RollBackInterruptedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Resharding steps (coordinator_migration.cc).
  void RecoverReshardingLocked(const v1::Operation& op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Why a move between the two shards may not start now ("" when it may).
  std::string MoveBlockerLocked(const std::string& from,
                                const std::string& to) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // FAILED_PRECONDITION while a slot-moving operation runs.
  absl::Status CheckNoReshardingLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Persists a RUNNING operation of `kind` with `moves` and registers it.
  absl::StatusOr<v1::Operation> BeginReshardingLocked(
      const std::string& kind, const std::string& shard_id,
      const std::string& request, std::vector<v1::SlotMove> moves)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::Operation* FindOperationLocked(const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends the operation in flight with `state` and `outcome`.
  void FinishReshardingLocked(v1::Operation::State state,
                              const std::string& outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the runner thread (`run` is RunResharding or the recovery).
  void StartMover(std::function<void()> run) ABSL_LOCKS_EXCLUDED(mu_);
  void RunResharding();
  // Runs one move through steps 1-5; an error means it was rolled back
  // (its message says why), ABORTED that the coordinator is stopping.
  absl::Status RunMove(MoveRun& run);
  // Why `run` must stop now ("" when it may go on).
  std::string InterruptionLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CommitMoveLocked(MoveRun& run, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Step 6: AbortImport on the target's current primary and
  // ResumeSlotWrites on the source's, retried; "" when both succeeded,
  // else what is left to clean.
  std::string RollBackMove(const std::string& migration_id,
                           const v1::SlotMove& move);
  // options_.migration_admin, else options_.node_admin (may be null).
  NodeAdmin* MigrationAdmin() const;
  // The gRPC address of the shard's primary ("" when it has none).
  std::string PrimaryAddressLocked(const std::string& shard_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateMigrationLocked(const std::string& step,
                             const std::string& progress,
                             const v1::ImportStatus* status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes the drained shard out of the map (remove_shard's last step).
  absl::Status CommitRemovalLocked(const std::string& shard_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecoverInterrupted();
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
  // Keyed by shard id; at most one entry (one failover at a time).
  absl::flat_hash_map<std::string, Failover> failovers_ ABSL_GUARDED_BY(mu_);
  // Shards whose automatic failover found no eligible replica: retried
  // silently (no new events) until a replica becomes eligible.
  absl::flat_hash_set<std::string> down_shards_ ABSL_GUARDED_BY(mu_);

  // The slot-moving operation running, if any.
  std::optional<Resharding> resharding_ ABSL_GUARDED_BY(mu_);
  // Moves of an interrupted operation to roll back (RecoverInterrupted).
  std::vector<PendingRollback> recovered_ ABSL_GUARDED_BY(mu_);

  StopSignal stop_;
  std::thread detector_;
  // Taken before mu_. The last manual failover's thread (joined by
  // Shutdown or when the next one starts).
  absl::Mutex manual_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::thread manual_ ABSL_GUARDED_BY(manual_mu_);
  // Taken before mu_. The resharding runner's thread.
  absl::Mutex mover_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::thread mover_ ABSL_GUARDED_BY(mover_mu_);
};

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_COORDINATOR_H_
