#include "node/migration/migration_records.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "node/replication/log_entry.h"

namespace slotcache::node::migration {
namespace {

// Per-piece overhead counted against the chunk (tags, lengths, expiry).
constexpr uint64_t kPieceOverheadBytes = 32;
constexpr uint64_t kFieldOverheadBytes = 16;

void SetHeader(const storage::KeyRecord& r, v1::KeyRecord* out) {
  out->set_key(r.key);
  out->set_type(r.type == storage::ValueType::kHash ? v1::HASH : v1::STRING);
  if (r.expire_at.has_value()) {
    out->set_expire_at_unix_ms(absl::ToUnixMillis(*r.expire_at));
  }
}

}  // namespace

absl::StatusOr<SlotSet> SlotSetFromRanges(
    const google::protobuf::RepeatedPtrField<v1::SlotRange>& ranges) {
  SlotSet slots;
  for (const v1::SlotRange& range : ranges) {
    if (range.start() > range.end() || range.end() >= kNumSlots) {
      return InvalidInputError(absl::StrCat(
          "slot range ", range.start(), "-", range.end(),
          " is invalid; ranges must satisfy start <= end <= ", kNumSlots - 1));
    }
    for (uint32_t slot = range.start(); slot <= range.end(); ++slot) {
      slots.set(slot);
    }
  }
  if (slots.none()) {
    return InvalidInputError("no slots given; name at least one slot range");
  }
  return slots;
}

std::vector<uint32_t> SlotList(const SlotSet& slots) {
  std::vector<uint32_t> out;
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (slots.test(slot)) out.push_back(slot);
  }
  return out;
}

std::string SlotSetString(const SlotSet& slots) {
  std::vector<std::string> parts;
  uint32_t slot = 0;
  while (slot < kNumSlots) {
    if (!slots.test(slot)) {
      ++slot;
      continue;
    }
    uint32_t end = slot;
    while (end + 1 < kNumSlots && slots.test(end + 1)) ++end;
    parts.push_back(end == slot ? absl::StrCat(slot)
                                : absl::StrCat(slot, "-", end));
    slot = end + 1;
  }
  return absl::StrJoin(parts, ",");
}

uint64_t RecordBytes(const storage::KeyRecord& r) {
  uint64_t bytes = kPieceOverheadBytes + r.key.size() + r.value.size();
  for (const auto& [field, value] : r.fields) {
    bytes += kFieldOverheadBytes + field.size() + value.size();
  }
  return bytes;
}

bool ChunkBuilder::Add(const storage::KeyRecord& r) {
  ++records_;
  const uint64_t whole = RecordBytes(r);
  if (whole <= chunk_bytes_) {
    v1::MigrationRecord piece;
    KeyRecordToProto(r, piece.mutable_record());
    return Put(std::move(piece), whole);
  }
  // Too big for one chunk: pieces of at most about chunk_bytes_ each. The
  // first carries the header; every piece names the key so the target
  // can check that pieces belong together.
  const uint64_t header = kPieceOverheadBytes + r.key.size();
  const uint64_t room = chunk_bytes_ > header ? chunk_bytes_ - header : 1;
  std::vector<v1::MigrationRecord> pieces;
  if (r.type == storage::ValueType::kString) {
    size_t at = 0;
    do {
      const size_t n = std::min<size_t>(room, r.value.size() - at);
      v1::MigrationRecord& piece = pieces.emplace_back();
      SetHeader(r, piece.mutable_record());
      piece.mutable_record()->set_string_value(r.value.substr(at, n));
      at += n;
    } while (at < r.value.size());
  } else {
    uint64_t bytes = room;  // Forces a first piece.
    for (const auto& [field, value] : r.fields) {
      const uint64_t b = kFieldOverheadBytes + field.size() + value.size();
      if (bytes > 0 && bytes + b > room) {
        SetHeader(r, pieces.emplace_back().mutable_record());
        bytes = 0;
      }
      v1::HashField* f = pieces.back().mutable_record()->add_hash_fields();
      f->set_field(field);
      f->set_value(value);
      bytes += b;
    }
    if (pieces.empty()) SetHeader(r, pieces.emplace_back().mutable_record());
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    pieces[i].set_continuation(i > 0);
    pieces[i].set_more_follows(i + 1 < pieces.size());
    if (i > 0) pieces[i].mutable_record()->clear_expire_at_unix_ms();
    const uint64_t bytes = pieces[i].ByteSizeLong();
    if (!Put(std::move(pieces[i]), bytes)) return false;
  }
  return true;
}

bool ChunkBuilder::Put(v1::MigrationRecord piece, uint64_t bytes) {
  if (bytes_ > 0 && bytes_ + bytes > chunk_bytes_) {
    if (!Flush()) return false;
  }
  *chunk_.add_records() = std::move(piece);
  bytes_ += bytes;
  return true;
}

bool ChunkBuilder::Flush() {
  if (chunk_.records_size() == 0) return true;
  const bool ok = emit_(&chunk_);
  chunk_.Clear();
  bytes_ = 0;
  return ok;
}

bool EntryTouches(const v1::LogEntry& entry, const SlotSet& slots) {
  switch (entry.change_case()) {
    case v1::LogEntry::kSet:
      return slots.test(KeySlot(entry.set().key()));
    case v1::LogEntry::kDeletedKey:
      return slots.test(KeySlot(entry.deleted_key()));
    case v1::LogEntry::kFlushAll:
      return true;
    default:
      return false;
  }
}

void FilterEntries(const v1::LogEntries& in, const SlotSet& slots,
                   v1::LogEntries* out) {
  for (const v1::LogEntry& entry : in.entries()) {
    if (EntryTouches(entry, slots)) *out->add_entries() = entry;
  }
}

absl::StatusOr<std::optional<storage::KeyRecord>> RecordAssembler::Add(
    const v1::MigrationRecord& piece) {
  const v1::KeyRecord& r = piece.record();
  if (!piece.continuation()) {
    if (pending_.has_value()) {
      return InvalidInputError(
          absl::StrCat("migration stream sent key '", r.key(),
                       "' before the last piece of '", pending_->key,
                       "'; the source is broken, abort and retry the import"));
    }
    if (r.type() != v1::STRING && r.type() != v1::HASH) {
      return InvalidInputError(
          absl::StrCat("migration record for key '", r.key(),
                       "' has no string or hash type; the source is broken"));
    }
    storage::KeyRecord record = KeyRecordFromProto(r);
    if (!piece.more_follows()) return std::optional(std::move(record));
    pending_ = std::move(record);
    return std::optional<storage::KeyRecord>();
  }
  if (!pending_.has_value()) {
    return InvalidInputError(absl::StrCat(
        "migration stream sent a continuation piece of key '", r.key(),
        "' without its first piece; the source is broken"));
  }
  const bool hash = pending_->type == storage::ValueType::kHash;
  if (r.key() != pending_->key || (r.type() == v1::HASH) != hash) {
    return InvalidInputError(
        absl::StrCat("migration stream sent a piece of key '", r.key(),
                     "' while assembling '", pending_->key,
                     "' (or with another type); the source is broken"));
  }
  if (hash) {
    for (const v1::HashField& f : r.hash_fields()) {
      pending_->fields.emplace_back(f.field(), f.value());
    }
  } else {
    pending_->value.append(r.string_value());
  }
  if (piece.more_follows()) return std::optional<storage::KeyRecord>();
  std::optional<storage::KeyRecord> done = std::move(pending_);
  pending_.reset();
  return done;
}

}  // namespace slotcache::node::migration
