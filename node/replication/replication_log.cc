#include "node/replication/replication_log.h"

#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace slotcache::node {
namespace {

// Bytes an entry costs in the backlog beyond its arguments (the Entry and
// Command objects, string headers). An estimate; it keeps a flood of tiny
// entries from being counted as free.
constexpr uint64_t kEntryOverheadBytes = 96;

uint64_t CommandBytes(const v1::Command& command) {
  uint64_t bytes = kEntryOverheadBytes + command.name().size();
  for (const std::string& arg : command.args()) bytes += arg.size() + 32;
  return bytes;
}

absl::Status BadEntry(const v1::Command& command, absl::string_view why) {
  return InvalidInputError(absl::StrCat(
      "replication entry '", command.name(), "' with ", command.args_size(),
      " arguments is malformed (", why,
      "); the primary and this replica disagree on the log format: run the "
      "same slotcache version on both"));
}

absl::Status ParseExpiry(const v1::Command& command, absl::string_view text,
                         storage::KeyRecord* record) {
  int64_t ms = 0;
  if (!absl::SimpleAtoi(text, &ms) || ms < 0) {
    return BadEntry(command, "bad expiry time");
  }
  if (ms > 0) record->expire_at = absl::FromUnixMillis(ms);
  return absl::OkStatus();
}

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

v1::Command StateCommand(absl::string_view key,
                         const storage::KeyRecord* record) {
  v1::Command command;
  if (record == nullptr) {
    command.set_name("DEL");
    command.add_args(key.data(), key.size());
    return command;
  }
  const int64_t expire_ms = record->expire_at.has_value()
                                ? absl::ToUnixMillis(*record->expire_at)
                                : 0;
  if (record->type == storage::ValueType::kString) {
    command.set_name("SET");
    command.add_args(key.data(), key.size());
    command.add_args(record->value);
    if (expire_ms > 0) {
      command.add_args("PXAT");
      command.add_args(absl::StrCat(expire_ms));
    }
    return command;
  }
  command.set_name("HRESTORE");
  command.add_args(key.data(), key.size());
  command.add_args(absl::StrCat(expire_ms));
  for (const auto& [field, value] : record->fields) {
    command.add_args(field);
    command.add_args(value);
  }
  return command;
}

absl::Status ApplyLogCommand(const v1::Command& command,
                             storage::Store* store) {
  const std::string& name = command.name();
  const int argc = command.args_size();
  if (name == "DEL") {
    if (argc != 1) return BadEntry(command, "DEL takes one key");
    store->Del(command.args(0));
    return absl::OkStatus();
  }
  if (name == "FLUSHALL") {
    store->FlushAll();
    return absl::OkStatus();
  }
  // SET and HRESTORE replace the key whole, through Restore: unlike a SET
  // command it keeps a key whose expiry already passed on this replica's
  // clock (it reads as missing until the primary's DEL arrives), so the
  // replica never decides anything by its own clock.
  storage::KeyRecord record;
  if (name == "SET") {
    if (argc != 2 && !(argc == 4 && command.args(2) == "PXAT")) {
      return BadEntry(command, "expected SET key value [PXAT unix_ms]");
    }
    record.key = command.args(0);
    record.type = storage::ValueType::kString;
    record.value = command.args(1);
    if (argc == 4) {
      if (absl::Status s = ParseExpiry(command, command.args(3), &record);
          !s.ok()) {
        return s;
      }
    }
  } else if (name == "HRESTORE") {
    if (argc < 4 || argc % 2 != 0) {
      return BadEntry(command,
                      "expected HRESTORE key expire_unix_ms field value...");
    }
    record.key = command.args(0);
    record.type = storage::ValueType::kHash;
    if (absl::Status s = ParseExpiry(command, command.args(1), &record);
        !s.ok()) {
      return s;
    }
    for (int i = 2; i < argc; i += 2) {
      record.fields.emplace_back(command.args(i), command.args(i + 1));
    }
  } else {
    return BadEntry(command, "unknown entry kind");
  }
  return store->Restore(record);
}

ReplicationLog::ReplicationLog(ReplicationLogOptions options)
    : options_(options), id_(NewReplicationId()) {}

void ReplicationLog::AttachStore(storage::Store* store) { store_ = store; }

void ReplicationLog::ObserveWrite(const CommandSpec& spec,
                                  const v1::Command& command,
                                  const v1::Reply& reply,
                                  absl::FunctionRef<void()> execute) {
  if (spec.first_key < 0) {
    // Node-wide write (FLUSHALL): no keyed write may run meanwhile, so its
    // entry splits the log into "before" and "after" exactly.
    absl::MutexLock flush(&flush_mu_);
    execute();
    if (reply.has_error()) return;
    v1::Command entry;
    entry.set_name(std::string(spec.name));
    absl::MutexLock lock(&mu_);
    AppendLocked(std::move(entry));
    return;
  }
  absl::ReaderMutexLock flush(&flush_mu_);
  execute();
  // A failed command changed nothing (the executor's contract).
  if (reply.has_error()) return;
  std::vector<absl::string_view> keys = CommandKeys(spec, command);
  {
    // No replica yet: count the entries without reading the keys. Safe
    // against a concurrent EnableBacklog: this write was applied before
    // the backlog was enabled, so before any full sync's snapshot walk.
    absl::MutexLock lock(&mu_);
    if (!backlog_enabled_) {
      end_offset_ += keys.size();
      appended_.SignalAll();
      return;
    }
  }
  for (absl::string_view key : keys) {
    store_->WithRecord(key, [&](const storage::KeyRecord* record) {
      AppendKeyState(key, record);
    });
  }
}

void ReplicationLog::OnKeyRemoved(uint32_t /*slot*/, absl::string_view key,
                                  storage::RemovalCause /*cause*/) {
  AppendKeyState(key, nullptr);
}

void ReplicationLog::AppendKeyState(absl::string_view key,
                                    const storage::KeyRecord* record) {
  absl::MutexLock lock(&mu_);
  if (!backlog_enabled_) {
    // No replica yet: the offset advances, nothing is copied.
    ++end_offset_;
    appended_.SignalAll();
    return;
  }
  AppendLocked(StateCommand(key, record));
}

void ReplicationLog::AppendLocked(v1::Command command) {
  ++end_offset_;
  if (backlog_enabled_) {
    const uint64_t bytes = CommandBytes(command);
    backlog_.push_back(
        Entry{end_offset_, options_.clock->Now(), bytes, std::move(command)});
    backlog_bytes_ += bytes;
    TrimLocked();
  }
  appended_.SignalAll();
}

void ReplicationLog::TrimLocked() {
  // Keep at least the newest entry so a replica can always be told where
  // the log stands.
  while (backlog_bytes_ > options_.backlog_bytes && backlog_.size() > 1) {
    backlog_bytes_ -= backlog_.front().bytes;
    backlog_.pop_front();
  }
}

std::string ReplicationLog::replication_id() const {
  absl::MutexLock lock(&mu_);
  return id_;
}

uint64_t ReplicationLog::end_offset() const {
  absl::MutexLock lock(&mu_);
  return end_offset_;
}

void ReplicationLog::EnableBacklog() {
  absl::MutexLock lock(&mu_);
  backlog_enabled_ = true;
}

bool ReplicationLog::CanContinueFrom(const std::string& id,
                                     uint64_t offset) const {
  absl::MutexLock lock(&mu_);
  if (!backlog_enabled_ || id.empty() || offset == 0) return false;
  const bool same_history =
      id == id_ || (id == previous_id_ && offset <= previous_end_);
  if (!same_history || offset > end_offset_) return false;
  if (offset == end_offset_) return true;
  return !backlog_.empty() && backlog_.front().offset <= offset + 1;
}

bool ReplicationLog::Retains(uint64_t offset) const {
  absl::MutexLock lock(&mu_);
  if (offset >= end_offset_) return offset == end_offset_;
  return !backlog_.empty() && backlog_.front().offset <= offset + 1;
}

absl::Status ReplicationLog::ReadAfter(uint64_t offset, uint64_t max_bytes,
                                       v1::LogEntries* out) const {
  absl::MutexLock lock(&mu_);
  if (offset >= end_offset_) return absl::OkStatus();
  if (backlog_.empty() || backlog_.front().offset > offset + 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "entries after offset ", offset,
        " are no longer in the replication backlog (it starts at ",
        backlog_.empty() ? end_offset_ + 1 : backlog_.front().offset,
        "); the replica needs a full sync: raise --repl_backlog_bytes to "
        "survive longer disconnections"));
  }
  size_t i = offset + 1 - backlog_.front().offset;
  uint64_t bytes = 0;
  for (; i < backlog_.size() && (bytes == 0 || bytes < max_bytes); ++i) {
    const Entry& e = backlog_[i];
    v1::LogEntry* entry = out->add_entries();
    entry->set_offset(e.offset);
    *entry->mutable_command() = e.command;
    bytes += e.bytes;
  }
  return absl::OkStatus();
}

