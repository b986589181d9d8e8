// ReplicationLog: the node's replication history. On a primary it turns
// every change the store reports (storage::ChangeListener) into a typed log
// entry with a monotonically increasing offset, under a replication id, and
// keeps the most recent entries in a bounded in-memory backlog from which
// replicas resume (partial resync). On a replica it records the entries it
// applied, with the primary's id and offsets, so that after a promotion the
// other replicas can continue from it.
//
// What is logged: the resulting state of each changed key, read from the
// store's view under the key's stripe lock (LogEntry.set with the whole
// record, LogEntry.deleted_key), and FLUSHALL. Entries are idempotent
// state assignments, so relative TTLs, INCRBYFLOAT, SET ... GET, NX/XX and
// the like need no special case, and the replica never evaluates anything
// against its own clock.
//
// Ordering without a global lock on the write path (the argument is in
// docs/REPLICATION.md and next to the code): a writer, inside the store's
// stripe lock, reserves its offset with one fetch_add on an atomic counter
// and, if the backlog is on, pushes (offset, entry) into one of
// kStagingShards small staging vectors. Readers (the Sync pump, lag and
// WAIT bookkeeping) drain the shards under mu_ into the ordered backlog;
// an entry ahead of a gap (an offset reserved but not pushed yet) waits
// there until the gap fills, so readers only ever see the contiguous
// prefix. Per-key order is the stripe lock's order.
//
// Memory: the backlog holds entries up to `backlog_bytes` (an estimate of
// their size); older entries are dropped. Until the first replica asks for
// a sync the backlog stays off: a write costs one fetch_add and nothing is
// copied (like Redis, which creates its backlog on the first replica).
//
// Thread-safety: all methods may be called from any thread. The
// ChangeListener calls run under the store's stripe locks and never wait
// for a reader.
#ifndef SLOTCACHE_NODE_REPLICATION_REPLICATION_LOG_H_
#define SLOTCACHE_NODE_REPLICATION_REPLICATION_LOG_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "node/storage/store.h"
#include "proto/replication.pb.h"

namespace slotcache::node {

struct ReplicationLogOptions {
  // Most bytes of entries kept for partial resyncs.
  uint64_t backlog_bytes = 64ull << 20;
  // Not owned. Entry append times (replica lag in seconds).
  Clock* clock = Clock::Real();
};

class ReplicationLog final : public storage::ChangeListener {
 public:
  explicit ReplicationLog(ReplicationLogOptions options);

  ReplicationLog(const ReplicationLog&) = delete;
  ReplicationLog& operator=(const ReplicationLog&) = delete;

  // storage::ChangeListener: each change becomes the next entry, except
  // changes made inside an ApplyingScope (a replica applying its primary's
  // entries, which AppendApplied records with the primary's offsets).
  void OnKeyChanged(uint32_t slot, absl::string_view key,
                    const storage::KeyView* state,
                    storage::ChangeCause cause) override;
  void OnFlushAll() override;

  std::string replication_id() const;
  // Offset of the last entry readers may see: the end of the contiguous
  // prefix (0 before any). Drains the staging shards.
  uint64_t end_offset();
  // The highest offset any write has reserved (>= end_offset()). A write
  // that completed before this call has an offset <= the result, so it is
  // the ack target for WAIT / min_replica_acks.
  uint64_t reserved_offset() const;

  // Starts keeping entries (idempotent). Called when a replica first asks
  // for a sync; a full sync then starts at end_offset().
  void EnableBacklog();

  // True when a replica that applied everything up to `offset` of history
  // `id` can continue from this log: the id is this log's (or the one it
  // continued from before a promotion, up to the switch) and every entry
  // after `offset` is still in the backlog.
  bool CanContinueFrom(const std::string& id, uint64_t offset);

  // True when every entry after `offset` is still in the backlog (or
  // `offset` is the end).
  bool Retains(uint64_t offset);

  // Appends to `out` the entries after `offset`, up to about `max_bytes`,
  // never past a gap. FAILED_PRECONDITION when entries after `offset` were
  // already dropped from the backlog (the reader must full-sync).
  absl::Status ReadAfter(uint64_t offset, uint64_t max_bytes,
                         v1::LogEntries* out);

  // When entry `offset` was appended, if it is still in the backlog.
  absl::optional<absl::Time> AppendTime(uint64_t offset);

  // Blocks until end_offset() > `offset`, Wake() or `timeout`; returns
  // end_offset().
  uint64_t WaitForEntriesAfter(uint64_t offset, absl::Duration timeout);
  // Wakes WaitForEntriesAfter callers (shutdown).
  void Wake();

  // ---- Replica side ----
  // Marks the calling thread, for the scope's lifetime, as applying the
  // primary's entries: the changes it makes to the store are not logged
  // as new entries. Why a per-thread mark rather than a "replica" flag:
  // after a promotion the node may take client writes (the routing table
  // says primary) before the replica agent hears of it, and those must be
  // logged; only what the agent applies must not.
  class ApplyingScope {
   public:
    ApplyingScope();
    ~ApplyingScope();
    ApplyingScope(const ApplyingScope&) = delete;
    ApplyingScope& operator=(const ApplyingScope&) = delete;
  };
  // Starts following history `id` at `offset` (a full sync's start):
  // drops the backlog.
  void ResetHistory(const std::string& id, uint64_t offset);
  // Records an entry the replica applied (its offset must be
  // end_offset() + 1). Keeps the backlog enabled.
  absl::Status AppendApplied(const v1::LogEntry& entry);
  // On promotion to primary: a fresh replication id; offsets continue from
  // the last applied one, and replicas of the previous history may still
  // continue from this log.
  void StartNewHistory();

