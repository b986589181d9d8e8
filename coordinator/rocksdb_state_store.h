// The embedded StateStore: one RocksDB database under a folder, every write
// a synced WriteBatch.
//
// On-disk layout (format version 1, recorded under the key "format"):
//   "meta"                  StoredMeta
//   "node/<node_id>"        v1::NodeInfo
//   "shard/<shard_id>"      v1::ShardInfo
//   "op/<20-digit number>"  v1::Operation (number from its id "op-N")
//   "event/<20-digit seq>"  v1::Event
// Zero-padded numbers keep RocksDB's byte order equal to numeric order.
//
// Thread-safety: safe from any thread (RocksDB is).
#ifndef SLOTCACHE_COORDINATOR_ROCKSDB_STATE_STORE_H_
#define SLOTCACHE_COORDINATOR_ROCKSDB_STATE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/state_store.h"

namespace slotcache::coordinator {

// Opens (creating if missing) the store in `dir`. Fails with a message
// naming the folder when it is not writable, is locked by another
// coordinator, or holds an unknown format.
absl::StatusOr<std::unique_ptr<StateStore>> OpenRocksDbStateStore(
    const std::string& dir);

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_ROCKSDB_STATE_STORE_H_
