// BackupStore: where cluster backups live (docs/PERSISTENCE.md, "Cluster
// backup and restore"). A backup NAME is one shard snapshot per shard, in
// <location>/NAME/<shard_id>/ (written by the nodes themselves), plus the
// cluster manifest <location>/NAME/backup.json (BackupInfo as JSON), which
// is written last and atomically: a backup without it is incomplete and
// never listed.
//
// The directory backend (file://PATH) is the one built; an S3 backend
// would stage shard snapshots locally and upload them, so the interface
// speaks of backups and shard snapshots, not of files.
//
// Thread-safety: implementations are safe to call from any thread.
#ifndef SLOTCACHE_COORDINATOR_BACKUP_STORE_H_
#define SLOTCACHE_COORDINATOR_BACKUP_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/coordinator.pb.h"
#include "proto/persistence.pb.h"

namespace slotcache::coordinator {

// The cluster manifest's format version this build writes and reads.
inline constexpr uint32_t kBackupFormatVersion = 1;
inline constexpr char kBackupManifestName[] = "backup.json";

class BackupStore {
 public:
  virtual ~BackupStore() = default;

  // The location as given (e.g. "file:///var/lib/slotcache/backups").
  virtual std::string Location() const = 0;
  // The location of one backup (e.g. "file:///var/.../backups/NAME").
  virtual std::string BackupLocation(const std::string& name) const = 0;

  // Complete backups (with a readable backup.json), oldest first.
  virtual absl::StatusOr<std::vector<v1::BackupInfo>> List() = 0;
  // True when anything (complete or not) is stored under `name`.
  virtual bool Exists(const std::string& name) = 0;
  // NOT_FOUND (with a hint) when `name` has no backup.json; DATA_LOSS when
  // it does not parse.
  virtual absl::StatusOr<v1::BackupInfo> ReadManifest(
      const std::string& name) = 0;
  // Writes backup.json (temp file + rename): the backup is complete.
  virtual absl::Status WriteManifest(const v1::BackupInfo& info) = 0;
  // Removes everything stored under `name` (NOT_FOUND when nothing is).
  virtual absl::Status Delete(const std::string& name) = 0;

  // Creates the backup's folder and returns the absolute path a node
  // writes shard `shard_id`'s snapshot into (not existing yet; an
  // earlier partial attempt there is removed). The manifest records the
  // path relative to the backup: `shard_id`.
  virtual absl::StatusOr<std::string> PrepareShardDirectory(
      const std::string& name, const std::string& shard_id) = 0;
  // The absolute path of a stored shard snapshot, for LoadSnapshots.
  virtual std::string ShardDirectory(const std::string& name,
                                     const v1::ShardBackup& shard) const = 0;
  // Checks that the shard's snapshot is present and matches `shard`
  // (cheap: its manifest only) or, with `full`, also every file's size
  // and CRC32C. FAILED_PRECONDITION / DATA_LOSS / NOT_FOUND saying what
  // is wrong.
  // Returns the snapshot's manifest.
  virtual absl::StatusOr<v1::SnapshotManifest> VerifyShard(
      const std::string& name, const v1::ShardBackup& shard, bool full) = 0;
};

// `location` is file://ABSOLUTE_PATH (created if missing).
absl::StatusOr<std::unique_ptr<BackupStore>> OpenBackupStore(
    const std::string& location);

// Backup names: 1-64 of letters, digits, '-', '_', '.', not starting with
// '.'. INVALID_ARGUMENT otherwise.
absl::Status ValidateBackupName(const std::string& name);

// The CRC32C (8 lowercase hex digits) a SnapshotManifest carries over its
// other fields (proto/persistence.proto manifest_crc32c).
std::string SnapshotManifestChecksum(const v1::SnapshotManifest& manifest);
std::string Crc32cHexOf(const std::string& bytes);

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_BACKUP_STORE_H_