  // ---- Replica side: what the store holds, consistently (snapshots) ----
  // The replica agent applies an entry to the store before it records it
  // (AppendApplied), and a full sync loads the store while the log stands
  // still. So that a snapshot of a replica can tell which offset the store
  // it walked is at, the agent applies and records each entry inside
  // ApplyAndRecord, and brackets a full sync's load with BeginStoreLoad /
  // EndStoreLoad; Checkpoint() reads the log at a point where no entry is
  // half done. Primaries never call these three: their write path takes
  // no lock for this.
  //
  // Calls `apply` (which changes the store), then AppendApplied(entry),
  // both under apply_mu_; returns the first error.
  absl::Status ApplyAndRecord(const v1::LogEntry& entry,
                              absl::FunctionRef<absl::Status()> apply);
  // A full sync starts / completed: the store is partial in between.
  void BeginStoreLoad();
  void EndStoreLoad();
  struct StoreCheckpoint {
    // Every change the store showed before Checkpoint() returned has an
    // offset <= this (also counting local writes: reserved_offset()).
    uint64_t applied_end = 0;
    // BeginStoreLoad calls so far: a snapshot that sees this change
    // walked a store that was reloaded meanwhile.
    uint64_t loads = 0;
    // Between BeginStoreLoad and EndStoreLoad.
    bool loading = false;
  };
  StoreCheckpoint Checkpoint();

 private:
  // Staging shards: writers of one store stripe always use the same shard
  // (slot % kStagingShards == stripe % kStagingShards, as 16 divides the
  // store's 256 stripes), so shards are contended only by writers of
  // different stripes that happen to share one.
  static constexpr size_t kStagingShards = 16;

  struct Entry {
    absl::Time appended;
    uint64_t bytes;
    v1::LogEntry entry;  // With its offset.
  };
  struct StagingShard {
    Mutex mu;
    std::vector<Entry> entries ABSL_GUARDED_BY(mu);
  };

  // Reserves the next offset for a change of the local store; returns it
  // when the change must be staged (the backlog is on), nullopt when not
  // (backlog off: the offset is only counted; inside an ApplyingScope: not
  // even that).
  absl::optional<uint64_t> Reserve();
  // Pushes `entry` (with its reserved offset) into staging shard `shard`.
  void Stage(uint32_t shard, v1::LogEntry entry);
  // Moves staged entries into pending_ and the contiguous ones on into
  // the backlog; wakes waiting readers when the end moved.
  void DrainLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes WaitForEntriesAfter callers, if there are any.
  void Ring();
  void TrimLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The end readers may see: the contiguous end, or with the backlog off
  // (nothing to read) the counter.
  uint64_t EndLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Turns the backlog on (see EnableBacklog for the ordering argument).
  void EnableBacklogLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops every staged entry (a new history starts).
  void ClearStaging();

  // Constant after construction.
  const ReplicationLogOptions options_;

  // ---- The write path: atomics and the staging shards ----
  // The last offset handed to a write.
  std::atomic<uint64_t> reserved_{0};
  // Entries are built and staged only while this is set.
  std::atomic<bool> backlog_enabled_{false};
  // Readers blocked in WaitForEntriesAfter; writers signal only then.
  std::atomic<int> waiters_{0};
  std::array<StagingShard, kStagingShards> staging_;

  // ---- The ordered history, behind mu_ (readers only) ----
  // slotcache::Mutex (TSAN-visible) cannot be waited on, so readers block
  // on the separate bell below.
  mutable Mutex mu_;
  std::string id_ ABSL_GUARDED_BY(mu_);
  // The history this log continued from at a promotion, valid up to
  // previous_end_ (empty when none).
  std::string previous_id_ ABSL_GUARDED_BY(mu_);
  uint64_t previous_end_ ABSL_GUARDED_BY(mu_) = 0;
  // Offsets <= start_ were never kept (the backlog was off).
  uint64_t start_ ABSL_GUARDED_BY(mu_) = 0;
  // The contiguous end: every offset in (start_, end_] has been drained.
  uint64_t end_ ABSL_GUARDED_BY(mu_) = 0;
  // Drained entries beyond a gap, ascending by offset.
  std::vector<Entry> pending_ ABSL_GUARDED_BY(mu_);
  std::deque<Entry> backlog_ ABSL_GUARDED_BY(mu_);
  uint64_t backlog_bytes_ ABSL_GUARDED_BY(mu_) = 0;

  // ---- Replica applies vs. snapshots (see ApplyAndRecord) ----
  // Acquired before mu_ and the store's locks, never after.
  Mutex apply_mu_;
  uint64_t store_loads_ ABSL_GUARDED_BY(apply_mu_) = 0;
  bool store_loading_ ABSL_GUARDED_BY(apply_mu_) = false;

  // ---- The bell readers wait on (std:: types: waits TSAN can see) ----
  std::mutex bell_mu_;
  std::condition_variable bell_;
  uint64_t rings_ = 0;  // Guarded by bell_mu_; bumped by Ring().
  uint64_t wakes_ = 0;  // Guarded by bell_mu_; bumped by Wake().
};

// A fresh random replication id (40 hex characters, as in Redis).
std::string NewReplicationId();

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_REPLICATION_REPLICATION_LOG_H_
