// Store: string commands (GET/SET family, APPEND, INCR family, MGET/MSET).
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/numbers.h"
#include "common/status.h"
#include "node/storage/store_impl.h"

namespace slotcache::node::storage {
namespace {

absl::Status NotIntegerError() {
  return RangeError("value is not an integer or out of range");
}

}  // namespace

absl::Status OverflowError() {
  return RangeError("increment or decrement would overflow");
}

absl::StatusOr<absl::optional<std::string>> Store::Get(absl::string_view key) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (k.entry == nullptr) return absl::optional<std::string>();
  if (absl::Status s = k.CheckType(EntryType::kString); !s.ok()) return s;
  impl_->Touch(k.entry);
  return absl::optional<std::string>(std::string(k.entry->value()));
}

absl::StatusOr<SetResult> Store::Set(absl::string_view key,
                                     absl::string_view value,
                                     const SetOptions& options) {
  if (absl::Status s = impl_->CheckKey(key); !s.ok()) return s;
  if (absl::Status s = impl_->CheckValue(value.size()); !s.ok()) return s;
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kWrite);
  const Entry* old = k.entry;
  SetResult result;
  if (options.get_old_value && old != nullptr) {
    if (absl::Status s = k.CheckType(EntryType::kString); !s.ok()) return s;
    result.old_value = std::string(old->value());
  }
  if ((options.condition == SetOptions::Condition::kIfAbsent &&
       old != nullptr) ||
      (options.condition == SetOptions::Condition::kIfPresent &&
       old == nullptr)) {
    return result;
  }
  result.written = true;
  int64_t expiry = -1;
  if (options.expire_at.has_value()) {
    expiry = ToMs(*options.expire_at);
    if (expiry <= k.now_ms) {
      // Already expired: the key ends up deleted (as Redis does).
      if (old != nullptr) impl_->RemoveAt(k.loc, k.index, ChangeCause::kWrite);
      return result;
    }
  } else if (options.keep_ttl && old != nullptr && old->has_expiry()) {
    expiry = old->expiry_ms();
  }
  impl_->PutString(k.loc, key, k.index, value, expiry);
  return result;
}

absl::StatusOr<absl::optional<std::string>> Store::GetEx(
    absl::string_view key, const GetExOptions& options) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (k.entry == nullptr) return absl::optional<std::string>();
  if (absl::Status s = k.CheckType(EntryType::kString); !s.ok()) return s;
  impl_->Touch(k.entry);
  absl::optional<std::string> value(std::string(k.entry->value()));
  if (options.expire_at.has_value()) {
    const int64_t expiry = ToMs(*options.expire_at);
    if (expiry <= k.now_ms) {
      impl_->RemoveAt(k.loc, k.index, ChangeCause::kWrite);
    } else {
      impl_->SetExpiry(k.loc, k.index, expiry);
    }
  } else if (options.persist) {
    impl_->SetExpiry(k.loc, k.index, -1);
  }
  return value;
}

absl::StatusOr<absl::optional<std::string>> Store::GetDel(
    absl::string_view key) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (k.entry == nullptr) return absl::optional<std::string>();
  if (absl::Status s = k.CheckType(EntryType::kString); !s.ok()) return s;
  absl::optional<std::string> value(std::string(k.entry->value()));
  impl_->RemoveAt(k.loc, k.index, ChangeCause::kWrite);
  return value;
}

absl::StatusOr<int64_t> Store::Append(absl::string_view key,
                                      absl::string_view value) {
  if (absl::Status s = impl_->CheckKey(key); !s.ok()) return s;
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kWrite);
  if (k.entry == nullptr) {
    if (absl::Status s = impl_->CheckValue(value.size()); !s.ok()) return s;
    impl_->PutString(k.loc, key, k.index, value, -1);
    return static_cast<int64_t>(value.size());
  }
  if (absl::Status s = k.CheckType(EntryType::kString); !s.ok()) return s;
  const Entry* old = k.entry;
  const size_t old_len = old->value().size();
  const size_t new_len = old_len + value.size();
  if (absl::Status s = impl_->CheckValue(new_len); !s.ok()) return s;
  if (value.empty()) return static_cast<int64_t>(old_len);
  Entry* e = Entry::Resize(old, new_len, old->has_expiry());
  std::memcpy(e->mutable_value() + old_len, value.data(), value.size());
  impl_->Touch(e);
  impl_->ReplaceEntry(k.loc, k.index, e);
  impl_->Changed(k.loc, e);
  return static_cast<int64_t>(new_len);
}