absl::optional<absl::Time> ReplicationLog::AppendTime(uint64_t offset) const {
  absl::MutexLock lock(&mu_);
  if (backlog_.empty() || offset < backlog_.front().offset ||
      offset > end_offset_) {
    return absl::nullopt;
  }
  return backlog_[offset - backlog_.front().offset].appended;
}

uint64_t ReplicationLog::WaitForEntriesAfter(uint64_t offset,
                                             absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const uint64_t generation = wake_generation_;
  const absl::Time deadline = absl::Now() + timeout;
  while (end_offset_ <= offset && wake_generation_ == generation) {
    if (appended_.WaitWithDeadline(&mu_, deadline)) break;
  }
  return end_offset_;
}

void ReplicationLog::Wake() {
  absl::MutexLock lock(&mu_);
  ++wake_generation_;
  appended_.SignalAll();
}

void ReplicationLog::ResetHistory(const std::string& id, uint64_t offset) {
  absl::MutexLock lock(&mu_);
  id_ = id;
  previous_id_.clear();
  previous_end_ = 0;
  end_offset_ = offset;
  backlog_.clear();
  backlog_bytes_ = 0;
  backlog_enabled_ = true;
  appended_.SignalAll();
}

absl::Status ReplicationLog::AppendApplied(const v1::LogEntry& entry) {
  absl::MutexLock lock(&mu_);
  if (entry.offset() != end_offset_ + 1) {
    return absl::DataLossError(absl::StrCat(
        "replication entry at offset ", entry.offset(), " does not follow ",
        end_offset_, "; the stream skipped entries: resync"));
  }
  backlog_enabled_ = true;
  AppendLocked(entry.command());
  return absl::OkStatus();
}

void ReplicationLog::StartNewHistory() {
  absl::MutexLock lock(&mu_);
  previous_id_ = id_;
  previous_end_ = end_offset_;
  id_ = NewReplicationId();
}

}  // namespace slotcache::node
