// ReplicationLog: the node's replication history. On a primary it records
// every write, expiry and eviction as a deterministic log entry with a
// monotonically increasing offset, under a replication id, and keeps the
// most recent entries in a bounded in-memory backlog from which replicas
// resume (partial resync). On a replica it records the entries it applied,
// with the primary's id and offsets, so that after a promotion the other
// replicas can continue from it.
//
// What is logged. Not the client's command but the resulting state of each
// key it touched, read under the key's store lock at append time: DEL key,
// SET key value [PXAT unix_ms] for strings, HRESTORE key expire_unix_ms
// field value... for hashes, and FLUSHALL. Entries are idempotent state
// assignments, so relative TTLs, INCRBYFLOAT, SET ... GET, NX/XX and the
// like need no special case, and the replica never evaluates anything
// against its own clock. Expiries and evictions arrive through the store's
// RemovalListener as DEL entries.
//
// Ordering (the argument is in docs/REPLICATION.md): every entry about a
// key is appended while the store holds the key's slot-group lock, so the
// log's order of entries about one key is the store's order of changes to
// it, and the last entry about a key always describes its current state.
// FLUSHALL takes flush_mu_ exclusively; keyed writes hold it shared.
//
// Memory: the backlog holds entries up to `backlog_bytes` (counted as the
// entries' argument bytes plus a fixed overhead); older entries are dropped.
// Until the first replica asks for a sync the backlog stays disabled: offsets
// still advance but nothing is copied (like Redis, which creates its backlog
// on the first replica).
//
// Thread-safety: all methods may be called from any thread.
#ifndef SLOTCACHE_NODE_REPLICATION_REPLICATION_LOG_H_
#define SLOTCACHE_NODE_REPLICATION_REPLICATION_LOG_H_

#include <cstdint>
#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/clock.h"
#include "node/replication/write_observer.h"
#include "node/storage/store.h"
#include "proto/replication.pb.h"

namespace slotcache::node {

// The log entry that sets `key` to `record` (nullptr: DEL).
v1::Command StateCommand(absl::string_view key,
                         const storage::KeyRecord* record);

// Applies a log entry's command to `store` (a replica's). INVALID_ARGUMENT
// for a command that is not one of the log's forms.
absl::Status ApplyLogCommand(const v1::Command& command, storage::Store* store);

struct ReplicationLogOptions {
  // Most bytes of entries kept for partial resyncs.
  uint64_t backlog_bytes = 64ull << 20;
  // Not owned. Entry append times (replica lag in seconds).
  Clock* clock = Clock::Real();
};

class ReplicationLog final : public storage::RemovalListener,
                             public WriteObserver {
 public:
  explicit ReplicationLog(ReplicationLogOptions options);

  ReplicationLog(const ReplicationLog&) = delete;
  ReplicationLog& operator=(const ReplicationLog&) = delete;

  // The store whose writes are logged. Set once, before any write (the
  // store is built after the log because the log is its RemovalListener).
  void AttachStore(storage::Store* store);

  // WriteObserver: runs the write and appends the state of its keys.
  void ObserveWrite(const CommandSpec& spec, const v1::Command& command,
                    const v1::Reply& reply,
                    absl::FunctionRef<void()> execute) override;
  // RemovalListener: expiries and evictions become DEL entries.
  void OnKeyRemoved(uint32_t slot, absl::string_view key,
                    storage::RemovalCause cause) override;

  std::string replication_id() const;
  // Offset of the last entry (0 before any).
  uint64_t end_offset() const;

  // Starts keeping entries (idempotent). Called when a replica first asks
  // for a sync; a full sync then starts at end_offset().
  void EnableBacklog();

  // True when a replica that applied everything up to `offset` of history
  // `id` can continue from this log: the id is this log's (or the one it
  // continued from before a promotion, up to the switch) and every entry
  // after `offset` is still in the backlog.
  bool CanContinueFrom(const std::string& id, uint64_t offset) const;

  // True when every entry after `offset` is still in the backlog (or
  // `offset` is the end).
  bool Retains(uint64_t offset) const;

  // Appends to `out` the entries after `offset`, up to about `max_bytes`.
  // FAILED_PRECONDITION when entries after `offset` were already dropped
  // from the backlog (the reader must full-sync).
  absl::Status ReadAfter(uint64_t offset, uint64_t max_bytes,
                         v1::LogEntries* out) const;

  // When entry `offset` was appended, if it is still in the backlog.
  absl::optional<absl::Time> AppendTime(uint64_t offset) const;

  // Blocks until end_offset() > `offset`, Wake() or `timeout`; returns
  // end_offset().
  uint64_t WaitForEntriesAfter(uint64_t offset, absl::Duration timeout);
  // Wakes WaitForEntriesAfter callers (shutdown).
  void Wake();

  // ---- Replica side ----
  // Starts following history `id` at `offset` (a full sync's start):
  // drops the backlog.
  void ResetHistory(const std::string& id, uint64_t offset);
  // Records an entry the replica applied (its offset must be
  // end_offset() + 1). Keeps the backlog enabled.
  absl::Status AppendApplied(const v1::LogEntry& entry);
  // On promotion to primary: a fresh replication id; offsets continue, and
  // replicas of the previous history may still continue from this log.
  void StartNewHistory();

 private:
  // Appends `command` as the next entry.
  void AppendLocked(v1::Command command) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TrimLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Logs the state of `key` (called with the key's store lock held).
  void AppendKeyState(absl::string_view key, const storage::KeyRecord* record);

  struct Entry {
    uint64_t offset;
    absl::Time appended;
    uint64_t bytes;
    v1::Command command;
  };

  // Constant after construction (store_ after AttachStore).
  const ReplicationLogOptions options_;
  storage::Store* store_ = nullptr;

  // Keyed writes hold it shared, FLUSHALL exclusively.
  absl::Mutex flush_mu_;

  mutable absl::Mutex mu_;
  absl::CondVar appended_;
  std::string id_ ABSL_GUARDED_BY(mu_);
  // The history this log continued from at a promotion, valid up to
  // previous_end_ (empty when none).
  std::string previous_id_ ABSL_GUARDED_BY(mu_);
  uint64_t previous_end_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t end_offset_ ABSL_GUARDED_BY(mu_) = 0;
  bool backlog_enabled_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Entry> backlog_ ABSL_GUARDED_BY(mu_);
  uint64_t backlog_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t wake_generation_ ABSL_GUARDED_BY(mu_) = 0;
};

// A fresh random replication id (40 hex characters, as in Redis).
std::string NewReplicationId();

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_REPLICATION_REPLICATION_LOG_H_
