#include "node/persistence/snapshot_writer.h"

#include <filesystem>
#include <memory>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "node/persistence/database_builder.h"
#include "node/persistence/manifest.h"
#include "node/persistence/snapshot_format.h"
#include "node/replication/log_entry.h"

namespace slotcache::node::persistence {
namespace {

namespace fs = std::filesystem;

// Keys asked from ScanSlot per call: the visit runs under the slot's
// stripe lock, so it only copies records; encoding happens outside.
constexpr size_t kScanBatch = 256;
// How often (in slots) the walk checks that the backlog still holds the
// snapshot's start, to fail early rather than at the end.
constexpr uint32_t kRetainCheckSlots = 256;
// Longest single wait for the log's end to move while catching up.
constexpr absl::Duration kTailPoll = absl::Milliseconds(10);

// Creates `dir` (its parent must exist), or accepts it when it is an empty
// directory.
absl::Status PrepareDirectory(const std::string& dir) {
  if (dir.empty()) {
    return absl::InvalidArgumentError(
        "the snapshot needs a directory to be written to; give its path");
  }
  std::error_code error;
  if (fs::exists(dir, error)) {
    if (!fs::is_directory(dir, error) || !fs::is_empty(dir, error)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot write a snapshot into '", dir,
          "': it exists and is not an empty directory; choose a new path"));
    }
    return absl::OkStatus();
  }
  if (!fs::create_directory(dir, error)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create the snapshot directory '", dir, "': ", error.message(),
        "; check that its parent exists and is writable"));
  }
  return absl::OkStatus();
}

absl::Status BacklogOverrun(uint64_t start) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "the replication backlog dropped entries after offset ", start,
      " before the snapshot had applied them (too many writes while it "
      "was taken); raise --repl_backlog_bytes and take it again"));
}

absl::Status FullSyncRunning() {
  return absl::FailedPreconditionError(
      "this replica is loading a full sync from its primary (its store is "
      "partial): take the snapshot once the sync completed, or from "
      "another node of the shard");
}

// The walk: every live key of `slots` as the store holds it while writes
// go on.
absl::Status WalkSlots(storage::Store* store, ReplicationLog* log,
                       uint64_t start, const SlotSet& slots,
                       DatabaseBuilder* db) {
  std::vector<storage::KeyRecord> records;
  v1::KeyRecord proto;
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (slot % kRetainCheckSlots == 0 && !log->Retains(start)) {
      return BacklogOverrun(start);
    }
    if (!slots.test(slot) || store->SlotKeyCount(slot) == 0) continue;
    uint64_t cursor = 0;
    do {
      records.clear();
      cursor = store->ScanSlot(
          slot, cursor, kScanBatch,
          [&](const storage::KeyRecord& r) { records.push_back(r); });
      const absl::Time now = store->Now();
      for (const storage::KeyRecord& record : records) {
        // Expired but not yet removed: it reads as missing, so it is not
        // part of the keyspace.
        if (record.expire_at.has_value() && *record.expire_at <= now) {
          continue;
        }
        proto.Clear();
        KeyRecordToProto(record, &proto);
        if (absl::Status s = db->Add(slot, &proto); !s.ok()) return s;
      }
    } while (cursor != 0);
  }
  return db->EndWalk();
}

// Applies one log entry to the database, if it concerns `slots`.
void ApplyEntry(const v1::LogEntry& entry, const SlotSet& slots, int64_t now_ms,
                DatabaseBuilder* db) {
  switch (entry.change_case()) {
    case v1::LogEntry::kSet: {
      const std::string& key = entry.set().key();
      const uint32_t slot = KeySlot(key);
      if (!slots.test(slot)) return;
      const int64_t expire_ms = entry.set().expire_at_unix_ms();
      if (expire_ms > 0 && expire_ms <= now_ms) {
        db->Delete(slot, key);  // Reads as missing.
        return;
      }
      v1::KeyRecord record = entry.set();
      db->Put(slot, key, &record);
      return;
    }
    case v1::LogEntry::kDeletedKey: {
      const uint32_t slot = KeySlot(entry.deleted_key());
      if (slots.test(slot)) db->Delete(slot, entry.deleted_key());
      return;
    }
    case v1::LogEntry::kFlushAll:
      db->DeleteAll();
      return;
    case v1::LogEntry::CHANGE_NOT_SET:
      return;
  }
}

// The tail: the log's entries after `start` until at least `target`, in
// order. Returns the offset of the last entry applied.
absl::StatusOr<uint64_t> ApplyTail(storage::Store* store, ReplicationLog* log,
                                   uint64_t start, uint64_t target,
                                   const SlotSet& slots,
                                   const SnapshotWriterOptions& options,
                                   DatabaseBuilder* db) {
  const absl::Time deadline = absl::Now() + options.tail_timeout;
  uint64_t applied = start;
  while (applied < target) {
    v1::LogEntries entries;
    absl::Status read = log->ReadAfter(applied, options.batch_bytes, &entries);
    if (absl::IsFailedPrecondition(read)) return BacklogOverrun(start);
    if (!read.ok()) return read;
    if (entries.entries().empty()) {
      // A writer reserved an offset at or below `target` and has not
      // staged its entry yet; it does so before it unlocks its stripe.
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "the replication log did not reach offset ", target, " within ",
            absl::FormatDuration(options.tail_timeout), " (it stands at ",
            applied, "); the node may be overloaded: take the snapshot again"));
      }
      log->WaitForEntriesAfter(applied, kTailPoll);
      continue;
    }
    const int64_t now_ms = absl::ToUnixMillis(store->Now());
    for (const v1::LogEntry& entry : entries.entries()) {
      ApplyEntry(entry, slots, now_ms, db);
      applied = entry.offset();
    }
    if (absl::Status s = db->MaybeCommit(); !s.ok()) return s;
  }
  return applied;
}

