#include "node/persistence/snapshot_restore.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "node/persistence/snapshot_format.h"
#include "node/persistence/snapshot_reader.h"

namespace slotcache::node::persistence {
namespace {

// Keys stored between two looks at the replicas' acks.
constexpr uint64_t kThrottleEveryKeys = 256;

uint64_t RecordBytes(const storage::KeyRecord& record) {
  uint64_t bytes = record.key.size() + record.value.size();
  for (const auto& [field, value] : record.fields) {
    bytes += field.size() + value.size();
  }
  return bytes;
}

// Waits while the slowest replica is more than max_replica_lag_bytes of
// the restore's writes behind. `written` holds (local offset reserved
// after some writes, restore bytes written up to then), oldest first.
class ReplicaThrottle {
 public:
  ReplicaThrottle(ReplicationLog* log, const RestoreOptions* options)
      : log_(log), options_(options) {}

  absl::Status Wrote(uint64_t bytes) {
    written_bytes_ += bytes;
    if (++keys_since_check_ < kThrottleEveryKeys) return absl::OkStatus();
    keys_since_check_ = 0;
    if (!options_->replica_acked_offsets) return absl::OkStatus();
    written_.emplace_back(log_->reserved_offset(), written_bytes_);
    for (;;) {
      std::vector<uint64_t> acks = options_->replica_acked_offsets();
      if (acks.empty()) {
        written_.clear();
        acked_bytes_ = written_bytes_;
        return absl::OkStatus();
      }
      const uint64_t slowest = *std::min_element(acks.begin(), acks.end());
      while (!written_.empty() && written_.front().first <= slowest) {
        acked_bytes_ = written_.front().second;
        written_.pop_front();
      }
      if (written_bytes_ - acked_bytes_ <= options_->max_replica_lag_bytes) {
        return absl::OkStatus();
      }
      if (options_->stop != nullptr && options_->stop->load()) {
        return absl::CancelledError(
            "the node is shutting down; the restore stopped while waiting "
            "for replicas to catch up");
      }
      absl::SleepFor(options_->throttle_poll);
    }
  }

 private:
  ReplicationLog* const log_;
  const RestoreOptions* const options_;
  uint64_t written_bytes_ = 0;
  uint64_t acked_bytes_ = 0;
  uint64_t keys_since_check_ = 0;
  std::deque<std::pair<uint64_t, uint64_t>> written_;
};

std::string RangesText(const SlotSet& slots) {
  std::string text;
  uint32_t slot = 0;
  int shown = 0;
  while (slot < kNumSlots && shown < 4) {
    if (!slots.test(slot)) {
      ++slot;
      continue;
    }
    uint32_t end = slot;
    while (end + 1 < kNumSlots && slots.test(end + 1)) ++end;
    absl::StrAppend(&text, text.empty() ? "" : ",", slot,
                    end == slot ? "" : absl::StrCat("-", end));
    ++shown;
    slot = end + 1;
  }
  if (slot < kNumSlots) absl::StrAppend(&text, ",...");
  return text;
}

}  // namespace

absl::StatusOr<RestoreResult> RestoreSnapshots(
    const std::vector<std::string>& directories, storage::Store* store,
    ReplicationLog* log, const RestoreOptions& options) {
  if (directories.empty()) {
    return absl::InvalidArgumentError(
        "LoadSnapshots needs at least one snapshot directory; give the "
        "backup's shard snapshot directories");
  }
  if (options.slots.empty()) {
    return absl::InvalidArgumentError(
        "LoadSnapshots needs the slot ranges to load (the slots this node's "
        "shard owns in the restored cluster); give them in `slots`");
  }
  const google::protobuf::RepeatedPtrField<v1::SlotRange> ranges(
      options.slots.begin(), options.slots.end());
  absl::StatusOr<SlotSet> wanted = SlotSetOf(ranges);
  if (!wanted.ok()) return wanted.status();
  for (const std::string& dir : directories) {
    if (dir.empty() || !std::filesystem::path(dir).is_absolute()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "snapshot directory '", dir,
          "' is not an absolute path on the node; give absolute paths"));
    }
  }
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (wanted->test(slot) && store->SlotKeyCount(slot) > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "this node already holds keys in slot ", slot,
          " of the slots to restore; restore into an empty shard (flush it "
          "first, or create a new cluster)"));
    }
  }

  // Verify every snapshot before the first key is stored.
  std::vector<std::unique_ptr<SnapshotReader>> readers;
  SlotSet claimed;
  for (size_t i = 0; i < directories.size(); ++i) {
    absl::StatusOr<std::unique_ptr<SnapshotReader>> reader =
        SnapshotReader::Open(directories[i]);
    if (!reader.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "snapshot ", i + 1, " of ", directories.size(), " (", directories[i],
          ") is not usable, so nothing was loaded: ", reader.status().message(),
          " (restore from a complete backup, or replace this snapshot)"));
    }
    absl::StatusOr<SlotSet> holds = SlotSetOf((*reader)->manifest().slots());
    if (!holds.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("snapshot ", directories[i], " lists bad slot ranges (",
                       holds.status().message(), "); nothing was loaded"));
    }
    const SlotSet both = *holds & *wanted & claimed;
    if (both.any()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "snapshots overlap: ", directories[i],
          " holds slots also held by an earlier snapshot of the request (",
          RangesText(both),
          "); give one snapshot per shard of a single backup. Nothing was "
          "loaded"));
    }
    claimed |= *holds & *wanted;
    readers.push_back(*std::move(reader));
  }

  RestoreResult result;
  ReplicaThrottle throttle(log, &options);
  const absl::Time now = store->Now();
  for (size_t i = 0; i < readers.size(); ++i) {
    absl::Status loaded = readers[i]->ForEachRecord(
        options.slots, [&](uint32_t /*slot*/, const storage::KeyRecord& r) {
          if (options.stop != nullptr && options.stop->load()) {
            return absl::CancelledError("the node is shutting down");
          }
          if (r.expire_at.has_value() && *r.expire_at <= now) {
            ++result.keys_expired;
            return absl::OkStatus();
          }
          if (absl::Status s = store->Restore(r); !s.ok()) return s;
          const uint64_t bytes = RecordBytes(r);
          ++result.keys_loaded;
          result.bytes_loaded += bytes;
          return throttle.Wrote(bytes);
        });
    if (!loaded.ok()) {
      return absl::Status(
          loaded.code(),
          absl::StrCat("restoring from snapshot ", directories[i],
                       " stopped after ", result.keys_loaded,
                       " keys in all: ", loaded.message(),
                       "; the shard is partly loaded: flush it (or recreate "
                       "the cluster) before trying again"));
    }
  }
  return result;
}

}  // namespace slotcache::node::persistence
