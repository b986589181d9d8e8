#include "node/persistence/database_builder.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/slot.h"
#include "node/persistence/snapshot_format.h"

namespace slotcache::node::persistence {

namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<DatabaseBuilder>> DatabaseBuilder::Create(
    const std::string& dir, const std::string& staging_dir,
    const DatabaseBuilderOptions& options) {
  std::error_code error;
  if (!fs::create_directory(staging_dir, error)) {
    return absl::InternalError(
        absl::StrCat("cannot create the snapshot's staging directory ",
                     staging_dir, ": ", error.message()));
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.error_if_exists = true;
  // The tail (usually small) is the only memtable traffic; nothing needs
  // compacting until the optional CompactRange at the end.
  db_options.disable_auto_compactions = true;
  db_options.max_background_jobs = 2;  // The node's cores are busy serving.
  ApplyCommonOptions(&db_options);
  rocksdb::DB* db = nullptr;
  if (absl::Status s = FromRocks(
          rocksdb::DB::Open(db_options, dir, &db),
          absl::StrCat("cannot create the snapshot database in ", dir));
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<DatabaseBuilder>(new DatabaseBuilder(
      std::unique_ptr<rocksdb::DB>(db), db_options, dir, staging_dir, options));
}

DatabaseBuilder::DatabaseBuilder(std::unique_ptr<rocksdb::DB> db,
                                 rocksdb::Options options, std::string dir,
                                 std::string staging_dir,
                                 const DatabaseBuilderOptions& builder_options)
    : db_(std::move(db)),
      db_options_(std::move(options)),
      dir_(std::move(dir)),
      staging_dir_(std::move(staging_dir)),
      options_(builder_options) {}

DatabaseBuilder::~DatabaseBuilder() {
  sst_.reset();
  std::error_code ignored;  // Best effort: a failed snapshot's leftovers.
  fs::remove_all(staging_dir_, ignored);
}

absl::Status DatabaseBuilder::Add(uint32_t slot, v1::KeyRecord* record) {
  if (slot != slot_) {
    if (absl::Status s = WriteSortedRun(); !s.ok()) return s;
    slot_ = slot;
  }
  std::string key = EncodeDatabaseKey(slot, record->key());
  record->clear_key();  // The database key carries it.
  std::string value = record->SerializeAsString();
  run_bytes_ += key.size() + value.size();
  run_.emplace_back(std::move(key), std::move(value));
  if (run_bytes_ >= options_.max_sort_bytes) return WriteSortedRun();
  return absl::OkStatus();
}

absl::Status DatabaseBuilder::WriteSortedRun() {
  if (run_.empty()) return absl::OkStatus();
  std::sort(run_.begin(), run_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // The walk may return a key twice (a table resize during it). Either copy
  // will do: a key that changed during the walk has a tail entry, which
  // overwrites it.
  run_.erase(std::unique(run_.begin(), run_.end(),
                         [](const auto& a, const auto& b) {
                           return a.first == b.first;
                         }),
             run_.end());
  // SST keys must ascend: a run that does not sort after the open file's
  // last key (a second run of one big slot) starts a file of its own,
  // ingested later, so on top.
  if (sst_ != nullptr && !(run_.front().first > last_key_)) {
    if (absl::Status s = FinishAndIngestFile(); !s.ok()) return s;
  }
  if (sst_ == nullptr) {
    sst_path_ =
        (fs::path(staging_dir_) / absl::StrFormat("walk-%06d.sst", files_++))
            .string();
    sst_ = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(),
                                                    db_options_);
    if (absl::Status s =
            FromRocks(sst_->Open(sst_path_),
                      absl::StrCat("cannot create snapshot file ", sst_path_));
        !s.ok()) {
      return s;
    }
  }
  for (const auto& [key, value] : run_) {
    if (absl::Status s =
            FromRocks(sst_->Put(key, value),
                      absl::StrCat("cannot write snapshot file ", sst_path_,
                                   " (is the disk full?)"));
        !s.ok()) {
      return s;
    }
  }
  last_key_ = run_.back().first;
  run_.clear();
  run_bytes_ = 0;
  if (sst_->FileSize() >= options_.target_file_bytes) {
    return FinishAndIngestFile();
  }
  return absl::OkStatus();
}

absl::Status DatabaseBuilder::FinishAndIngestFile() {
  if (sst_ == nullptr) return absl::OkStatus();
  absl::Status finished = FromRocks(
      sst_->Finish(), absl::StrCat("cannot finish snapshot file ", sst_path_,
                                   " (is the disk full?)"));
  sst_.reset();
  if (!finished.ok()) return finished;
  rocksdb::IngestExternalFileOptions ingest;
  ingest.move_files = true;
  // The sequence number lives in the database's MANIFEST only, so the file
  // is not rewritten after it was written.
  ingest.write_global_seqno = false;
  return FromRocks(db_->IngestExternalFile({sst_path_}, ingest),
                   absl::StrCat("cannot add ", sst_path_,
                                " to the snapshot database in ", dir_));
}

absl::Status DatabaseBuilder::EndWalk() {
  if (absl::Status s = WriteSortedRun(); !s.ok()) return s;
  return FinishAndIngestFile();
}

void DatabaseBuilder::Put(uint32_t slot, absl::string_view key,
                          v1::KeyRecord* record) {
  record->clear_key();
  record->SerializeToString(&value_);
  batch_.Put(EncodeDatabaseKey(slot, key), value_);
}

void DatabaseBuilder::Delete(uint32_t slot, absl::string_view key) {
  batch_.Delete(EncodeDatabaseKey(slot, key));
}

void DatabaseBuilder::DeleteAll() {
  batch_.DeleteRange(SlotPrefix(0), SlotPrefix(kNumSlots));
}

absl::Status DatabaseBuilder::MaybeCommit() {
  if (batch_.GetDataSize() < options_.batch_bytes) return absl::OkStatus();
  return Commit();
}

absl::Status DatabaseBuilder::Commit() {
  if (batch_.Count() == 0) return absl::OkStatus();
  rocksdb::WriteOptions write;
  // A snapshot is valid only complete: nothing to recover from a WAL.
  write.disableWAL = true;
  absl::Status s =
      FromRocks(db_->Write(write, &batch_),
                absl::StrCat("cannot write the snapshot database in ", dir_,
                             " (is the disk full?)"));
  batch_.Clear();
  return s;
}

absl::StatusOr<DatabaseBuilder::Totals> DatabaseBuilder::Finish() {
  if (absl::Status s = Commit(); !s.ok()) return s;
  rocksdb::FlushOptions flush;
  flush.wait = true;
  if (absl::Status s =
          FromRocks(db_->Flush(flush),
                    absl::StrCat("cannot flush the snapshot database in ", dir_,
                                 " (is the disk full?)"));
      !s.ok()) {
    return s;
  }
  if (options_.compact) {
    rocksdb::CompactRangeOptions compact;
    compact.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForce;
    if (absl::Status s = FromRocks(
            db_->CompactRange(compact, nullptr, nullptr),
            absl::StrCat("cannot compact the snapshot database in ", dir_));
        !s.ok()) {
      return s;
    }
  }
  // Counted by reading the database back once: the walk's duplicates and
  // the tail's blind deletes make counts kept while writing wrong.
  Totals totals;
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  read.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++totals.keys;
    totals.bytes += it->key().size() + it->value().size();
  }
  if (absl::Status s = FromRocks(
          it->status(),
          absl::StrCat("cannot read back the snapshot database in ", dir_));
      !s.ok()) {
    return s;
  }
  it.reset();
  if (absl::Status s = FromRocks(
          db_->Close(),
          absl::StrCat("cannot close the snapshot database in ", dir_));
      !s.ok()) {
    return s;
  }
  db_.reset();
  std::error_code error;
  fs::remove_all(staging_dir_, error);
  return totals;
}

}  // namespace slotcache::node::persistence
