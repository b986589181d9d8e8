// Store: hash commands (HSET, HGET, HMGET, HDEL, HGETALL, HINCRBY, HLEN,
// HEXISTS).
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/numbers.h"
#include "common/status.h"
#include "node/storage/store_impl.h"

namespace slotcache::node::storage {
absl::StatusOr<int64_t> Store::HSet(
    absl::string_view key,
    const std::vector<std::pair<absl::string_view, absl::string_view>>&
        fields) {
  if (absl::Status s = impl_->CheckKey(key); !s.ok()) return s;
  for (const auto& [f, v] : fields) {
    if (absl::Status s = impl_->CheckValue(std::max(f.size(), v.size()));
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kWrite);
  if (absl::Status s = k.CheckType(EntryType::kHash); !s.ok()) return s;
  Entry* e = impl_->HashForWrite(k.loc, key, k.entry);
  HashValue* h = e->hash();
  int64_t delta = -static_cast<int64_t>(HashTableBytes(*h));
  int64_t added = 0;
  for (const auto& [f, v] : fields) {
    auto [it, inserted] = h->try_emplace(std::string(f));
    if (inserted) {
      ++added;
      delta += StringHeapBytes(it->first);
    }
    delta -= StringHeapBytes(it->second);
    it->second.assign(v.data(), v.size());
    delta += StringHeapBytes(it->second);
  }
  delta += HashTableBytes(*h);
  impl_->AddMemory(delta);
  impl_->Changed(k.loc, e);
  return added;
}

absl::StatusOr<absl::optional<std::string>> Store::HGet(
    absl::string_view key, absl::string_view field) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (k.entry == nullptr) return absl::optional<std::string>();
  if (absl::Status s = k.CheckType(EntryType::kHash); !s.ok()) return s;
  impl_->Touch(k.entry);
  auto it = k.entry->hash()->find(field);
  if (it == k.entry->hash()->end()) return absl::optional<std::string>();
  return absl::optional<std::string>(it->second);
}

absl::StatusOr<std::vector<absl::optional<std::string>>> Store::HMGet(
    absl::string_view key, const std::vector<absl::string_view>& fields) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  std::vector<absl::optional<std::string>> out(fields.size());
  if (k.entry == nullptr) return out;
  if (absl::Status s = k.CheckType(EntryType::kHash); !s.ok()) return s;
  impl_->Touch(k.entry);
  const HashValue& h = *k.entry->hash();
  for (size_t i = 0; i < fields.size(); ++i) {
    auto it = h.find(fields[i]);
    if (it != h.end()) out[i] = it->second;
  }
  return out;
}

absl::StatusOr<int64_t> Store::HDel(
    absl::string_view key, const std::vector<absl::string_view>& fields) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (k.entry == nullptr) return int64_t{0};
  if (absl::Status s = k.CheckType(EntryType::kHash); !s.ok()) return s;
  HashValue* h = k.entry->hash();
  int64_t removed = 0;
  int64_t freed = 0;
  for (absl::string_view f : fields) {
    auto it = h->find(f);
    if (it == h->end()) continue;
    freed += StringHeapBytes(it->first) + StringHeapBytes(it->second);
    h->erase(it);
    ++removed;
  }
  if (removed == 0) return removed;
  impl_->AddMemory(-freed);
  if (h->empty()) {
    impl_->RemoveAt(k.loc, k.index, ChangeCause::kWrite);
  } else {
    impl_->Changed(k.loc, k.entry);
  }
  return removed;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Store::HGetAll(
    absl::string_view key) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  std::vector<std::pair<std::string, std::string>> out;
  if (k.entry == nullptr) return out;
  if (absl::Status s = k.CheckType(EntryType::kHash); !s.ok()) return s;
  impl_->Touch(k.entry);
  out.assign(k.entry->hash()->begin(), k.entry->hash()->end());
  return out;
}

absl::StatusOr<int64_t> Store::HIncrBy(absl::string_view key,
                                       absl::string_view field, int64_t delta) {
  if (absl::Status s = impl_->CheckKey(key); !s.ok()) return s;
  if (absl::Status s = impl_->CheckValue(field.size()); !s.ok()) return s;
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kWrite);
  if (absl::Status s = k.CheckType(EntryType::kHash); !s.ok()) return s;
  int64_t current = 0;
  if (k.entry != nullptr) {
    auto it = k.entry->hash()->find(field);
    if (it != k.entry->hash()->end() && !ParseInt64(it->second, &current)) {
      return RangeError("hash value is not an integer");
    }
  }
  int64_t result;
  if (AddOverflows(current, delta, &result)) return OverflowError();
  // Every check passed: now mutate.
  Entry* e = impl_->HashForWrite(k.loc, key, k.entry);
  HashValue* h = e->hash();
  int64_t mem = -static_cast<int64_t>(HashTableBytes(*h));
  auto [it, inserted] = h->try_emplace(std::string(field));
  if (inserted) mem += StringHeapBytes(it->first);
  mem -= StringHeapBytes(it->second);
  it->second = absl::StrCat(result);
  mem += StringHeapBytes(it->second) + HashTableBytes(*h);
  impl_->AddMemory(mem);
  impl_->Changed(k.loc, e);
  return result;
}

absl::StatusOr<int64_t> Store::HLen(absl::string_view key) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (absl::Status s = k.CheckType(EntryType::kHash); !s.ok()) return s;
  if (k.entry == nullptr) return int64_t{0};
  return static_cast<int64_t>(k.entry->hash()->size());
}

absl::StatusOr<bool> Store::HExists(absl::string_view key,
                                    absl::string_view field) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (absl::Status s = k.CheckType(EntryType::kHash); !s.ok()) return s;
  if (k.entry == nullptr) return false;
  return k.entry->hash()->contains(field);
}

}  // namespace slotcache::node::storage
