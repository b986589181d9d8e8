// RestoreSnapshots: the node side of a cluster restore. Loads the keys of
// some slots from several shard snapshots into a Store (the restored
// cluster may have another shard count than the backup, so one snapshot's
// keys spread over several new shards, and one new shard loads from
// several snapshots).
//
// Verification first: every snapshot is opened (manifest, format, every
// file's size and CRC32C; SnapshotReader::Open) before the first key is
// stored; if any is bad, or two of them hold the same requested slot,
// nothing is loaded. Keys past their expiry are skipped. Keys are stored
// with Store::Restore from the calling thread, outside any
// ReplicationLog::ApplyingScope: they are logged local writes, so the
// shard's replicas get them by replication. So that no replica falls out
// of the backlog (and needs a full sync) because of a restore, the load
// waits while the slowest replica is more than max_replica_lag_bytes of
// the restore's writes behind (as node/migration/importer.cc does).
//
// Thread-safety: RestoreSnapshots may run concurrently with any store and
// log calls; two restores into the same slots at once are the caller's
// to prevent (SnapshotServiceImpl runs one at a time).
#ifndef SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_RESTORE_H_
#define SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_RESTORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"
#include "proto/common.pb.h"

namespace slotcache::node::persistence {

struct RestoreOptions {
  // The slots to load (required).
  std::vector<v1::SlotRange> slots;
  // The offsets the shard's replicas acknowledged (one per connected
  // replica); unset or empty = no throttle.
  std::function<std::vector<uint64_t>()> replica_acked_offsets;
  // Most bytes of the restore's writes the slowest replica may be behind.
  uint64_t max_replica_lag_bytes = 16ull << 20;
  absl::Duration throttle_poll = absl::Milliseconds(5);
  // Not owned; when set and true, the load stops (CANCELLED).
  const std::atomic<bool>* stop = nullptr;
};

struct RestoreResult {
  uint64_t keys_loaded = 0;
  // Records whose expiry had passed by the store's clock: not loaded.
  uint64_t keys_expired = 0;
  // Bytes of the loaded keys, values and hash fields.
  uint64_t bytes_loaded = 0;
};

// INVALID_ARGUMENT for no directory, a relative path, bad or missing
// slots, or two snapshots with a requested slot in common;
// FAILED_PRECONDITION for a snapshot that does not verify (the message
// names it and its bad file) or when `store` already holds keys of the
// requested slots; an error from Restore (e.g. OOM) stops the load and
// names how many keys were stored.
absl::StatusOr<RestoreResult> RestoreSnapshots(
    const std::vector<std::string>& directories, storage::Store* store,
    ReplicationLog* log, const RestoreOptions& options);

}  // namespace slotcache::node::persistence

#endif  // SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_RESTORE_H_
