// Store: construction, the table mutations every operation shares, limits,
// stats and runtime config. The operations live in store_*.cc by concern
// (see store_impl.h).
#include "node/storage/store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "node/storage/store_impl.h"

namespace slotcache::node::storage {

absl::StatusOr<EvictionPolicy> ParseEvictionPolicy(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (EvictionPolicy p :
       {EvictionPolicy::kNoEviction, EvictionPolicy::kAllKeysLru,
        EvictionPolicy::kAllKeysLfu, EvictionPolicy::kAllKeysRandom,
        EvictionPolicy::kVolatileLru, EvictionPolicy::kVolatileLfu,
        EvictionPolicy::kVolatileRandom, EvictionPolicy::kVolatileTtl}) {
    if (lower == EvictionPolicyName(p)) return p;
  }
  return InvalidInputError(absl::StrCat(
      "unknown eviction policy '", name,
      "'; use noeviction, allkeys-lru, allkeys-lfu, allkeys-random, "
      "volatile-lru, volatile-lfu, volatile-random or volatile-ttl"));
}

absl::string_view EvictionPolicyName(EvictionPolicy policy) {
  switch (policy) {
    case EvictionPolicy::kNoEviction:
      return "noeviction";
    case EvictionPolicy::kAllKeysLru:
      return "allkeys-lru";
    case EvictionPolicy::kAllKeysLfu:
      return "allkeys-lfu";
    case EvictionPolicy::kAllKeysRandom:
      return "allkeys-random";
    case EvictionPolicy::kVolatileLru:
      return "volatile-lru";
    case EvictionPolicy::kVolatileLfu:
      return "volatile-lfu";
    case EvictionPolicy::kVolatileRandom:
      return "volatile-random";
    case EvictionPolicy::kVolatileTtl:
      return "volatile-ttl";
  }
  return "unknown";
}

absl::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kNone:
      return "none";
    case ValueType::kString:
      return "string";
    case ValueType::kHash:
      return "hash";
  }
  return "none";
}

// ---- KeyView ----

absl::string_view KeyView::key() const { return entry_->key(); }

ValueType KeyView::type() const {
  return entry_->type() == EntryType::kString ? ValueType::kString
                                              : ValueType::kHash;
}

absl::string_view KeyView::string_value() const { return entry_->value(); }

size_t KeyView::field_count() const { return entry_->hash()->size(); }

void KeyView::ForEachField(
    absl::FunctionRef<void(absl::string_view, absl::string_view)> fn) const {
  for (const auto& [field, value] : *entry_->hash()) fn(field, value);
}

absl::optional<absl::Time> KeyView::expire_at() const {
  if (!entry_->has_expiry()) return absl::nullopt;
  return absl::FromUnixMillis(entry_->expiry_ms());
}

// ---- Store::Impl ----

Store::Impl::Impl(StoreOptions options)
    : options_(options),
      stripes_(new Stripe[kNumStripes]),
      maxmemory_(options.maxmemory_bytes),
      policy_(options.eviction_policy),
      replica_(options.replica) {
  for (auto& n : slot_sizes_) n.store(0, std::memory_order_relaxed);
}

Store::Impl::~Impl() {
  StopActiveExpiry();
  // No other thread may use a store being destroyed: no locks needed.
  ClearAllLocked();
}

Store::Impl::LockedKey::LockedKey(Impl* impl, absl::string_view key,
                                  Access access)
    : loc(impl->Locate(key)), now_ms(impl->NowMs()) {
  loc.stripe->mu.Lock();
  index = access == Access::kRead ? impl->FindLive(loc, key, now_ms)
                                  : impl->FindForWrite(loc, key, now_ms);
  entry = index == KeyTable::kNotFound ? nullptr : impl->Table(loc).At(index);
}

Store::Impl::LockedKey::~LockedKey() { loc.stripe->mu.Unlock(); }

absl::Status Store::Impl::LockedKey::CheckType(EntryType type) const {
  if (entry != nullptr && entry->type() != type) return WrongTypeError();
  return absl::OkStatus();
}

int64_t Store::Impl::EntryBytes(const Entry* e) {
  int64_t bytes = static_cast<int64_t>(e->AllocatedBytes());
  if (e->type() == EntryType::kHash) bytes += HashValueBytes(*e->hash());
  return bytes;
}

void Store::Impl::InsertEntry(const Loc& loc, Entry* e) {
  KeyTable& t = Table(loc);
  const int64_t before = t.AllocatedBytes();
  t.Insert(e, loc.hash);
  AddMemory(static_cast<int64_t>(t.AllocatedBytes()) - before + EntryBytes(e));
  loc.stripe->keys.fetch_add(1, std::memory_order_relaxed);
  slot_sizes_[loc.slot].fetch_add(1, std::memory_order_relaxed);
  if (e->has_expiry()) AdjustVolatile(loc, 1);
}