// Everything after the directory is ready: database, tail, manifest.
absl::StatusOr<v1::SnapshotManifest> BuildSnapshot(
    storage::Store* store, ReplicationLog* log, const SnapshotTarget& target,
    const SnapshotWriterOptions& options,
    const google::protobuf::RepeatedPtrField<v1::SlotRange>& ranges,
    const SlotSet* slots) {
  const std::string db_dir =
      (fs::path(target.directory) / kDatabaseDirName).string();
  DatabaseBuilderOptions builder;
  builder.batch_bytes = options.batch_bytes;
  builder.target_file_bytes = options.target_file_bytes;
  builder.max_sort_bytes = options.max_sort_bytes;
  builder.compact = options.compact;
  absl::StatusOr<std::unique_ptr<DatabaseBuilder>> db = DatabaseBuilder::Create(
      db_dir, (fs::path(target.directory) / "staging").string(), builder);
  if (!db.ok()) return db.status();

  // The id before the offset: the id changes only with a new history,
  // which the check at the end catches.
  // On a replica: refuse a store that a full sync is loading; a load that
  // starts later changes `loads` (checked at the end).
  const ReplicationLog::StoreCheckpoint begin = log->Checkpoint();
  if (begin.loading) return FullSyncRunning();
  log->EnableBacklog();
  const std::string history = log->replication_id();
  const uint64_t start = log->end_offset();

  if (absl::Status s = WalkSlots(store, log, start, *slots, db->get());
      !s.ok()) {
    return s;
  }
  if (options.after_walk) options.after_walk();
  // Every change the walk saw had reserved its offset before the walk read
  // the key (both happen under the key's stripe lock), so it is <= this.
  // On a replica the agent applies an entry before it records it: the
  // checkpoint waits for one in flight, so every state the walk saw has an
  // offset <= applied_end (on a primary it is reserved_offset()).
  const uint64_t target_offset = log->Checkpoint().applied_end;
  absl::StatusOr<uint64_t> end =
      ApplyTail(store, log, start, target_offset, *slots, options, db->get());
  if (!end.ok()) return end.status();
  if (log->Checkpoint().loads != begin.loads) {
    return absl::AbortedError(
        "a full sync from the primary started while the snapshot was taken "
        "(the replica's store was reloaded); take it again once the "
        "replica is in sync");
  }
  if (log->replication_id() != history) {
    return absl::AbortedError(absl::StrCat(
        "the node started a new replication history while the snapshot was "
        "taken (a promotion or a full sync from its primary); take it again"));
  }

  absl::StatusOr<DatabaseBuilder::Totals> totals = (*db)->Finish();
  if (!totals.ok()) return totals.status();
  absl::StatusOr<std::vector<v1::SnapshotFile>> files =
      ListDatabaseFiles(target.directory, /*sync=*/true);
  if (!files.ok()) return files.status();

  v1::SnapshotManifest manifest;
  manifest.set_format_version(kSnapshotFormatVersion);
  manifest.set_cluster_id(target.cluster_id);
  manifest.set_shard_id(target.shard_id);
  if (target.slots.empty()) {
    v1::SlotRange* all = manifest.add_slots();
    all->set_start(0);
    all->set_end(kNumSlots - 1);
  } else {
    *manifest.mutable_slots() = ranges;
  }
  manifest.set_replication_id(history);
  manifest.set_replication_offset(*end);
  manifest.set_config_epoch(target.config_epoch);
  manifest.set_key_count(totals->keys);
  manifest.set_data_bytes(totals->bytes);
  uint64_t total_bytes = 0;
  for (v1::SnapshotFile& file : *files) {
    total_bytes += file.size_bytes();
    *manifest.add_files() = std::move(file);
  }
  manifest.set_total_bytes(total_bytes);
  manifest.set_created_unix_ms(absl::ToUnixMillis(absl::Now()));
  manifest.set_node_id(target.node_id);
  if (absl::Status s = WriteManifest(target.directory, manifest); !s.ok()) {
    return s;
  }
  return ReadManifest(target.directory);
}

}  // namespace

absl::StatusOr<v1::SnapshotManifest> WriteSnapshot(
    storage::Store* store, ReplicationLog* log, const SnapshotTarget& target,
    const SnapshotWriterOptions& options) {
  google::protobuf::RepeatedPtrField<v1::SlotRange> ranges(target.slots.begin(),
                                                           target.slots.end());
  absl::StatusOr<SlotSet> slots = SlotSetOf(ranges);
  if (!slots.ok()) return slots.status();
  std::error_code error;
  const bool existed = fs::exists(target.directory, error);
  if (absl::Status s = PrepareDirectory(target.directory); !s.ok()) return s;
  absl::StatusOr<v1::SnapshotManifest> manifest =
      BuildSnapshot(store, log, target, options, ranges, &*slots);
  if (!manifest.ok()) {
    // Leave the directory as it was found (absent or empty), so that the
    // same path can be used again; without a manifest it was no snapshot
    // anyway.
    if (existed) {
      for (const fs::directory_entry& entry :
           fs::directory_iterator(target.directory, error)) {
        fs::remove_all(entry.path(), error);
      }
    } else {
      fs::remove_all(target.directory, error);
    }
  }
  return manifest;
}

}  // namespace slotcache::node::persistence
