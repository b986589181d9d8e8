#include "node/replication/replication_log.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "node/replication/log_entry.h"

namespace slotcache::node {
namespace {

// Bytes an entry costs in the backlog beyond its encoded size (the Entry
// and message objects, string headers). An estimate; it keeps a flood of
// tiny entries from being counted as free.
constexpr uint64_t kEntryOverheadBytes = 96;

// A staging shard this full is drained by its writer (taking mu_ once per
// this many writes), so staged entries stay bounded even when no replica
// reads for a while.
constexpr size_t kWriterDrainEntries = 4096;

uint64_t EntryBytes(const v1::LogEntry& entry) {
  return kEntryOverheadBytes + entry.ByteSizeLong();
}

// Set by ReplicationLog::ApplyingScope on the thread applying a primary's
// entries.
thread_local bool applying_replicated = false;

}  // namespace

std::string NewReplicationId() {
  absl::BitGen gen;
  std::string id;
  id.reserve(40);
  for (int i = 0; i < 40; ++i) {
    id.push_back("0123456789abcdef"[absl::Uniform(gen, 0, 16)]);
  }
  return id;
}

ReplicationLog::ReplicationLog(ReplicationLogOptions options)
    : options_(options), id_(NewReplicationId()) {}

// ---- The write path ----
//
// Why no gap is ever left unfilled (every offset a reader waits for is
// eventually staged or below start_):
//
// A writer does   (W1) o = reserved_.fetch_add(1) + 1;  (W2) read
// backlog_enabled_; and stages o only if W2 saw true. EnableBacklogLocked
// does   (E1) backlog_enabled_ = true;  (E2) start_ = end_ =
// reserved_.load().   All four are seq_cst, so they fall in one total
// order consistent with program order. If W2 read false, W2 precedes E1,
// so W1 < W2 < E1 < E2 and E2 reads a counter that already includes o:
// o <= start_, an offset readers never wait for. Conversely every o >
// start_ was reserved after E2 (else E2 would have counted it), hence its
// W2 follows E1 and reads true: it is staged. Entries that were staged
// with o <= start_ (W2 read true though W1 preceded E2) are dropped by the
// drain. The staging push happens before the writer releases its stripe
// lock, and a drain only moves the contiguous prefix, so a reader never
// sees offset o + 1 before o.

absl::optional<uint64_t> ReplicationLog::Reserve() {
  if (applying_replicated) return absl::nullopt;
  const uint64_t offset = reserved_.fetch_add(1) + 1;  // W1 (seq_cst).
  if (!backlog_enabled_.load()) return absl::nullopt;  // W2 (seq_cst).
  return offset;
}

void ReplicationLog::OnKeyChanged(uint32_t slot, absl::string_view key,
                                  const storage::KeyView* state,
                                  storage::ChangeCause /*cause*/) {
  const absl::optional<uint64_t> offset = Reserve();
  if (!offset.has_value()) return;
  v1::LogEntry entry;
  entry.set_offset(*offset);
  if (state != nullptr) {
    KeyViewToProto(*state, entry.mutable_set());
  } else {
    entry.set_deleted_key(key.data(), key.size());
  }
  Stage(slot % kStagingShards, std::move(entry));
}

void ReplicationLog::OnFlushAll() {
  const absl::optional<uint64_t> offset = Reserve();
  if (!offset.has_value()) return;
  v1::LogEntry entry;
  entry.set_offset(*offset);
  entry.mutable_flush_all();
  Stage(0, std::move(entry));
}

void ReplicationLog::Stage(uint32_t shard, v1::LogEntry entry) {
  const uint64_t bytes = EntryBytes(entry);
  StagingShard& s = staging_[shard];
  size_t staged;
  {
    MutexLock lock(&s.mu);
    s.entries.push_back(Entry{options_.clock->Now(), bytes, std::move(entry)});
    staged = s.entries.size();
  }
  // A reader counts itself in waiters_ and notes the bell's count before
  // it drains, so either its drain sees this entry or this load sees the
  // reader and the ring below wakes it (see WaitForEntriesAfter).
  if (waiters_.load() > 0) {
    Ring();
  } else if (staged >= kWriterDrainEntries) {
    MutexLock lock(&mu_);
    DrainLocked();
  }
}

void ReplicationLog::Ring() {
  if (waiters_.load() == 0) return;
  {
    std::lock_guard<std::mutex> lock(bell_mu_);
    ++rings_;
  }
  bell_.notify_all();
}

// ---- The reader side ----

void ReplicationLog::DrainLocked() {
  if (!backlog_enabled_.load(std::memory_order_relaxed)) return;
  const size_t before = pending_.size();
  for (StagingShard& s : staging_) {
    MutexLock lock(&s.mu);
    std::move(s.entries.begin(), s.entries.end(), std::back_inserter(pending_));
    s.entries.clear();
  }
  // Nothing new: what is pending still waits behind its gap.
  if (pending_.size() == before) return;
  std::sort(pending_.begin(), pending_.end(),
            [](const Entry& a, const Entry& b) {
              return a.entry.offset() < b.entry.offset();
            });
  const uint64_t old_end = end_;
  size_t i = 0;
  for (; i < pending_.size(); ++i) {
    const uint64_t offset = pending_[i].entry.offset();
    if (offset <= end_) continue;   // Reserved before the backlog was on.
    if (offset != end_ + 1) break;  // A gap: wait for its writer.
    backlog_bytes_ += pending_[i].bytes;
    backlog_.push_back(std::move(pending_[i]));
    end_ = offset;
  }
  pending_.erase(pending_.begin(), pending_.begin() + i);
  if (end_ != old_end) {
    TrimLocked();
    Ring();
  }
}

void ReplicationLog::TrimLocked() {
  // Keep at least the newest entry so a replica can always be told where
  // the log stands.
  while (backlog_bytes_ > options_.backlog_bytes && backlog_.size() > 1) {
    backlog_bytes_ -= backlog_.front().bytes;
    backlog_.pop_front();
  }
}

uint64_t ReplicationLog::EndLocked() const {
  return backlog_enabled_.load() ? end_ : reserved_.load();
}

std::string ReplicationLog::replication_id() const {
  MutexLock lock(&mu_);
  return id_;
}

uint64_t ReplicationLog::end_offset() {
  // No replica ever connected: no lock, nothing to drain.
  if (!backlog_enabled_.load()) return reserved_.load();
  MutexLock lock(&mu_);
  DrainLocked();
  return EndLocked();
}

uint64_t ReplicationLog::reserved_offset() const { return reserved_.load(); }

void ReplicationLog::EnableBacklog() {
  MutexLock lock(&mu_);
  EnableBacklogLocked();
}

void ReplicationLog::EnableBacklogLocked() {
  if (backlog_enabled_.load()) return;
  backlog_enabled_.store(true);  // E1 (seq_cst; see the proof above).
  start_ = reserved_.load();     // E2 (seq_cst).
  end_ = start_;
}

bool ReplicationLog::CanContinueFrom(const std::string& id, uint64_t offset) {
  MutexLock lock(&mu_);
  if (!backlog_enabled_.load() || id.empty() || offset == 0) return false;
  DrainLocked();
  const bool same_history =
      id == id_ || (id == previous_id_ && offset <= previous_end_);
  if (!same_history || offset > end_) return false;
  if (offset == end_) return true;
  return !backlog_.empty() && backlog_.front().entry.offset() <= offset + 1;
}

bool ReplicationLog::Retains(uint64_t offset) {
  MutexLock lock(&mu_);
  DrainLocked();
  const uint64_t end = EndLocked();
  if (offset >= end) return offset == end;
  return !backlog_.empty() && backlog_.front().entry.offset() <= offset + 1;
}

absl::Status ReplicationLog::ReadAfter(uint64_t offset, uint64_t max_bytes,
                                       v1::LogEntries* out) {
  MutexLock lock(&mu_);
  DrainLocked();
  const uint64_t end = EndLocked();
  if (offset >= end) return absl::OkStatus();
  if (backlog_.empty() || backlog_.front().entry.offset() > offset + 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "entries after offset ", offset,
        " are no longer in the replication backlog (it starts at ",
        backlog_.empty() ? end + 1 : backlog_.front().entry.offset(),
        "); the replica needs a full sync: raise --repl_backlog_bytes to "
        "survive longer disconnections"));
  }
  size_t i = offset + 1 - backlog_.front().entry.offset();
  uint64_t bytes = 0;
  for (; i < backlog_.size() && (bytes == 0 || bytes < max_bytes); ++i) {
    *out->add_entries() = backlog_[i].entry;
    bytes += backlog_[i].bytes;
  }
  return absl::OkStatus();
}

