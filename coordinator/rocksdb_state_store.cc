#include "coordinator/rocksdb_state_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace slotcache::coordinator {
namespace {

constexpr char kFormatKey[] = "format";
// Bump when the layout changes incompatibly; Open refuses other versions.
constexpr char kFormatVersion[] = "slotcache-coordinator-state/1";
constexpr char kMetaKey[] = "meta";
constexpr absl::string_view kNodePrefix = "node/";
constexpr absl::string_view kShardPrefix = "shard/";
constexpr absl::string_view kOperationPrefix = "op/";
constexpr absl::string_view kEventPrefix = "event/";

std::string PaddedNumber(uint64_t n) { return absl::StrFormat("%020u", n); }

std::string EventKey(uint64_t seq) {
  return absl::StrCat(kEventPrefix, PaddedNumber(seq));
}

// Operations are keyed by the number in their id so they load in creation
// order; ids that do not look like "op-N" sort after, by id.
std::string OperationKey(const std::string& id) {
  uint64_t number = 0;
  if (absl::StartsWith(id, "op-") &&
      absl::SimpleAtoi(absl::string_view(id).substr(3), &number)) {
    return absl::StrCat(kOperationPrefix, PaddedNumber(number));
  }
  return absl::StrCat(kOperationPrefix, "~", id);
}

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", status.ToString()));
}

template <typename Message>
absl::Status Parse(const rocksdb::Slice& value, const rocksdb::Slice& key,
                   Message* out) {
  if (!out->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(
        absl::StrCat("coordinator state record '", key.ToString(),
                     "' is corrupt; restore the --data_dir from a backup"));
  }
  return absl::OkStatus();
}

class RocksDbStateStore : public StateStore {
 public:
  RocksDbStateStore(std::unique_ptr<rocksdb::DB> db, std::string dir)
      : db_(std::move(db)), dir_(std::move(dir)) {}

  absl::StatusOr<StoredState> Load() override {
    StoredState state;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      absl::string_view key(it->key().data(), it->key().size());
      absl::Status parsed;
      if (key == kMetaKey) {
        parsed = Parse(it->value(), it->key(), &state.meta);
      } else if (absl::StartsWith(key, kNodePrefix)) {
        parsed = Parse(it->value(), it->key(), &state.nodes.emplace_back());
      } else if (absl::StartsWith(key, kShardPrefix)) {
        parsed = Parse(it->value(), it->key(), &state.shards.emplace_back());
      } else if (absl::StartsWith(key, kOperationPrefix)) {
        parsed =
            Parse(it->value(), it->key(), &state.operations.emplace_back());
      }
      if (!parsed.ok()) return parsed;
    }
    if (absl::Status s = FromRocks(it->status(), "reading coordinator state");
        !s.ok()) {
      return s;
    }
    return state;
  }

  absl::Status Write(const StateUpdate& update) override {
    rocksdb::WriteBatch batch;
    if (update.meta.has_value()) {
      batch.Put(kMetaKey, update.meta->SerializeAsString());
    }
    for (const v1::NodeInfo& node : update.nodes) {
      batch.Put(absl::StrCat(kNodePrefix, node.node_id()),
                node.SerializeAsString());
    }
    for (const v1::ShardInfo& shard : update.shards) {
      batch.Put(absl::StrCat(kShardPrefix, shard.shard_id()),
                shard.SerializeAsString());
    }
    for (const std::string& id : update.removed_shard_ids) {
      batch.Delete(absl::StrCat(kShardPrefix, id));
    }
    for (const v1::Operation& op : update.operations) {
      batch.Put(OperationKey(op.id()), op.SerializeAsString());
    }
    for (const v1::Event& event : update.events) {
      batch.Put(EventKey(event.seq()), event.SerializeAsString());
    }
    rocksdb::WriteOptions options;
    // The coordinator publishes a change only after this returns: it must
    // survive a power loss, not just a process crash.
    options.sync = true;
    return FromRocks(db_->Write(options, &batch),
                     absl::StrCat("writing coordinator state in ", dir_,
                                  " (is the disk full?)"));
  }

  absl::StatusOr<std::vector<v1::Event>> ReadEvents(uint64_t after_seq,
                                                    size_t limit) override {
    std::vector<v1::Event> events;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(EventKey(after_seq + 1));
         it->Valid() && events.size() < limit &&
         it->key().starts_with(
             rocksdb::Slice(kEventPrefix.data(), kEventPrefix.size()));
         it->Next()) {
      absl::Status parsed =
          Parse(it->value(), it->key(), &events.emplace_back());
      if (!parsed.ok()) return parsed;
    }
    if (absl::Status s = FromRocks(it->status(), "reading events"); !s.ok()) {
      return s;
    }
    return events;
  }

 private:
  // Constant after construction.
  const std::unique_ptr<rocksdb::DB> db_;
  const std::string dir_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StateStore>> OpenRocksDbStateStore(
    const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  // The state is tiny; keep RocksDB's footprint small.
  options.max_open_files = 64;
  options.keep_log_file_num = 2;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(options, dir, &raw);
  if (!status.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open coordinator state in '", dir, "': ", status.ToString(),
        "; check that the folder is writable and that no other coordinator "
        "uses the same --data_dir"));
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string format;
  status = db->Get(rocksdb::ReadOptions(), kFormatKey, &format);
  if (status.IsNotFound()) {
    rocksdb::WriteOptions write;
    write.sync = true;
    if (absl::Status s = FromRocks(db->Put(write, kFormatKey, kFormatVersion),
                                   "initialising coordinator state");
        !s.ok()) {
      return s;
    }
  } else if (!status.ok()) {
    return FromRocks(status, "reading coordinator state format");
  } else if (format != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "'", dir, "' holds coordinator state in format '", format,
        "', this coordinator reads '", kFormatVersion,
        "'; use a matching slotcache-coordinator or a fresh --data_dir"));
  }
  return std::unique_ptr<StateStore>(new RocksDbStateStore(std::move(db), dir));
}

}  // namespace slotcache::coordinator
