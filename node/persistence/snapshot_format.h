// The on-disk layout of a shard snapshot (format version 1), in one place:
//
//   <snapshot dir>/
//     manifest.json   SnapshotManifest (proto/persistence.proto), written
//                     last; without it the directory is not a snapshot.
//     db/             a RocksDB database, one entry per key:
//                       key   = slot (2 bytes, big-endian) + the key's bytes
//                       value = v1::KeyRecord (proto/replication.proto),
//                               binary; `key` left empty (it is the RocksDB
//                               key), expire_at_unix_ms absolute.
//
// The slot prefix sorts the database by slot, so a reader that wants only
// some slot ranges seeks to them. docs/PERSISTENCE.md has the whole format
// and the consistency argument.
//
// Thread-safety: plain functions.
#ifndef SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_FORMAT_H_
#define SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_FORMAT_H_

#include <bitset>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "google/protobuf/repeated_field.h"
#include "proto/common.pb.h"
#include "rocksdb/options.h"
#include "rocksdb/status.h"

namespace slotcache::node::persistence {

// SnapshotManifest.format of every snapshot.
inline constexpr char kSnapshotFormatName[] = "slotcache-snapshot";
// Bump on any incompatible change of the layout above; readers refuse
// versions they do not know.
inline constexpr uint32_t kSnapshotFormatVersion = 1;

inline constexpr char kManifestFileName[] = "manifest.json";
inline constexpr char kDatabaseDirName[] = "db";

// Bytes of the slot prefix of every database key.
inline constexpr size_t kSlotPrefixBytes = 2;

// The database key of `key` in `slot`.
std::string EncodeDatabaseKey(uint32_t slot, absl::string_view key);
// The 2-byte prefix every key of `slot` starts with.
std::string SlotPrefix(uint32_t slot);
// The slot and the key of a database key; nullopt when it is too short or
// its slot is out of range (a corrupt database).
struct DecodedKey {
  uint32_t slot;
  absl::string_view key;
};
absl::optional<DecodedKey> DecodeDatabaseKey(absl::string_view db_key);

// A set of slots, from inclusive ranges. Empty ranges = every slot.
// INVALID_ARGUMENT for a range with start > end or end >= 16384.
using SlotSet = std::bitset<16384>;
absl::StatusOr<SlotSet> SlotSetOf(
    const google::protobuf::RepeatedPtrField<v1::SlotRange>& ranges);

// CRC32C (Castagnoli) of a whole file, as 8 lowercase hex digits, and its
// size. With `sync`, the file is also fsync'ed (the writer makes each file
// durable as it checksums it). An I/O error names the file.
struct FileDigest {
  uint64_t size_bytes = 0;
  std::string crc32c;
};
absl::StatusOr<FileDigest> DigestFile(const std::string& path, bool sync);
// CRC32C of `bytes`, 8 lowercase hex digits.
std::string Crc32cHex(absl::string_view bytes);

// True for files of a database directory that are not part of its content
// (RocksDB's info logs, which a read-only open appends to, and LOCK).
bool IsVolatileDatabaseFile(absl::string_view name);

// A RocksDB status as an absl::Status: `what` says what was being done
// and what to do about it.
absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what);

// RocksDB options shared by the writer and the reader: no info log in the
// database directory (it would change the files the manifest lists).
void ApplyCommonOptions(rocksdb::Options* options);

// Fsyncs a directory, so a rename or a new file in it is durable.
absl::Status SyncDirectory(const std::string& dir);

}  // namespace slotcache::node::persistence

#endif  // SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_FORMAT_H_