absl::optional<absl::Time> ReplicationLog::AppendTime(uint64_t offset) {
  MutexLock lock(&mu_);
  DrainLocked();
  if (backlog_.empty() || offset < backlog_.front().entry.offset() ||
      offset > end_) {
    return absl::nullopt;
  }
  return backlog_[offset - backlog_.front().entry.offset()].appended;
}

uint64_t ReplicationLog::WaitForEntriesAfter(uint64_t offset,
                                             absl::Duration timeout) {
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  waiters_.fetch_add(1);  // Before the drain: see Stage.
  uint64_t wakes;
  {
    std::lock_guard<std::mutex> bell(bell_mu_);
    wakes = wakes_;
  }
  uint64_t end;
  for (;;) {
    uint64_t rings;
    {
      std::lock_guard<std::mutex> bell(bell_mu_);
      rings = rings_;
    }
    {
      MutexLock lock(&mu_);
      DrainLocked();
      end = EndLocked();
    }
    if (end > offset) break;
    // A ring after `rings` was noted (a push this drain may have missed)
    // ends the wait at once.
    std::unique_lock<std::mutex> bell(bell_mu_);
    const bool rung = bell_.wait_until(
        bell, deadline, [&] { return rings_ != rings || wakes_ != wakes; });
    if (!rung || wakes_ != wakes) break;
  }
  waiters_.fetch_sub(1);
  return end;
}

