// Store: whole-node operations (DBSIZE, FLUSHALL, RANDOMKEY, SCAN) and the
// per-slot ones that migration, snapshots and replication use.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "common/glob.h"
#include "common/status.h"
#include "node/storage/store_impl.h"

namespace slotcache::node::storage {
namespace {

// SCAN cursors: slot in the top 14 bits, then a 50-bit position in the
// slot's hash order (the key hash's top 50 bits).
constexpr int kOrderBits = 50;
constexpr uint64_t kOrderMask = (uint64_t{1} << kOrderBits) - 1;
uint64_t OrderKey(uint64_t hash) { return hash >> (64 - kOrderBits); }

}  // namespace

uint64_t Store::Impl::CollectSlot(const Loc& loc, uint64_t from, size_t count,
                                  int64_t now_ms,
                                  absl::FunctionRef<void(const Entry*)> visit) {
  const KeyTable& t = Table(loc);
  std::vector<std::pair<uint64_t, Entry*>> found;
  found.reserve(t.size());
  t.ForEach([&](Entry* e) {
    const uint64_t ok = OrderKey(KeyTable::Hash(e->key()));
    if (ok >= from) found.emplace_back(ok, e);
  });
  // Returning at least 1/16 of the slot per batch bounds a full pass over
  // a huge slot to ~16 batches (COUNT is only a hint, as in Redis).
  const size_t limit = std::max<size_t>({count, t.size() / 16, 1});
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t n = std::min(limit, found.size());
  while (n > 0 && n < found.size() && found[n].first == found[n - 1].first) {
    ++n;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!IsExpired(found[i].second, now_ms)) visit(found[i].second);
  }
  if (n == found.size()) return 0;
  return found[n - 1].first + 1;  // < 2^50: found[n] is larger.
}

void Store::Impl::FlushAll() {
  // Every stripe, in ascending order (as MSET locks its subset): no keyed
  // write can land between the clearing and the report, so the listener
  // sees the flush ordered against every key's changes.
  std::vector<uint32_t> all(kNumStripes);
  for (uint32_t s = 0; s < kNumStripes; ++s) all[s] = s;
  LockStripes(all);
  ClearAllLocked();
  if (options_.listener != nullptr) options_.listener->OnFlushAll();
  UnlockStripes(all);
}

void Store::Impl::ClearAllLocked() {
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (slot_sizes_[slot].load(std::memory_order_relaxed) == 0) continue;
    ClearTableLocked(LocateSlot(slot, 0));
  }
}

int64_t Store::DbSize() const {
  int64_t n = 0;
  for (uint32_t s = 0; s < kNumStripes; ++s) {
    n += impl_->stripes_[s].keys.load(std::memory_order_relaxed);
  }
  return n;
}

void Store::FlushAll() { impl_->FlushAll(); }

absl::optional<std::string> Store::RandomKey() {
  const int64_t now = impl_->NowMs();
  // A few tries in case we land on expired keys.
  for (int attempt = 0; attempt < 16; ++attempt) {
    const int s = impl_->RandomStripe(false);
    if (s < 0) return absl::nullopt;
    Impl::Loc loc = impl_->LocateSlot(static_cast<uint32_t>(s), 0);
    MutexLock lock(&loc.stripe->mu);
    size_t index;
    Entry* e = impl_->RandomEntryLocked(&loc, false, &index);
    if (e == nullptr || Impl::IsExpired(e, now)) continue;
    return std::string(e->key());
  }
  return absl::nullopt;
}

ScanResult Store::Scan(uint64_t cursor, absl::string_view pattern,
                       size_t count) {
  ScanResult result;
  count = std::max<size_t>(count, 1);
  uint64_t slot = cursor >> kOrderBits;
  uint64_t from = cursor & kOrderMask;
  const int64_t now = impl_->NowMs();
  size_t examined = 0;
  while (slot < kNumSlots && examined < count) {
    if (impl_->slot_sizes_[slot].load(std::memory_order_relaxed) == 0) {
      ++slot;
      from = 0;
      continue;
    }
    Impl::Loc loc = impl_->LocateSlot(static_cast<uint32_t>(slot), 0);
    uint64_t next;
    {
      MutexLock lock(&loc.stripe->mu);
      next = impl_->CollectSlot(
          loc, from, count - examined, now, [&](const Entry* e) {
            ++examined;
            if (pattern.empty() || GlobMatch(pattern, e->key())) {
              result.keys.emplace_back(e->key());
            }
          });
    }
    if (next == 0) {
      ++slot;
      from = 0;
    } else {
      from = next;
      break;
    }
  }
  result.next_cursor = slot >= kNumSlots ? 0 : (slot << kOrderBits) | from;
  return result;
}

