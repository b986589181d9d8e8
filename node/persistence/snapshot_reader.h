// SnapshotReader: opens a snapshot directory only after verifying it
// (node/persistence/manifest.h: manifest, format version, every file's
// size and CRC32C), then iterates its records, optionally only some slot
// ranges (a restore into a different number of shards loads each shard's
// ranges from every snapshot). LoadSnapshot feeds them into a Store.
//
// Never half-loaded by corruption: verification reads every byte before
// the first record is handed out. (A load can still stop midway for
// reasons outside the snapshot, e.g. maxmemory: LoadSnapshot then says how
// many keys it had restored.)
//
// Thread-safety: a SnapshotReader is used from one thread at a time.
// Several readers may open the same snapshot at once (read-only).
#ifndef SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_READER_H_
#define SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/storage/store.h"
#include "proto/common.pb.h"
#include "proto/persistence.pb.h"
#include "rocksdb/db.h"

namespace slotcache::node::persistence {

class SnapshotReader {
 public:
  // Verifies the snapshot in `directory`, then opens its database
  // read-only. NOT_FOUND without a manifest, FAILED_PRECONDITION for an
  // unknown format version, DATA_LOSS for a corrupt, truncated or missing
  // file (the message names it).
  static absl::StatusOr<std::unique_ptr<SnapshotReader>> Open(
      const std::string& directory);

  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  const v1::SnapshotManifest& manifest() const { return manifest_; }

  // Calls `visit` with each record of a slot in `slots` (empty = all), in
  // slot order, with its slot; stops at the first error `visit` returns
  // and returns it. DATA_LOSS for a record that does not decode.
  absl::Status ForEachRecord(
      const std::vector<v1::SlotRange>& slots,
      absl::FunctionRef<absl::Status(uint32_t slot,
                                     const storage::KeyRecord& record)>
          visit);

 private:
  SnapshotReader(std::string directory, v1::SnapshotManifest manifest,
                 std::unique_ptr<rocksdb::DB> db)
      : directory_(std::move(directory)),
        manifest_(std::move(manifest)),
        db_(std::move(db)) {}

  // Constant after construction.
  const std::string directory_;
  const v1::SnapshotManifest manifest_;
  const std::unique_ptr<rocksdb::DB> db_;
};

struct LoadOptions {
  // Only keys of these slots are loaded; empty = every slot.
  std::vector<v1::SlotRange> slots;
};

struct LoadResult {
  v1::SnapshotManifest manifest;
  uint64_t keys_loaded = 0;
  // Records whose expiry had passed by the store's clock: not loaded.
  uint64_t keys_expired = 0;
  // Bytes of the keys, values and hash fields read (slot prefix included).
  uint64_t bytes_read = 0;
};

// Opens (verifies) the snapshot in `directory` and restores its records in
// `options.slots` into `store` with Store::Restore (replacing keys of the
// same name), skipping expired ones. Nothing is loaded unless the whole
// snapshot verified; an error from Restore (e.g. OOM) stops the load and
// names how many keys were restored.
absl::StatusOr<LoadResult> LoadSnapshot(const std::string& directory,
                                        storage::Store* store,
                                        const LoadOptions& options = {});

}  // namespace slotcache::node::persistence

#endif  // SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_READER_H_
