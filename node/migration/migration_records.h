// The pure pieces of the slot-migration stream (proto/migration.proto,
// docs/RESHARDING.md), apart from the RPC plumbing so they test alone:
//
//  - SlotSet: the migrating slots, from the wire's ranges.
//  - ChunkBuilder (source): packs snapshot records into MigrationChunks of
//    about a chunk size, splitting a value bigger than that into pieces.
//  - FilterEntries (source): keeps the log entries that touch the slots.
//  - RecordAssembler (target): joins a key's pieces into one record.
//
// Thread-safety: SlotSet is a value; a ChunkBuilder or RecordAssembler is
// used by one thread at a time.
#ifndef SLOTCACHE_NODE_MIGRATION_MIGRATION_RECORDS_H_
#define SLOTCACHE_NODE_MIGRATION_MIGRATION_RECORDS_H_

#include <bitset>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/slot.h"
#include "google/protobuf/repeated_field.h"
#include "node/storage/store.h"
#include "proto/common.pb.h"
#include "proto/migration.pb.h"
#include "proto/replication.pb.h"

namespace slotcache::node::migration {

using SlotSet = std::bitset<kNumSlots>;

// INVALID_ARGUMENT for no ranges or a range outside 0..16383 / start > end.
absl::StatusOr<SlotSet> SlotSetFromRanges(
    const google::protobuf::RepeatedPtrField<v1::SlotRange>& ranges);
// The slots in ascending order.
std::vector<uint32_t> SlotList(const SlotSet& slots);
// "0-99,200" (logs and errors).
std::string SlotSetString(const SlotSet& slots);

// Packs records into chunks. Add() hands every chunk that is full to
// `emit`; Flush() hands the last one. The pieces of one key are emitted
// consecutively, in order.
class ChunkBuilder {
 public:
  using Emit = std::function<bool(v1::MigrationChunk* chunk)>;
  // `emit` returns false when the stream broke (Add/Flush then return
  // false too).
  ChunkBuilder(uint64_t chunk_bytes, Emit emit)
      : chunk_bytes_(chunk_bytes), emit_(std::move(emit)) {}

  bool Add(const storage::KeyRecord& record);
  bool Flush();

  uint64_t records_added() const { return records_; }

 private:
  // Appends one piece; emits the chunk first when the piece would not fit.
  bool Put(v1::MigrationRecord piece, uint64_t bytes);

  const uint64_t chunk_bytes_;
  const Emit emit_;
  v1::MigrationChunk chunk_;
  uint64_t bytes_ = 0;
  uint64_t records_ = 0;
};

// True when `entry` changes a key of `slots` (FLUSHALL changes them all).
bool EntryTouches(const v1::LogEntry& entry, const SlotSet& slots);
// Appends the entries of `in` that touch `slots` to `out`.
void FilterEntries(const v1::LogEntries& in, const SlotSet& slots,
                   v1::LogEntries* out);

// Joins pieces into whole records (the target's side of ChunkBuilder).
class RecordAssembler {
 public:
  // The whole record once its last piece arrived, nullopt while more
  // pieces follow. INVALID_ARGUMENT for a continuation without a first
  // piece, a new key while one is unfinished, or pieces that disagree on
  // the key or type.
  absl::StatusOr<std::optional<storage::KeyRecord>> Add(
      const v1::MigrationRecord& piece);
  // A key whose last piece has not arrived yet.
  bool pending() const { return pending_.has_value(); }

 private:
  std::optional<storage::KeyRecord> pending_;
};

// Rough bytes of `record` (progress counters, chunk sizing).
uint64_t RecordBytes(const storage::KeyRecord& record);

}  // namespace slotcache::node::migration

#endif  // SLOTCACHE_NODE_MIGRATION_MIGRATION_RECORDS_H_
