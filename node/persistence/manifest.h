// The snapshot manifest (proto/persistence.proto SnapshotManifest): listing
// and checksumming a snapshot's database files, writing the manifest last
// and atomically, and verifying a snapshot before anything reads it.
//
// What "verified" means: manifest.json parses, names this format and a
// version this build knows, its own checksum matches, and every file it
// lists is present with the listed size and CRC32C. Any failure is
// DATA_LOSS (or NOT_FOUND for a missing manifest) naming the file and
// what to do.
//
// Thread-safety: plain functions over files.
#ifndef SLOTCACHE_NODE_PERSISTENCE_MANIFEST_H_
#define SLOTCACHE_NODE_PERSISTENCE_MANIFEST_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/persistence.pb.h"

namespace slotcache::node::persistence {

// The database files of the snapshot in `snapshot_dir` with sizes and
// checksums, sorted by name (paths relative to `snapshot_dir`). With
// `sync`, each file is fsync'ed as it is read (the writer's last step
// before the manifest).
absl::StatusOr<std::vector<v1::SnapshotFile>> ListDatabaseFiles(
    const std::string& snapshot_dir, bool sync);

// Fills format and manifest_crc32c, then writes `manifest` as
// <snapshot_dir>/manifest.json via a synced temporary file and a rename,
// and syncs the directory: once this returns the snapshot is complete and
// durable; before, the directory has no manifest.
absl::Status WriteManifest(const std::string& snapshot_dir,
                           v1::SnapshotManifest manifest);

// Reads and checks manifest.json alone (format, version, own checksum).
absl::StatusOr<v1::SnapshotManifest> ReadManifest(
    const std::string& snapshot_dir);

// ReadManifest, then checks every listed file's presence, size and
// CRC32C. Reads every byte of the database once.
absl::StatusOr<v1::SnapshotManifest> VerifySnapshot(
    const std::string& snapshot_dir);

// The checksum the manifest carries over its other fields.
std::string ManifestChecksum(const v1::SnapshotManifest& manifest);

}  // namespace slotcache::node::persistence

#endif  // SLOTCACHE_NODE_PERSISTENCE_MANIFEST_H_
