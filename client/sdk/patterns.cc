#include "client/sdk/patterns.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace slotcache {

absl::StatusOr<std::string> CacheAside::GetOrLoad(absl::string_view key,
                                                  const Loader& loader,
                                                  absl::Duration ttl) {
  absl::StatusOr<std::optional<std::string>> cached = client_->Get(key);
  if (cached.ok() && cached->has_value()) return std::move(**cached);
  return flights_.Do(key, [&]() -> absl::StatusOr<std::string> {
    // A run that finished between our miss and now has filled the cache
    // (the fill happens before a run completes): look again, so a key is
    // loaded once per expiry however the callers interleave.
    if (cached.ok()) {
      absl::StatusOr<std::optional<std::string>> again = client_->Get(key);
      if (again.ok() && again->has_value()) return std::move(**again);
    }
    {
      absl::MutexLock lock(&mu_);
      ++loads_;
    }
    absl::StatusOr<std::string> loaded = loader();
    if (!loaded.ok()) return loaded.status();
    // Best effort: a failed fill only costs a later reload.
    (void)client_->Set(key, *loaded, SetOptions::WithTtl(ttl));
    return loaded;
  });
}

uint64_t CacheAside::loads() const {
  absl::MutexLock lock(&mu_);
  return loads_;
}

absl::Status WriteThrough::Put(absl::string_view key, absl::string_view value,
                               const StoreWriter& store_writer,
                               absl::Duration ttl) {
  absl::Status stored = store_writer();
  if (!stored.ok()) return stored;  // Cache untouched.
  absl::StatusOr<bool> cached =
      client_->Set(key, value, SetOptions::WithTtl(ttl));
  if (cached.ok()) return absl::OkStatus();
  // The cache may still hold the previous value: drop it so readers go to
  // the store, which has the new one.
  absl::StatusOr<int64_t> deleted = client_->Del(key);
  absl::Status error = cached.status();
  absl::Status out(
      error.code(),
      absl::StrCat("write-through of key '", key,
                   "': the store has the new value but the cache write "
                   "failed (",
                   error.message(), "); ",
                   deleted.ok() ? "the cache key was deleted"
                                : "deleting the cache key also failed, so "
                                  "readers may see the old value until its "
                                  "TTL ends",
                   ". Retrying the Put is safe"));
  error.ForEachPayload([&out](absl::string_view url, const absl::Cord& p) {
    out.SetPayload(url, p);
  });
  return out;
}

std::string SessionStore::KeyOf(absl::string_view id) const {
  return absl::StrCat(prefix_, "{", id, "}");
}

absl::Status SessionStore::Create(absl::string_view id, const Fields& fields) {
  if (fields.empty()) {
    return InvalidInputError(
        "a session needs at least one field (a hash cannot be empty)");
  }
  const std::string key = KeyOf(id);
  // Sequential on purpose: commands in different in-flight batches may
  // run concurrently on the node.
  absl::StatusOr<int64_t> deleted = client_->Del(key);
  if (!deleted.ok()) return deleted.status();
  std::vector<std::pair<std::string, std::string>> pairs(fields.begin(),
                                                         fields.end());
  absl::StatusOr<int64_t> set = client_->HSet(key, pairs);
  if (!set.ok()) return set.status();
  absl::StatusOr<bool> expire = client_->Expire(key, idle_ttl_);
  return expire.status();
}

absl::StatusOr<std::optional<SessionStore::Fields>> SessionStore::Get(
    absl::string_view id) {
  const std::string key = KeyOf(id);
  // Read and refresh concurrently: one round trip (they batch together).
  auto fields = client_->ExecuteAsync(MakeCommand("HGETALL", {key}));
  absl::StatusOr<bool> touched = Touch(id);
  absl::StatusOr<v1::Value> value = fields.get();
  if (!value.ok()) return value.status();
  if (!touched.ok()) return touched.status();
  if (value->kind_case() != v1::Value::kArray ||
      value->array().values_size() == 0) {
    return std::optional<Fields>();
  }
  Fields out;
  const auto& values = value->array().values();
  for (int i = 0; i + 1 < values.size(); i += 2) {
    out[values.Get(i).bulk()] = values.Get(i + 1).bulk();
  }
  return std::optional<Fields>(std::move(out));
}

absl::StatusOr<std::optional<std::string>> SessionStore::GetField(
    absl::string_view id, absl::string_view field) {
  auto value = client_->HGetAsync(KeyOf(id), field);
  absl::StatusOr<bool> touched = Touch(id);
  absl::StatusOr<std::optional<std::string>> out = value.get();
  if (out.ok() && !touched.ok()) return touched.status();
  return out;
}

absl::Status SessionStore::Set(absl::string_view id, absl::string_view field,
                               absl::string_view value) {
  const std::string key = KeyOf(id);
  absl::StatusOr<bool> exists = Touch(id);
  if (!exists.ok()) return exists.status();
  if (!*exists) {
    return MakeError(v1::NO_SUCH_KEY,
                     absl::StrCat("session '", id,
                                  "' does not exist or expired; create it "
                                  "again"));
  }
  absl::StatusOr<int64_t> set = client_->HSet(key, field, value);
  if (!set.ok()) return set.status();
  // Again after the write: should the session have expired between the
  // check and HSET, the hash HSET created still gets a TTL, never leaks.
  return Touch(id).status();
}

absl::StatusOr<bool> SessionStore::Touch(absl::string_view id) {
  return client_->Expire(KeyOf(id), idle_ttl_);
}

absl::StatusOr<bool> SessionStore::Destroy(absl::string_view id) {
  absl::StatusOr<int64_t> deleted = client_->Del(KeyOf(id));
  if (!deleted.ok()) return deleted.status();
  return *deleted > 0;
}

}  // namespace slotcache