void Store::Impl::ReplaceEntry(const Loc& loc, size_t index, Entry* e) {
  KeyTable& t = Table(loc);
  Entry* old = t.At(index);
  // A hash value that did not move to `e` is freed with the old block.
  const bool hash_freed =
      old->type() == EntryType::kHash &&
      !(e->type() == EntryType::kHash && e->hash() == old->hash());
  const int64_t old_value_bytes =
      hash_freed ? static_cast<int64_t>(HashValueBytes(*old->hash())) : 0;
  AddMemory(static_cast<int64_t>(e->AllocatedBytes()) -
            static_cast<int64_t>(old->AllocatedBytes()) - old_value_bytes);
  const int vol = int{e->has_expiry()} - int{old->has_expiry()};
  if (vol != 0) AdjustVolatile(loc, vol);
  t.Replace(index, e);
  Entry::FreeReplaced(old, e);
}

void Store::Impl::RemoveAt(const Loc& loc, size_t index,
                           absl::optional<ChangeCause> cause) {
  KeyTable& t = Table(loc);
  Entry* e = t.At(index);
  const int64_t before = t.AllocatedBytes();
  if (e->has_expiry()) AdjustVolatile(loc, -1);
  t.EraseAt(index);
  AddMemory(static_cast<int64_t>(t.AllocatedBytes()) - before - EntryBytes(e));
  loc.stripe->keys.fetch_sub(1, std::memory_order_relaxed);
  slot_sizes_[loc.slot].fetch_sub(1, std::memory_order_relaxed);
  if (cause.has_value()) {
    if (*cause == ChangeCause::kExpired) {
      expired_.fetch_add(1, std::memory_order_relaxed);
    } else if (*cause == ChangeCause::kEvicted) {
      evicted_.fetch_add(1, std::memory_order_relaxed);
    }
    if (options_.listener != nullptr) {
      options_.listener->OnKeyChanged(loc.slot, e->key(), nullptr, *cause);
    }
  }
  Entry::DestroyWithValue(e);
}

void Store::Impl::Changed(const Loc& loc, const Entry* e) {
  if (options_.listener == nullptr) return;
  const KeyView view(e);
  options_.listener->OnKeyChanged(loc.slot, e->key(), &view,
                                  ChangeCause::kWrite);
}

void Store::Impl::AdjustVolatile(const Loc& loc, int delta) {
  Table(loc).AdjustVolatile(delta);
  loc.stripe->volatile_keys.fetch_add(delta, std::memory_order_relaxed);
  volatile_keys_.fetch_add(delta, std::memory_order_relaxed);
}

size_t Store::Impl::FindLive(const Loc& loc, absl::string_view key,
                             int64_t now_ms) {
  const size_t i = Table(loc).Find(key, loc.hash);
  if (i == KeyTable::kNotFound) return i;
  if (!IsExpired(Table(loc).At(i), now_ms)) return i;
  if (!replica_.load(std::memory_order_relaxed)) {
    RemoveAt(loc, i, ChangeCause::kExpired);
  }
  return KeyTable::kNotFound;
}

size_t Store::Impl::FindForWrite(const Loc& loc, absl::string_view key,
                                 int64_t now_ms) {
  const size_t i = Table(loc).Find(key, loc.hash);
  if (i == KeyTable::kNotFound) return i;
  if (!IsExpired(Table(loc).At(i), now_ms)) return i;
  const bool replica = replica_.load(std::memory_order_relaxed);
  RemoveAt(loc, i,
           replica ? absl::nullopt
                   : absl::optional<ChangeCause>(ChangeCause::kExpired));
  return KeyTable::kNotFound;
}

void Store::Impl::PutString(const Loc& loc, absl::string_view key, size_t index,
                            absl::string_view value, int64_t expiry_ms) {
  const bool has_expiry = expiry_ms >= 0;
  if (index != KeyTable::kNotFound) {
    Entry* old = Table(loc).At(index);
    if (old->type() == EntryType::kString &&
        old->value().size() == value.size() &&
        old->has_expiry() == has_expiry) {
      if (!value.empty()) {
        std::memcpy(old->mutable_value(), value.data(), value.size());
      }
      if (has_expiry) old->set_expiry_ms(expiry_ms);
      Touch(old);
      Changed(loc, old);
      return;
    }
    Entry* e = Entry::CreateString(key, value, has_expiry);
    if (has_expiry) e->set_expiry_ms(expiry_ms);
    e->set_access(old->access());
    Touch(e);
    ReplaceEntry(loc, index, e);
    Changed(loc, e);
    return;
  }
  Entry* e = Entry::CreateString(key, value, has_expiry);
  if (has_expiry) e->set_expiry_ms(expiry_ms);
  InitAccess(e);
  InsertEntry(loc, e);
  Changed(loc, e);
}

void Store::Impl::SetExpiry(const Loc& loc, size_t index, int64_t expiry_ms) {
  Entry* old = Table(loc).At(index);
  const bool has_expiry = expiry_ms >= 0;
  if (old->has_expiry() == has_expiry) {
    if (!has_expiry || old->expiry_ms() == expiry_ms) return;  // No change.
    old->set_expiry_ms(expiry_ms);
    Changed(loc, old);
    return;
  }
  Entry* e = Entry::Resize(old, old->value().size(), has_expiry);
  if (has_expiry) e->set_expiry_ms(expiry_ms);
  ReplaceEntry(loc, index, e);
  Changed(loc, e);
}

