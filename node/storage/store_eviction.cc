// Store: the LRU/LFU access clock and maxmemory eviction (Redis's
// approximated LRU/LFU/TTL by sampling, and the random policies).
#include <algorithm>
#include <limits>
#include <random>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "node/storage/store_impl.h"

namespace slotcache::node::storage {
namespace {

// LRU clock: seconds, 24 bits (wraps after 194 days, like Redis).
constexpr uint32_t kAccessMask = 0xffffff;
// LFU: 16-bit minutes + 8-bit logarithmic counter (Redis's defaults:
// lfu-log-factor 10, lfu-decay-time 1 minute, new keys start at 5).
constexpr uint32_t kLfuInitCounter = 5;
constexpr double kLfuLogFactor = 10;

// Per-thread generator for sampling. Seeded from a counter rather than
// absl's entropy pool, whose (uninstrumented) lock TSAN cannot see.
std::mt19937_64& Rng() {
  static std::atomic<uint64_t> next_seed{0x9e3779b97f4a7c15u};
  thread_local std::mt19937_64 gen(
      next_seed.fetch_add(0x9e3779b97f4a7c15u, std::memory_order_relaxed));
  return gen;
}

bool IsVolatilePolicy(EvictionPolicy p) {
  return p == EvictionPolicy::kVolatileLru ||
         p == EvictionPolicy::kVolatileLfu ||
         p == EvictionPolicy::kVolatileRandom ||
         p == EvictionPolicy::kVolatileTtl;
}

bool IsLfuPolicy(EvictionPolicy p) {
  return p == EvictionPolicy::kAllKeysLfu || p == EvictionPolicy::kVolatileLfu;
}

uint32_t LruClock(absl::Time now) {
  return static_cast<uint32_t>(absl::ToUnixSeconds(now)) & kAccessMask;
}

uint32_t LfuMinutes(absl::Time now) {
  return static_cast<uint32_t>(absl::ToUnixSeconds(now) / 60) & 0xffff;
}

// LFU counter after decay (one point per idle minute).
uint32_t LfuDecayed(uint32_t access, absl::Time now) {
  const uint32_t then = access >> 8;
  const uint32_t minutes = LfuMinutes(now);
  const uint32_t idle =
      minutes >= then ? minutes - then : 0xffff - then + minutes;
  const uint32_t counter = access & 0xff;
  return idle >= counter ? 0 : counter - idle;
}

// Seconds since the last access (LRU policies).
uint32_t IdleSeconds(uint32_t access, absl::Time now) {
  const uint32_t clock = LruClock(now);
  return clock >= access ? clock - access : kAccessMask - access + clock;
}

}  // namespace

void Store::Impl::Touch(Entry* e) {
  const absl::Time now = Now();
  if (IsLfuPolicy(policy_.load(std::memory_order_relaxed))) {
    uint32_t counter = LfuDecayed(e->access(), now);
    if (counter < 255) {
      const double base =
          counter > kLfuInitCounter ? counter - kLfuInitCounter : 0;
      const double p = 1.0 / (base * kLfuLogFactor + 1);
      if (absl::Uniform(Rng(), 0.0, 1.0) < p) ++counter;
    }
    e->set_access((LfuMinutes(now) << 8) | counter);
  } else {
    e->set_access(LruClock(now));
  }
}

void Store::Impl::InitAccess(Entry* e) {
  const absl::Time now = Now();
  if (IsLfuPolicy(policy_.load(std::memory_order_relaxed))) {
    e->set_access((LfuMinutes(now) << 8) | kLfuInitCounter);
  } else {
    e->set_access(LruClock(now));
  }
}

absl::Status Store::Impl::MakeRoomForWrite() {
  const uint64_t max = maxmemory_.load(std::memory_order_relaxed);
  if (max == 0 || replica_.load(std::memory_order_relaxed)) {
    return absl::OkStatus();
  }
  while (used_memory_.load(std::memory_order_relaxed) >
         static_cast<int64_t>(max)) {
    const EvictionPolicy policy = policy_.load(std::memory_order_relaxed);
    if (policy == EvictionPolicy::kNoEviction) {
      return OomError(absl::StrCat(
          "command not allowed when used memory (",
          used_memory_.load(std::memory_order_relaxed), " bytes) > maxmemory (",
          max,
          " bytes) under the noeviction policy; delete keys, raise "
          "maxmemory or choose an eviction policy"));
    }
    if (!EvictOne(policy)) {
      return OomError(absl::StrCat(
          "used memory exceeds maxmemory (", max, " bytes) and policy ",
          EvictionPolicyName(policy),
          " finds nothing to evict (volatile-* policies only evict keys "
          "with a TTL); delete keys or raise maxmemory"));
    }
  }
  return absl::OkStatus();
}

int Store::Impl::RandomStripe(bool volatile_only) {
  const uint32_t start = absl::Uniform<uint32_t>(Rng(), 0, kNumStripes);
  for (uint32_t k = 0; k < kNumStripes; ++k) {
    const uint32_t s = (start + k) % kNumStripes;
    const int64_t n =
        volatile_only
            ? stripes_[s].volatile_keys.load(std::memory_order_relaxed)
            : stripes_[s].keys.load(std::memory_order_relaxed);
    if (n > 0) return static_cast<int>(s);
  }
  return -1;
}

Entry* Store::Impl::RandomEntryLocked(Loc* loc, bool volatile_only,
                                      size_t* index) {
  const uint32_t stripe = static_cast<uint32_t>(loc->stripe - stripes_.get());
  const uint32_t start = absl::Uniform<uint32_t>(Rng(), 0, kSlotsPerStripe);
  for (uint32_t k = 0; k < kSlotsPerStripe; ++k) {
    const uint32_t ti = (start + k) % kSlotsPerStripe;
    const KeyTable& t = loc->stripe->tables[ti];
    if (t.size() == 0 || (volatile_only && t.volatile_count() == 0)) {
      continue;
    }
    size_t i = t.NextOccupied(absl::Uniform<size_t>(Rng(), 0, t.capacity()));
    if (volatile_only) {
      // Walk to the next entry with a TTL (one exists in this table).
      while (!t.At(i)->has_expiry()) i = t.NextOccupied(i + 1);
    }
    loc->slot = SlotOf(stripe, ti);
    loc->index = ti;
    loc->hash = KeyTable::Hash(t.At(i)->key());
    *index = i;
    return t.At(i);
  }
  return nullptr;
}

uint64_t Store::Impl::VictimScore(const Entry* e, EvictionPolicy policy) const {
  switch (policy) {
    case EvictionPolicy::kAllKeysLfu:
    case EvictionPolicy::kVolatileLfu:
      return 255 - LfuDecayed(e->access(), Now());
    case EvictionPolicy::kVolatileTtl:
      return std::numeric_limits<uint64_t>::max() -
             static_cast<uint64_t>(std::max<int64_t>(0, e->expiry_ms()));
    default:
      return IdleSeconds(e->access(), Now());
  }
}

// Random policies take a random key; the others sample `eviction_samples`
// keys and evict the best victim (Redis's approximated LRU/LFU/TTL).
bool Store::Impl::EvictOne(EvictionPolicy policy) {
  const bool volatile_only = IsVolatilePolicy(policy);
  const bool random = policy == EvictionPolicy::kAllKeysRandom ||
                      policy == EvictionPolicy::kVolatileRandom;
  const int samples = random ? 1 : std::max(1, options_.eviction_samples);
  std::string best_key;
  uint64_t best_score = 0;
  int best_stripe = -1;
  for (int n = 0; n < samples; ++n) {
    const int s = RandomStripe(volatile_only);
    if (s < 0) break;
    Loc loc = LocateSlot(static_cast<uint32_t>(s), 0);  // Slot s: stripe s.
    MutexLock lock(&loc.stripe->mu);
    size_t index;
    Entry* e = RandomEntryLocked(&loc, volatile_only, &index);
    if (e == nullptr) continue;
    if (random) {
      RemoveAt(loc, index, ChangeCause::kEvicted);
      return true;
    }
    const uint64_t score = VictimScore(e, policy);
    if (best_stripe < 0 || score > best_score) {
      best_score = score;
      best_key.assign(e->key().data(), e->key().size());
      best_stripe = s;
    }
  }
  if (best_stripe < 0) return false;
  Loc loc = Locate(best_key);
  MutexLock lock(&loc.stripe->mu);
  const size_t i = Table(loc).Find(best_key, loc.hash);
  // Deleted meanwhile: that freed memory too, so count it as progress.
  if (i == KeyTable::kNotFound) return true;
  RemoveAt(loc, i, ChangeCause::kEvicted);
  return true;
}

}  // namespace slotcache::node::storage