void ReplicationLog::Wake() {
  {
    std::lock_guard<std::mutex> lock(bell_mu_);
    ++wakes_;
  }
  bell_.notify_all();
}

// ---- Replica side ----

ReplicationLog::ApplyingScope::ApplyingScope() { applying_replicated = true; }

ReplicationLog::ApplyingScope::~ApplyingScope() { applying_replicated = false; }

void ReplicationLog::ClearStaging() {
  for (StagingShard& s : staging_) {
    MutexLock lock(&s.mu);
    s.entries.clear();
  }
}

void ReplicationLog::ResetHistory(const std::string& id, uint64_t offset) {
  MutexLock lock(&mu_);
  // Local changes staged before belong to the old history.
  ClearStaging();
  id_ = id;
  previous_id_.clear();
  previous_end_ = 0;
  backlog_enabled_.store(true);
  reserved_.store(offset);
  start_ = end_ = offset;
  pending_.clear();
  backlog_.clear();
  backlog_bytes_ = 0;
  Ring();
}

absl::Status ReplicationLog::AppendApplied(const v1::LogEntry& entry) {
  MutexLock lock(&mu_);
  EnableBacklogLocked();
  if (entry.offset() != end_ + 1) {
    return absl::DataLossError(absl::StrCat(
        "replication entry at offset ", entry.offset(), " does not follow ",
        end_, "; the stream skipped entries: resync"));
  }
  // A replica takes no client writes, so nobody else reserves offsets: the
  // counter follows the primary's, and a promotion continues from here.
  reserved_.store(entry.offset());
  end_ = entry.offset();
  const uint64_t bytes = EntryBytes(entry);
  backlog_.push_back(Entry{options_.clock->Now(), bytes, entry});
  backlog_bytes_ += bytes;
  TrimLocked();
  Ring();
  return absl::OkStatus();
}

absl::Status ReplicationLog::ApplyAndRecord(
    const v1::LogEntry& entry, absl::FunctionRef<absl::Status()> apply) {
  MutexLock lock(&apply_mu_);
  if (absl::Status s = apply(); !s.ok()) return s;
  return AppendApplied(entry);
}

void ReplicationLog::BeginStoreLoad() {
  MutexLock lock(&apply_mu_);
  ++store_loads_;
  store_loading_ = true;
}

void ReplicationLog::EndStoreLoad() {
  MutexLock lock(&apply_mu_);
  store_loading_ = false;
}

ReplicationLog::StoreCheckpoint ReplicationLog::Checkpoint() {
  MutexLock lock(&apply_mu_);
  StoreCheckpoint checkpoint;
  checkpoint.applied_end = std::max(end_offset(), reserved_offset());
  checkpoint.loads = store_loads_;
  checkpoint.loading = store_loading_;
  return checkpoint;
}

void ReplicationLog::StartNewHistory() {
  MutexLock lock(&mu_);
  DrainLocked();
  previous_id_ = id_;
  previous_end_ = EndLocked();
  id_ = NewReplicationId();
}

}  // namespace slotcache::node
