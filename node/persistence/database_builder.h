// DatabaseBuilder: builds a snapshot's RocksDB database (layout in
// snapshot_format.h) in two phases, for SnapshotWriter.
//
//  1. The walk: AddSlot() takes each slot's records (in any order, with
//     possible duplicates) and writes them, sorted, straight into SST files
//     (rocksdb::SstFileWriter), which are ingested into the database as
//     they fill. No memtable, no flush, no compaction: the walk's keys come
//     slot by slot, so per-slot sorting makes them globally ordered.
//  2. The tail: Put/Delete/DeleteAll go through ordinary WriteBatches (the
//     WAL off) on top of the ingested files, in log order.
//
// Finish() flushes, optionally compacts, counts the keys and closes the
// database. Nothing here is durable until Finish returned and the caller
// synced the files (manifest.h ListDatabaseFiles).
//
// Thread-safety: one thread at a time.
#ifndef SLOTCACHE_NODE_PERSISTENCE_DATABASE_BUILDER_H_
#define SLOTCACHE_NODE_PERSISTENCE_DATABASE_BUILDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/replication.pb.h"
#include "rocksdb/db.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/write_batch.h"

namespace slotcache::node::persistence {

struct DatabaseBuilderOptions {
  // Bytes of records per tail WriteBatch.
  uint64_t batch_bytes = 4ull << 20;
  // An SST file is ingested once it reaches about this size.
  uint64_t target_file_bytes = 64ull << 20;
  // Most bytes of one slot's records held for sorting; a larger slot is
  // written as several sorted runs (overlapping files, ingested in order).
  uint64_t max_sort_bytes = 64ull << 20;
  // CompactRange at the end.
  bool compact = false;
};

class DatabaseBuilder {
 public:
  // Creates the database in `dir` (which must not exist); SST files are
  // staged in `staging_dir` (created, removed by Finish).
  static absl::StatusOr<std::unique_ptr<DatabaseBuilder>> Create(
      const std::string& dir, const std::string& staging_dir,
      const DatabaseBuilderOptions& options);
  ~DatabaseBuilder();

  // ---- Phase 1: the walk, one slot at a time, ascending ----
  // Buffers one record of `slot` (`record`'s key is moved out).
  absl::Status Add(uint32_t slot, v1::KeyRecord* record);
  // Ends the walk: writes what is buffered and ingests the last file.
  absl::Status EndWalk();

  // ---- Phase 2: the tail, in log order ----
  void Put(uint32_t slot, absl::string_view key, v1::KeyRecord* record);
  void Delete(uint32_t slot, absl::string_view key);
  // FLUSHALL: every key written so far goes.
  void DeleteAll();
  // Writes the current batch once it holds batch_bytes.
  absl::Status MaybeCommit();
  absl::Status Commit();

  struct Totals {
    uint64_t keys = 0;
    uint64_t bytes = 0;  // Database keys + encoded records.
  };
  // Commits, flushes, compacts if asked, counts, closes.
  absl::StatusOr<Totals> Finish();

 private:
  DatabaseBuilder(std::unique_ptr<rocksdb::DB> db, rocksdb::Options options,
                  std::string dir, std::string staging_dir,
                  const DatabaseBuilderOptions& builder_options);

  // Sorts the buffered records and appends them to the open SST file (a
  // new one when they do not sort after its last key).
  absl::Status WriteSortedRun();
  absl::Status FinishAndIngestFile();

  std::unique_ptr<rocksdb::DB> db_;
  const rocksdb::Options db_options_;
  const std::string dir_;
  const std::string staging_dir_;
  const DatabaseBuilderOptions options_;

  // The walk's state.
  uint32_t slot_ = 0;
  // (database key, encoded record) of the current slot.
  std::vector<std::pair<std::string, std::string>> run_;
  uint64_t run_bytes_ = 0;
  std::unique_ptr<rocksdb::SstFileWriter> sst_;  // Open file, or null.
  std::string sst_path_;
  std::string last_key_;  // Last key written to the open file.
  int files_ = 0;

  // The tail's batch.
  rocksdb::WriteBatch batch_;
  std::string value_;  // Reused encoding buffer.
};

}  // namespace slotcache::node::persistence

#endif  // SLOTCACHE_NODE_PERSISTENCE_DATABASE_BUILDER_H_