int64_t Store::SlotKeyCount(uint32_t slot) const {
  if (slot >= kNumSlots) return 0;
  return impl_->slot_sizes_[slot].load(std::memory_order_relaxed);
}

uint64_t Store::ScanSlot(uint32_t slot, uint64_t cursor, size_t count,
                         const std::function<void(const KeyRecord&)>& visit) {
  if (slot >= kNumSlots) return 0;
  Impl::Loc loc = impl_->LocateSlot(slot, 0);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  return impl_->CollectSlot(loc, cursor & kOrderMask, count, now,
                            [&](const Entry* e) { visit(Impl::RecordOf(e)); });
}

int64_t Store::DropSlot(uint32_t slot) {
  if (slot >= kNumSlots) return 0;
  Impl::Loc loc = impl_->LocateSlot(slot, 0);
  MutexLock lock(&loc.stripe->mu);
  return impl_->ClearTableLocked(loc);
}

int64_t Store::DropSlotKeys(uint32_t slot, size_t max_keys) {
  if (slot >= kNumSlots || max_keys == 0) return 0;
  Impl::Loc loc = impl_->LocateSlot(slot, 0);
  MutexLock lock(&loc.stripe->mu);
  KeyTable& t = impl_->Table(loc);
  if (t.size() <= max_keys) return impl_->ClearTableLocked(loc);
  // Erasing may move entries between buckets, so pick the victims first.
  std::vector<std::string> victims;
  victims.reserve(max_keys);
  t.ForEach([&](Entry* e) {
    if (victims.size() < max_keys) victims.emplace_back(e->key());
  });
  int64_t removed = 0;
  for (const std::string& key : victims) {
    const size_t i = t.Find(key, KeyTable::Hash(key));
    if (i == KeyTable::kNotFound) continue;
    impl_->RemoveAt(loc, i, absl::nullopt);
    ++removed;
  }
  return removed;
}

absl::Status Store::Restore(const KeyRecord& record) {
  if (absl::Status s = impl_->CheckKey(record.key); !s.ok()) return s;
  if (record.type == ValueType::kNone) {
    return InvalidInputError(
        "cannot restore a key of type none; a record needs a string or hash "
        "value");
  }
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::Loc loc = impl_->Locate(record.key);
  const int64_t now = impl_->NowMs();
  const int64_t expiry =
      record.expire_at.has_value() ? ToMs(*record.expire_at) : -1;
  MutexLock lock(&loc.stripe->mu);
  // Not LockedKey: the record replaces whatever is there, live or not.
  // The old key goes silently; the listener hears the final state once.
  const size_t i = impl_->Table(loc).Find(record.key, loc.hash);
  if (expiry >= 0 && expiry <= now && !impl_->replica_.load()) {
    // Already expired: nothing to keep.
    if (i != KeyTable::kNotFound) impl_->RemoveAt(loc, i, ChangeCause::kWrite);
    return absl::OkStatus();
  }
  if (i != KeyTable::kNotFound) impl_->RemoveAt(loc, i, absl::nullopt);
  if (record.type == ValueType::kString) {
    impl_->PutString(loc, record.key, KeyTable::kNotFound, record.value,
                     expiry);
    return absl::OkStatus();
  }
  Entry* e = Entry::CreateHash(record.key, expiry >= 0);
  if (expiry >= 0) e->set_expiry_ms(expiry);
  for (const auto& [f, v] : record.fields) (*e->hash())[f] = v;
  impl_->InitAccess(e);
  impl_->InsertEntry(loc, e);
  impl_->Changed(loc, e);
  return absl::OkStatus();
}

}  // namespace slotcache::node::storage
