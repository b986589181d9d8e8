// Store: key commands (DEL, EXISTS, TYPE, EXPIRE family, PERSIST, PTTL).
#include "node/storage/store_impl.h"

namespace slotcache::node::storage {
namespace {

// Whether EXPIRE's NX/XX/GT/LT `condition` lets `expiry` replace the
// current TTL of `e`. No TTL counts as an infinite TTL for GT/LT, as in
// Redis.
bool ExpireAllowed(const Entry* e, int64_t expiry, ExpireCondition condition) {
  const bool has = e->has_expiry();
  const int64_t current = has ? e->expiry_ms() : 0;
  switch (condition) {
    case ExpireCondition::kAlways:
      return true;
    case ExpireCondition::kIfNoTtl:
      return !has;
    case ExpireCondition::kIfHasTtl:
      return has;
    case ExpireCondition::kIfLater:
      return has && expiry > current;
    case ExpireCondition::kIfSooner:
      return !has || expiry < current;
    case ExpireCondition::kIfHasTtlAndSooner:
      return has && expiry < current;
  }
  return false;
}

}  // namespace

bool Store::Del(absl::string_view key) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  // Not LockedKey: on a replica an expired key is still deleted by the
  // primary's DEL (but reported as not existing, like a read would see it).
  const size_t i = impl_->Table(loc).Find(key, loc.hash);
  if (i == KeyTable::kNotFound) return false;
  const bool live = !Impl::IsExpired(impl_->Table(loc).At(i), now);
  impl_->RemoveAt(loc, i,
                  live || impl_->replica_.load() ? ChangeCause::kWrite
                                                 : ChangeCause::kExpired);
  return live;
}

bool Store::Exists(absl::string_view key) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (k.entry == nullptr) return false;
  impl_->Touch(k.entry);
  return true;
}

ValueType Store::Type(absl::string_view key) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (k.entry == nullptr) return ValueType::kNone;
  return k.entry->type() == EntryType::kString ? ValueType::kString
                                               : ValueType::kHash;
}

bool Store::ExpireAt(absl::string_view key, absl::Time when,
                     ExpireCondition condition) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (k.entry == nullptr) return false;
  const int64_t expiry = ToMs(when);
  if (!ExpireAllowed(k.entry, expiry, condition)) return false;
  if (expiry <= k.now_ms) {
    impl_->RemoveAt(k.loc, k.index, ChangeCause::kWrite);
  } else {
    impl_->SetExpiry(k.loc, k.index, expiry);
  }
  return true;
}

bool Store::Persist(absl::string_view key) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (k.entry == nullptr || !k.entry->has_expiry()) return false;
  impl_->SetExpiry(k.loc, k.index, -1);
  return true;
}

int64_t Store::PTtl(absl::string_view key) {
  Impl::LockedKey k(impl_.get(), key, Impl::Access::kRead);
  if (k.entry == nullptr) return kTtlKeyMissing;
  if (!k.entry->has_expiry()) return kTtlNone;
  return k.entry->expiry_ms() - k.now_ms;
}

}  // namespace slotcache::node::storage