absl::StatusOr<int64_t> Store::StrLen(absl::string_view key) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (absl::Status s = k.CheckType(EntryType::kString); !s.ok()) return s;
  if (k.entry == nullptr) return int64_t{0};
  return static_cast<int64_t>(k.entry->value().size());
}

absl::StatusOr<int64_t> Store::IncrBy(absl::string_view key, int64_t delta) {
  if (absl::Status s = impl_->CheckKey(key); !s.ok()) return s;
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kWrite);
  if (absl::Status s = k.CheckType(EntryType::kString); !s.ok()) return s;
  int64_t current = 0;
  int64_t expiry = -1;
  if (k.entry != nullptr) {
    if (!ParseInt64(k.entry->value(), &current)) return NotIntegerError();
    if (k.entry->has_expiry()) expiry = k.entry->expiry_ms();
  }
  int64_t result;
  if (AddOverflows(current, delta, &result)) return OverflowError();
  impl_->PutString(k.loc, key, k.index, absl::StrCat(result), expiry);
  return result;
}

absl::StatusOr<std::string> Store::IncrByFloat(absl::string_view key,
                                               long double delta) {
  if (absl::Status s = impl_->CheckKey(key); !s.ok()) return s;
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kWrite);
  if (absl::Status s = k.CheckType(EntryType::kString); !s.ok()) return s;
  long double current = 0;
  int64_t expiry = -1;
  if (k.entry != nullptr) {
    if (!ParseLongDouble(k.entry->value(), &current)) {
      return RangeError("value is not a valid float");
    }
    if (k.entry->has_expiry()) expiry = k.entry->expiry_ms();
  }
  const long double result = current + delta;
  if (std::isnan(result) || std::isinf(result)) {
    return RangeError("increment would produce NaN or Infinity");
  }
  std::string text = FormatLongDouble(result);
  impl_->PutString(k.loc, key, k.index, text, expiry);
  return text;
}

std::vector<absl::optional<std::string>> Store::MGet(
    const std::vector<absl::string_view>& keys) {
  std::vector<absl::optional<std::string>> out(keys.size());
  const std::vector<uint32_t> stripes = Impl::StripesOf(keys);
  const int64_t now = impl_->NowMs();
  impl_->LockStripes(stripes);
  impl_->MGetLocked(keys, now, &out);
  impl_->UnlockStripes(stripes);
  return out;
}

absl::Status Store::MSet(
    const std::vector<std::pair<absl::string_view, absl::string_view>>& pairs) {
  std::vector<absl::string_view> keys;
  keys.reserve(pairs.size());
  for (const auto& [k, v] : pairs) {
    if (absl::Status s = impl_->CheckKey(k); !s.ok()) return s;
    if (absl::Status s = impl_->CheckValue(v.size()); !s.ok()) return s;
    keys.push_back(k);
  }
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  const std::vector<uint32_t> stripes = Impl::StripesOf(keys);
  const int64_t now = impl_->NowMs();
  impl_->LockStripes(stripes);
  impl_->MSetLocked(pairs, now);
  impl_->UnlockStripes(stripes);
  return absl::OkStatus();
}

// The caller holds every stripe of the keys (LockStripes), which the static
// analysis cannot follow.
void Store::Impl::MGetLocked(const std::vector<absl::string_view>& keys,
                             int64_t now,
                             std::vector<absl::optional<std::string>>* out) {
  for (size_t k = 0; k < keys.size(); ++k) {
    const Loc loc = Locate(keys[k]);
    const size_t i = FindLive(loc, keys[k], now);
    if (i == KeyTable::kNotFound) continue;
    Entry* e = Table(loc).At(i);
    if (e->type() != EntryType::kString) continue;
    Touch(e);
    (*out)[k] = std::string(e->value());
  }
}

void Store::Impl::MSetLocked(
    const std::vector<std::pair<absl::string_view, absl::string_view>>& pairs,
    int64_t now) {
  for (const auto& [k, v] : pairs) {
    const Loc loc = Locate(k);
    PutString(loc, k, FindForWrite(loc, k, now), v, -1);
  }
}

}  // namespace slotcache::node::storage