Entry* Store::Impl::HashForWrite(const Loc& loc, absl::string_view key,
                                 Entry* existing) {
  if (existing != nullptr) {
    Touch(existing);
    return existing;
  }
  Entry* e = Entry::CreateHash(key, /*has_expiry=*/false);
  InitAccess(e);
  InsertEntry(loc, e);
  return e;
}

int64_t Store::Impl::ClearTableLocked(const Loc& loc) {
  KeyTable& t = Table(loc);
  const int64_t n = t.size();
  if (n == 0) return 0;
  int64_t bytes = t.AllocatedBytes();
  t.ForEach([&](Entry* e) {
    bytes += EntryBytes(e);
    Entry::DestroyWithValue(e);
  });
  const int64_t vol = t.volatile_count();
  t.Reset();
  AddMemory(-bytes);
  loc.stripe->keys.fetch_sub(n, std::memory_order_relaxed);
  loc.stripe->volatile_keys.fetch_sub(vol, std::memory_order_relaxed);
  volatile_keys_.fetch_sub(vol, std::memory_order_relaxed);
  slot_sizes_[loc.slot].fetch_sub(n, std::memory_order_relaxed);
  return n;
}

KeyRecord Store::Impl::RecordOf(const Entry* e) {
  KeyRecord r;
  r.key.assign(e->key().data(), e->key().size());
  if (e->type() == EntryType::kString) {
    r.type = ValueType::kString;
    r.value.assign(e->value().data(), e->value().size());
  } else {
    r.type = ValueType::kHash;
    r.fields.assign(e->hash()->begin(), e->hash()->end());
  }
  if (e->has_expiry()) r.expire_at = absl::FromUnixMillis(e->expiry_ms());
  return r;
}

absl::Status Store::Impl::CheckKey(absl::string_view key) const {
  if (key.size() > options_.max_key_bytes) {
    return InvalidInputError(
        absl::StrCat("key of ", key.size(), " bytes exceeds the limit of ",
                     options_.max_key_bytes, " bytes; use a shorter key"));
  }
  return absl::OkStatus();
}

absl::Status Store::Impl::CheckValue(size_t size) const {
  if (size > options_.max_value_bytes) {
    return InvalidInputError(
        absl::StrCat("value of ", size, " bytes exceeds the limit of ",
                     options_.max_value_bytes, " bytes; store smaller values"));
  }
  return absl::OkStatus();
}

std::vector<uint32_t> Store::Impl::StripesOf(
    const std::vector<absl::string_view>& keys) {
  std::vector<uint32_t> s;
  s.reserve(keys.size());
  for (absl::string_view k : keys) s.push_back(KeySlot(k) % kNumStripes);
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  return s;
}

void Store::Impl::LockStripes(const std::vector<uint32_t>& s) {
  for (uint32_t i : s) stripes_[i].mu.Lock();
}

void Store::Impl::UnlockStripes(const std::vector<uint32_t>& s) {
  for (auto it = s.rbegin(); it != s.rend(); ++it) stripes_[*it].mu.Unlock();
}

// ---- Store: construction, memory, stats, config ----

Store::Store(StoreOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
Store::~Store() = default;

absl::Time Store::Now() const { return impl_->Now(); }

int64_t Store::UsedMemory() const {
  return impl_->used_memory_.load(std::memory_order_relaxed);
}

int64_t Store::ComputeUsedMemorySlow() const {
  int64_t total = 0;
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    const Impl::Loc loc = impl_->LocateSlot(slot, 0);
    MutexLock lock(&loc.stripe->mu);
    const KeyTable& t = impl_->Table(loc);
    total += t.AllocatedBytes();
    t.ForEach([&](const Entry* e) { total += Impl::EntryBytes(e); });
  }
  return total;
}

StoreStats Store::Stats() const {
  StoreStats s;
  s.keys = DbSize();
  s.keys_with_ttl = impl_->volatile_keys_.load(std::memory_order_relaxed);
  s.used_memory_bytes = UsedMemory();
  s.expired_keys = impl_->expired_.load(std::memory_order_relaxed);
  s.evicted_keys = impl_->evicted_.load(std::memory_order_relaxed);
  s.maxmemory_bytes = impl_->maxmemory_.load(std::memory_order_relaxed);
  s.eviction_policy = impl_->policy_.load(std::memory_order_relaxed);
  return s;
}

void Store::SetMaxMemory(uint64_t bytes) { impl_->maxmemory_.store(bytes); }
void Store::SetEvictionPolicy(EvictionPolicy policy) {
  impl_->policy_.store(policy);
}
void Store::SetReplicaMode(bool replica) { impl_->replica_.store(replica); }
bool Store::replica_mode() const { return impl_->replica_.load(); }

}  // namespace slotcache::node::storage
