// The replication log's typed entries and key records on the wire: built
// from the store's views and records on the primary, applied to the store
// on a replica (proto/replication.proto, docs/REPLICATION.md).
//
// Thread-safety: plain functions; the store calls are thread-safe.
#ifndef SLOTCACHE_NODE_REPLICATION_LOG_ENTRY_H_
#define SLOTCACHE_NODE_REPLICATION_LOG_ENTRY_H_

#include "absl/status/status.h"
#include "node/storage/store.h"
#include "proto/replication.pb.h"

namespace slotcache::node {

// A key's state (from the store's ChangeListener) as a wire record.
void KeyViewToProto(const storage::KeyView& view, v1::KeyRecord* out);
// A snapshot record (Store::ScanSlot) as a wire record.
void KeyRecordToProto(const storage::KeyRecord& record, v1::KeyRecord* out);
// A wire record as the store's record (for Store::Restore).
storage::KeyRecord KeyRecordFromProto(const v1::KeyRecord& record);

// Applies `entry` to `store` (a replica's): `set` through Restore (which
// keeps a key whose expiry already passed on this replica's clock until
// the primary's delete arrives), `deleted_key` through Del, `flush_all`
// through FlushAll. INVALID_ARGUMENT for an entry with no change.
absl::Status ApplyLogEntry(const v1::LogEntry& entry, storage::Store* store);

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_REPLICATION_LOG_ENTRY_H_
