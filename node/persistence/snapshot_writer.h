// SnapshotWriter: writes a node's keys (in a set of slots) into a new
// snapshot directory (node/persistence/snapshot_format.h), consistent at an
// exact offset of the node's replication log, without pausing the store.
//
// How (the full argument is in docs/PERSISTENCE.md): switch the log's
// backlog on and note its end O; walk the slots with Store::ScanSlot while
// writes go on (a fuzzy copy); note the highest offset R any write has
// reserved; then apply the log's entries after O, in order, up to some
// E >= R (set = put, deleted_key = delete, flush_all = delete everything).
// Entries are idempotent whole-key states, so the database then equals the
// store at offset E, as a replica's full sync does. If the backlog drops
// entries after O before they were applied, the snapshot fails
// (RESOURCE_EXHAUSTED: raise --repl_backlog_bytes).
//
// The walk's records go, sorted per slot, straight into SST files that are
// ingested into the database (node/persistence/database_builder.h); the
// tail is written on top with the WAL off; the database is flushed and
// every file fsync'ed at the end; the manifest is written last. A failure
// removes what was written (the directory is left as it was found); a
// crash leaves a directory without a manifest, which no reader accepts.
//
// On a replica the same holds with the primary's offsets: the agent
// applies and records each entry as one step against
// ReplicationLog::Checkpoint(), which the writer reads at the end of the
// walk; a snapshot is refused while a full sync loads the store and
// aborted when one starts during it.
//
// Thread-safety: WriteSnapshot may run concurrently with any store and log
// calls. Two snapshots into the same directory are not allowed (the second
// finds it not empty).
#ifndef SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_WRITER_H_
#define SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"
#include "proto/common.pb.h"
#include "proto/persistence.pb.h"

namespace slotcache::node::persistence {

// What the snapshot is of (recorded in the manifest).
struct SnapshotTarget {
  // Must not exist yet, or be an empty directory; its parent must exist.
  std::string directory;
  std::string cluster_id;
  std::string shard_id;
  std::string node_id;
  // Only keys of these slots are written; empty = every slot.
  std::vector<v1::SlotRange> slots;
  uint64_t config_epoch = 0;
};

struct SnapshotWriterOptions {
  // Bytes of records per RocksDB WriteBatch of the tail.
  uint64_t batch_bytes = 4ull << 20;
  // The walk writes SST files of about this size (database_builder.h).
  uint64_t target_file_bytes = 64ull << 20;
  // Most bytes of one slot's records sorted at once (a bigger slot, e.g.
  // keys sharing one hash tag, is written as several sorted runs).
  uint64_t max_sort_bytes = 64ull << 20;
  // Compact the database into sorted, non-overlapping files at the end:
  // slower to write, a little smaller and faster to read (see the numbers
  // in docs/PERSISTENCE.md).
  bool compact = false;
  // How long the writer waits for the log's end to reach the offset every
  // write seen by the walk had reserved (normally microseconds: a writer
  // between reserving its offset and staging its entry).
  absl::Duration tail_timeout = absl::Seconds(10);
  // Tests: runs after the walk, before the tail is read (to make writes
  // land between the two deterministically).
  std::function<void()> after_walk;
};

// Writes the snapshot and returns its manifest (also in
// <directory>/manifest.json). INVALID_ARGUMENT for a bad target,
// FAILED_PRECONDITION when the directory is not empty or a replica's full
// sync is loading the store, RESOURCE_EXHAUSTED
// when the backlog overran the snapshot's start, ABORTED when the log
// started another history or a full sync meanwhile (retry),
// INTERNAL for I/O errors.
absl::StatusOr<v1::SnapshotManifest> WriteSnapshot(
    storage::Store* store, ReplicationLog* log, const SnapshotTarget& target,
    const SnapshotWriterOptions& options = SnapshotWriterOptions());

}  // namespace slotcache::node::persistence

#endif  // SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_WRITER_H_
