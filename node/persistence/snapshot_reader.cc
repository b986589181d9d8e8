#include "node/persistence/snapshot_reader.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "node/persistence/manifest.h"
#include "node/persistence/snapshot_format.h"
#include "proto/replication.pb.h"

namespace slotcache::node::persistence {

namespace {

// The record of `key` from its parsed value, moving the strings out of
// `proto` (KeyRecordFromProto's meaning, without copying every value).
void TakeRecord(absl::string_view key, v1::KeyRecord* proto,
                storage::KeyRecord* out) {
  out->key.assign(key.data(), key.size());
  out->value.clear();
  out->fields.clear();
  if (proto->type() == v1::HASH) {
    out->type = storage::ValueType::kHash;
    out->fields.reserve(proto->hash_fields_size());
    for (v1::HashField& field : *proto->mutable_hash_fields()) {
      out->fields.emplace_back(std::move(*field.mutable_field()),
                               std::move(*field.mutable_value()));
    }
  } else {
    out->type = storage::ValueType::kString;
    out->value.swap(*proto->mutable_string_value());
  }
  out->expire_at = absl::nullopt;
  if (proto->expire_at_unix_ms() > 0) {
    out->expire_at = absl::FromUnixMillis(proto->expire_at_unix_ms());
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<SnapshotReader>> SnapshotReader::Open(
    const std::string& directory) {
  absl::StatusOr<v1::SnapshotManifest> manifest = VerifySnapshot(directory);
  if (!manifest.ok()) return manifest.status();
  const std::string db_dir =
      (std::filesystem::path(directory) / kDatabaseDirName).string();
  rocksdb::Options options;
  ApplyCommonOptions(&options);
  options.paranoid_checks = true;
  rocksdb::DB* db = nullptr;
  if (absl::Status s = FromRocks(
          rocksdb::DB::OpenForReadOnly(options, db_dir, &db),
          absl::StrCat("cannot open the database of snapshot ", directory,
                       " although its files match the manifest; take a new "
                       "snapshot"));
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<SnapshotReader>(new SnapshotReader(
      directory, *std::move(manifest), std::unique_ptr<rocksdb::DB>(db)));
}

absl::Status SnapshotReader::ForEachRecord(
    const std::vector<v1::SlotRange>& slots,
    absl::FunctionRef<absl::Status(uint32_t, const storage::KeyRecord&)>
        visit) {
  std::vector<v1::SlotRange> ranges = slots;
  if (ranges.empty()) {
    v1::SlotRange& all = ranges.emplace_back();
    all.set_start(0);
    all.set_end(kNumSlots - 1);
  }
  google::protobuf::RepeatedPtrField<v1::SlotRange> checked(ranges.begin(),
                                                            ranges.end());
  if (absl::StatusOr<SlotSet> valid = SlotSetOf(checked); !valid.ok()) {
    return valid.status();
  }
  rocksdb::ReadOptions read;
  read.verify_checksums = true;
  read.fill_cache = false;
  read.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  v1::KeyRecord proto;
  storage::KeyRecord record;
  for (const v1::SlotRange& range : ranges) {
    const std::string end = SlotPrefix(range.end() + 1);
    for (it->Seek(SlotPrefix(range.start()));
         it->Valid() && it->key().compare(end) < 0; it->Next()) {
      const absl::string_view db_key(it->key().data(), it->key().size());
      absl::optional<DecodedKey> key = DecodeDatabaseKey(db_key);
      if (!key.has_value() ||
          !proto.ParseFromArray(it->value().data(),
                                static_cast<int>(it->value().size()))) {
        return absl::DataLossError(absl::StrCat(
            "snapshot ", directory_,
            " holds a record that does not decode although its files match "
            "the manifest (a writer bug); take a new snapshot"));
      }
      TakeRecord(key->key, &proto, &record);
      if (absl::Status s = visit(key->slot, record); !s.ok()) return s;
    }
    if (absl::Status s = FromRocks(
            it->status(), absl::StrCat("cannot read snapshot ", directory_));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadResult> LoadSnapshot(const std::string& directory,
                                        storage::Store* store,
                                        const LoadOptions& options) {
  absl::StatusOr<std::unique_ptr<SnapshotReader>> reader =
      SnapshotReader::Open(directory);
  if (!reader.ok()) return reader.status();
  LoadResult result;
  result.manifest = (*reader)->manifest();
  const absl::Time now = store->Now();
  absl::Status loaded = (*reader)->ForEachRecord(
      options.slots, [&](uint32_t /*slot*/, const storage::KeyRecord& record) {
        result.bytes_read +=
            kSlotPrefixBytes + record.key.size() + record.value.size();
        for (const auto& [field, value] : record.fields) {
          result.bytes_read += field.size() + value.size();
        }
        if (record.expire_at.has_value() && *record.expire_at <= now) {
          ++result.keys_expired;
          return absl::OkStatus();
        }
        if (absl::Status s = store->Restore(record); !s.ok()) return s;
        ++result.keys_loaded;
        return absl::OkStatus();
      });
  if (!loaded.ok()) {
    return absl::Status(
        loaded.code(),
        absl::StrCat("loading snapshot ", directory, " stopped after ",
                     result.keys_loaded, " keys: ", loaded.message()));
  }
  return result;
}

}  // namespace slotcache::node::persistence
