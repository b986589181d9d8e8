// BackupManager: cluster backup and restore as coordinator operations
// (docs/PERSISTENCE.md, "Cluster backup and restore"; DESIGN §7).
//
//   - CreateBackup starts a "backup" operation: every shard snapshots in
//     parallel, on a healthy replica (the primary when the replica refuses
//     with FAILED_PRECONDITION or none is up), straight into the backup
//     location; then backup.json is written last. Any shard failing fails
//     the operation and removes what was written: nothing is listed.
//   - Scheduled backups every `interval` keep the newest `retention`
//     scheduled ones (manual backups are never deleted by retention).
//   - RestoreBackup checks the cluster manifest (format, every shard's
//     snapshot present and matching) before anything, refuses when a
//     cluster exists, then starts a "restore_backup" operation: verify
//     every file's checksum, create the cluster as CreateCluster does,
//     then LoadSnapshots on each new primary with all the backup's
//     snapshots and the primary's own slots (any shard count works).
//
// At most one backup and one restore run at a time; each on a thread of
// its own, joined by Shutdown().
//
// Thread-safety: all public methods are safe to call from any thread.
#ifndef SLOTCACHE_COORDINATOR_BACKUP_MANAGER_H_
#define SLOTCACHE_COORDINATOR_BACKUP_MANAGER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/stop_signal.h"
#include "coordinator/backup_store.h"
#include "coordinator/coordinator.h"
#include "coordinator/node_admin.h"
#include "coordinator/snapshot_client.h"
#include "proto/coordinator.pb.h"

namespace slotcache::coordinator {

struct BackupOptions {
  // Not owned; must outlive the manager.
  Coordinator* coordinator = nullptr;
  BackupStore* store = nullptr;
  SnapshotClient* snapshots = nullptr;
  // Optional: with it, a replica snapshots only once it applied the
  // primary's offset at the backup's start (so every write acknowledged
  // before it is in the backup); one that does not catch up within
  // `catch_up_timeout` is skipped for the primary.
  NodeAdmin* node_admin = nullptr;
  absl::Duration catch_up_timeout = absl::Seconds(10);
  Clock* clock = Clock::Real();
  // Scheduled backups: every `interval` (zero: off), keeping the newest
  // `retention` scheduled backups (0: keep all).
  absl::Duration interval = absl::ZeroDuration();
  int retention = 0;
  // After CreateCluster, LoadSnapshots on a new primary that does not yet
  // know it is one (FAILED_PRECONDITION) is retried this long, this often.
  absl::Duration primary_wait = absl::Seconds(30);
  absl::Duration retry_interval = absl::Milliseconds(100);
};

class BackupManager {
 public:
  explicit BackupManager(const BackupOptions& options);
  BackupManager(const BackupManager&) = delete;
  BackupManager& operator=(const BackupManager&) = delete;
  ~BackupManager();

  // Starts a "backup" (trigger "manual"). INVALID_ARGUMENT for a bad name,
  // ALREADY_EXISTS for a used one, FAILED_PRECONDITION without a cluster
  // or while another backup or a restore runs.
  absl::StatusOr<v1::CreateBackupResponse> CreateBackup(
      const v1::CreateBackupRequest& request);
  absl::StatusOr<v1::ListBackupsResponse> ListBackups();
  absl::StatusOr<v1::BackupInfo> DescribeBackup(const std::string& name);
  // NOT_FOUND for an unknown name; FAILED_PRECONDITION while it is being
  // written or restored.
  absl::Status DeleteBackup(const std::string& name);
  absl::StatusOr<v1::RestoreBackupResponse> RestoreBackup(
      const v1::RestoreBackupRequest& request);

  // One scheduled backup, run to its end, then the retention: what the
  // scheduler thread does each interval (and tests call directly).
  absl::StatusOr<v1::Operation> RunScheduledBackup();
  // Starts the scheduler thread when `interval` is set.
  void StartScheduler();
  // Waits until no backup or restore runs (tests); false on timeout.
  bool WaitIdle(absl::Duration timeout);
  // Stops the scheduler and joins the running operations.
  void Shutdown();

 private:
  struct ShardJob;
  absl::StatusOr<v1::Operation> StartBackup(const std::string& name,
                                            const std::string& trigger);
  void RunBackup(v1::Operation op, std::string name, std::string trigger,
                 std::shared_ptr<const v1::ClusterMap> map);
  // One shard's snapshot: replicas first, then the primary.
  absl::StatusOr<v1::SnapshotManifest> SnapshotShard(
      const v1::ClusterMap& map, const v1::ShardInfo& shard,
      const std::string& name, const std::string& directory,
      std::string* node_id);
  void RunRestore(v1::Operation op, v1::BackupInfo info,
                  v1::RestoreBackupRequest request);
  // Deletes scheduled backups beyond the newest `retention`.
  void ApplyRetention();
  void SchedulerLoop();
  // Records the end of the running operation and wakes WaitIdle.
  void Done(bool restore);

  const BackupOptions options_;

  absl::Mutex mu_;
  // The backup being written (empty: none) and the one being restored.
  std::string backup_running_ ABSL_GUARDED_BY(mu_);
  std::string restore_running_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  // The last backup's and restore's threads (a new one joins the
  // finished one it replaces).
  std::thread backup_thread_ ABSL_GUARDED_BY(mu_);
  std::thread restore_thread_ ABSL_GUARDED_BY(mu_);

  StopSignal stop_;
  std::thread scheduler_;
};

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_BACKUP_MANAGER_H_
