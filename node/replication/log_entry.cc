#include "node/replication/log_entry.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace slotcache::node {

void KeyViewToProto(const storage::KeyView& view, v1::KeyRecord* out) {
  const absl::string_view key = view.key();
  out->set_key(key.data(), key.size());
  if (view.type() == storage::ValueType::kString) {
    out->set_type(v1::STRING);
    const absl::string_view value = view.string_value();
    out->set_string_value(value.data(), value.size());
  } else {
    out->set_type(v1::HASH);
    out->mutable_hash_fields()->Reserve(static_cast<int>(view.field_count()));
    view.ForEachField([out](absl::string_view field, absl::string_view value) {
      v1::HashField* f = out->add_hash_fields();
      f->set_field(field.data(), field.size());
      f->set_value(value.data(), value.size());
    });
  }
  if (absl::optional<absl::Time> at = view.expire_at(); at.has_value()) {
    out->set_expire_at_unix_ms(absl::ToUnixMillis(*at));
  }
}

void KeyRecordToProto(const storage::KeyRecord& r, v1::KeyRecord* out) {
  out->set_key(r.key);
  if (r.type == storage::ValueType::kString) {
    out->set_type(v1::STRING);
    out->set_string_value(r.value);
  } else {
    out->set_type(v1::HASH);
    for (const auto& [field, value] : r.fields) {
      v1::HashField* f = out->add_hash_fields();
      f->set_field(field);
      f->set_value(value);
    }
  }
  if (r.expire_at.has_value()) {
    out->set_expire_at_unix_ms(absl::ToUnixMillis(*r.expire_at));
  }
}

storage::KeyRecord KeyRecordFromProto(const v1::KeyRecord& r) {
  storage::KeyRecord out;
  out.key = r.key();
  if (r.type() == v1::HASH) {
    out.type = storage::ValueType::kHash;
    for (const v1::HashField& f : r.hash_fields()) {
      out.fields.emplace_back(f.field(), f.value());
    }
  } else {
    out.type = storage::ValueType::kString;
    out.value = r.string_value();
  }
  if (r.expire_at_unix_ms() > 0) {
    out.expire_at = absl::FromUnixMillis(r.expire_at_unix_ms());
  }
  return out;
}

absl::Status ApplyLogEntry(const v1::LogEntry& entry, storage::Store* store) {
  switch (entry.change_case()) {
    case v1::LogEntry::kSet:
      return store->Restore(KeyRecordFromProto(entry.set()));
    case v1::LogEntry::kDeletedKey:
      store->Del(entry.deleted_key());
      return absl::OkStatus();
    case v1::LogEntry::kFlushAll:
      store->FlushAll();
      return absl::OkStatus();
    case v1::LogEntry::CHANGE_NOT_SET:
      break;
  }
  return InvalidInputError(absl::StrCat(
      "replication entry at offset ", entry.offset(),
      " carries no change (set, deleted_key or flush_all); the primary and "
      "this replica disagree on the log format: run the same slotcache "
      "version on both"));
}

}  // namespace slotcache::node
