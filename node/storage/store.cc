#include "node/storage/store.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/mutex.h"
#include "common/slot.h"
#include "common/status.h"
#include "node/storage/entry.h"
#include "node/storage/glob.h"
#include "node/storage/key_table.h"
#include "common/numbers.h"

namespace slotcache::node::storage {
namespace {

// Slots are spread over stripes round-robin (slot % kNumStripes), so a node
// owning a contiguous slot range still uses every stripe.
constexpr uint32_t kNumStripes = 256;
constexpr uint32_t kSlotsPerStripe = kNumSlots / kNumStripes;
static_assert(kNumSlots % kNumStripes == 0, "stripes must divide slots");

// SCAN cursors: slot in the top 14 bits, then a 50-bit position in the
// slot's hash order (the key hash's top 50 bits).
constexpr int kOrderBits = 50;
constexpr uint64_t kOrderMask = (uint64_t{1} << kOrderBits) - 1;
uint64_t OrderKey(uint64_t hash) { return hash >> (64 - kOrderBits); }

// LRU clock: seconds, 24 bits (wraps after 194 days, like Redis).
constexpr uint32_t kAccessMask = 0xffffff;
// LFU: 16-bit minutes + 8-bit logarithmic counter (Redis's defaults:
// lfu-log-factor 10, lfu-decay-time 1 minute, new keys start at 5).
constexpr uint32_t kLfuInitCounter = 5;
constexpr double kLfuLogFactor = 10;

// Active expiry: stop a cycle early once fewer than this fraction of the
// keys with a TTL examined were expired (Redis: 10%), after at least
// kMinStripesPerCycle stripes.
constexpr double kAcceptableStale = 0.10;
constexpr uint32_t kMinStripesPerCycle = 16;

int64_t ToMs(absl::Time t) { return absl::ToUnixMillis(t); }

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

absl::Status NotIntegerError() {
  return RangeError(
      "value is not an integer or out of range; INCR-family commands need a "
      "base-10 64-bit integer");
}

absl::Status OverflowError() {
  return RangeError("increment or decrement would overflow int64");
}

}  // namespace

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

class Store::Impl {
 public:
  // A group of slots behind one lock.
  struct Stripe {
    Mutex mu;
    // tables[i] holds slot i * kNumStripes + stripe index.
    std::array<KeyTable, kSlotsPerStripe> tables ABSL_GUARDED_BY(mu);
    // Keys of this stripe (written under mu, read lock-free for sampling).
    std::atomic<int64_t> keys{0};
    std::atomic<int64_t> volatile_keys{0};
  };

  // Where a key lives. `stripe` is locked by the caller for the functions
  // that take a Loc.
  struct Loc {
    Stripe* stripe;
    uint32_t slot;
    uint32_t index;  // Into stripe->tables.
    uint64_t hash;
  };

  explicit Impl(StoreOptions options)
      : options_(options),
        stripes_(new Stripe[kNumStripes]),
        maxmemory_(options.maxmemory_bytes),
        policy_(options.eviction_policy),
        replica_(options.replica) {
    for (auto& n : slot_sizes_) n.store(0, std::memory_order_relaxed);
  }

  ~Impl() {
    StopActiveExpiry();
    FlushAll();
  }

  absl::Time Now() const { return options_.clock->Now(); }
  int64_t NowMs() const { return ToMs(Now()); }

  // ---- Locating ----

  Loc Locate(absl::string_view key) const {
    const uint32_t slot = KeySlot(key);
    return LocateSlot(slot, KeyTable::Hash(key));
  }
  Loc LocateSlot(uint32_t slot, uint64_t hash) const {
    return Loc{&stripes_[slot % kNumStripes], slot, slot / kNumStripes, hash};
  }
  static uint32_t SlotOf(uint32_t stripe, uint32_t index) {
    return index * kNumStripes + stripe;
  }

  KeyTable& Table(const Loc& loc)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu) {
    return loc.stripe->tables[loc.index];
  }

  // ---- Access bookkeeping (LRU/LFU) ----

  uint32_t LruClock() const {
    return static_cast<uint32_t>(absl::ToUnixSeconds(Now())) & kAccessMask;
  }
  uint32_t LfuMinutes() const {
    return static_cast<uint32_t>(absl::ToUnixSeconds(Now()) / 60) & 0xffff;
  }
  // LFU counter after decay (one point per idle minute).
  uint32_t LfuDecayed(uint32_t access) const {
    const uint32_t then = access >> 8;
    const uint32_t now = LfuMinutes();
    const uint32_t idle = now >= then ? now - then : 0xffff - then + now;
    const uint32_t counter = access & 0xff;
    return idle >= counter ? 0 : counter - idle;
  }
  // Seconds since the last access (LRU policies).
  uint32_t IdleSeconds(uint32_t access) const {
    const uint32_t now = LruClock();
    return now >= access ? now - access : kAccessMask - access + now;
  }

  void Touch(Entry* e) {
    if (IsLfuPolicy(policy_.load(std::memory_order_relaxed))) {
      uint32_t counter = LfuDecayed(e->access());
      if (counter < 255) {
        const double base =
            counter > kLfuInitCounter ? counter - kLfuInitCounter : 0;
        const double p = 1.0 / (base * kLfuLogFactor + 1);
        if (absl::Uniform(Rng(), 0.0, 1.0) < p) ++counter;
      }
      e->set_access((LfuMinutes() << 8) | counter);
    } else {
      e->set_access(LruClock());
    }
  }
  void InitAccess(Entry* e) {
    if (IsLfuPolicy(policy_.load(std::memory_order_relaxed))) {
      e->set_access((LfuMinutes() << 8) | kLfuInitCounter);
    } else {
      e->set_access(LruClock());
    }
  }

  // ---- Memory accounting ----

  static int64_t EntryBytes(const Entry* e) {
    int64_t bytes = static_cast<int64_t>(e->AllocatedBytes());
    if (e->type() == EntryType::kHash) bytes += HashValueBytes(*e->hash());
    return bytes;
  }
  void AddMemory(int64_t delta) {
    used_memory_.fetch_add(delta, std::memory_order_relaxed);
  }

  // ---- Table mutations (caller holds loc.stripe->mu) ----

  void InsertEntry(const Loc& loc, Entry* e)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu) {
    KeyTable& t = Table(loc);
    const int64_t before = t.AllocatedBytes();
    t.Insert(e, loc.hash);
    AddMemory(static_cast<int64_t>(t.AllocatedBytes()) - before +
              EntryBytes(e));
    loc.stripe->keys.fetch_add(1, std::memory_order_relaxed);
    slot_sizes_[loc.slot].fetch_add(1, std::memory_order_relaxed);
    if (e->has_expiry()) AdjustVolatile(loc, 1);
  }

  // Puts `e` (same key) in place of the entry at `index`. The old block is
  // freed; its hash value, if any, must have moved to `e` or been freed.
  void ReplaceEntry(const Loc& loc, size_t index, Entry* e,
                    int64_t old_value_bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu) {
    KeyTable& t = Table(loc);
    Entry* old = t.At(index);
    AddMemory(static_cast<int64_t>(e->AllocatedBytes()) -
              static_cast<int64_t>(old->AllocatedBytes()) - old_value_bytes);
    const int vol = int{e->has_expiry()} - int{old->has_expiry()};
    if (vol != 0) AdjustVolatile(loc, vol);
    t.Replace(index, e);
    Entry::Free(old);
  }

  void RemoveAt(const Loc& loc, size_t index,
                absl::optional<RemovalCause> cause)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu) {
    KeyTable& t = Table(loc);
    Entry* e = t.At(index);
    const int64_t before = t.AllocatedBytes();
    if (e->has_expiry()) AdjustVolatile(loc, -1);
    t.EraseAt(index);
    AddMemory(static_cast<int64_t>(t.AllocatedBytes()) - before -
              EntryBytes(e));
    loc.stripe->keys.fetch_sub(1, std::memory_order_relaxed);
    slot_sizes_[loc.slot].fetch_sub(1, std::memory_order_relaxed);
    if (cause.has_value()) {
      if (*cause == RemovalCause::kExpired) {
        expired_.fetch_add(1, std::memory_order_relaxed);
      } else {
        evicted_.fetch_add(1, std::memory_order_relaxed);
      }
      if (options_.listener != nullptr) {
        options_.listener->OnKeyRemoved(loc.slot, e->key(), *cause);
      }
    }
    Entry::DestroyWithValue(e);
  }

  void AdjustVolatile(const Loc& loc, int delta)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu) {
    Table(loc).AdjustVolatile(delta);
    loc.stripe->volatile_keys.fetch_add(delta, std::memory_order_relaxed);
    volatile_keys_.fetch_add(delta, std::memory_order_relaxed);
  }

  static bool IsExpired(const Entry* e, int64_t now_ms) {
    return e->has_expiry() && e->expiry_ms() <= now_ms;
  }

  // The bucket of a live `key`, or kNotFound. Lazy expiry: on a primary an
  // expired key is removed (and reported); on a replica it is left for the
  // primary's delete but reads as missing.
  size_t FindLive(const Loc& loc, absl::string_view key, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu) {
    const size_t i = Table(loc).Find(key, loc.hash);
    if (i == KeyTable::kNotFound) return i;
    if (!IsExpired(Table(loc).At(i), now_ms)) return i;
    if (!replica_.load(std::memory_order_relaxed)) {
      RemoveAt(loc, i, RemovalCause::kExpired);
    }
    return KeyTable::kNotFound;
  }

  // Like FindLive, for a write that will recreate the key: an expired key
  // is removed also on a replica (the write replaces it anyway).
  size_t FindForWrite(const Loc& loc, absl::string_view key, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu) {
    const size_t i = Table(loc).Find(key, loc.hash);
    if (i == KeyTable::kNotFound) return i;
    if (!IsExpired(Table(loc).At(i), now_ms)) return i;
    const bool replica = replica_.load(std::memory_order_relaxed);
    RemoveAt(loc, i,
             replica ? absl::nullopt
                     : absl::optional<RemovalCause>(RemovalCause::kExpired));
    return KeyTable::kNotFound;
  }

  // Stores string `value` under `key` (bucket `index` or kNotFound), with
  // the given expiry (-1 = none). Reuses the block when the shape fits.
  void PutString(const Loc& loc, absl::string_view key, size_t index,
                 absl::string_view value, int64_t expiry_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu) {
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
        return;
      }
      Entry* e = Entry::CreateString(key, value, has_expiry);
      if (has_expiry) e->set_expiry_ms(expiry_ms);
      e->set_access(old->access());
      Touch(e);
      int64_t old_value_bytes = 0;
      if (old->type() == EntryType::kHash) {
        old_value_bytes = HashValueBytes(*old->hash());
        delete old->hash();
      }
      ReplaceEntry(loc, index, e, old_value_bytes);
      return;
    }
    Entry* e = Entry::CreateString(key, value, has_expiry);
    if (has_expiry) e->set_expiry_ms(expiry_ms);
    InitAccess(e);
    InsertEntry(loc, e);
  }

  // Changes the expiry of the entry at `index` (-1 = none); may reallocate.
  void SetExpiry(const Loc& loc, size_t index, int64_t expiry_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu) {
    Entry* old = Table(loc).At(index);
    const bool has_expiry = expiry_ms >= 0;
    if (old->has_expiry() == has_expiry) {
      if (has_expiry) old->set_expiry_ms(expiry_ms);
      return;
    }
    Entry* e = Entry::Resize(old, old->value().size(), has_expiry);
    if (has_expiry) e->set_expiry_ms(expiry_ms);
    ReplaceEntry(loc, index, e, 0);
  }

  // ---- Limits ----

  absl::Status CheckKey(absl::string_view key) const {
    if (key.size() > options_.max_key_bytes) {
      return InvalidInputError(
          absl::StrCat("key of ", key.size(), " bytes exceeds the limit of ",
                       options_.max_key_bytes, " bytes; use a shorter key"));
    }
    return absl::OkStatus();
  }
  absl::Status CheckValue(size_t size) const {
    if (size > options_.max_value_bytes) {
      return InvalidInputError(absl::StrCat(
          "value of ", size, " bytes exceeds the limit of ",
          options_.max_value_bytes, " bytes; store smaller values"));
    }
    return absl::OkStatus();
  }

  // ---- Eviction ----

  // Called before a write that may grow memory, with no lock held. Evicts
  // until used memory is within maxmemory, or fails with OOM.
  absl::Status MakeRoomForWrite() {
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
            used_memory_.load(std::memory_order_relaxed),
            " bytes) > maxmemory (", max,
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

  // A stripe with keys (with a TTL if `volatile_only`), chosen at random;
  // -1 if there is none.
  int RandomStripe(bool volatile_only) {
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

  // A random entry of `loc->stripe` (with a TTL if `volatile_only`), or
  // nullptr. Points *loc (slot, index) and *index at it.
  Entry* RandomEntryLocked(Loc* loc, bool volatile_only, size_t* index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc->stripe->mu) {
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

  // How good a victim `e` is under `policy`: higher is better.
  uint64_t VictimScore(const Entry* e, EvictionPolicy policy) const {
    switch (policy) {
      case EvictionPolicy::kAllKeysLfu:
      case EvictionPolicy::kVolatileLfu:
        return 255 - LfuDecayed(e->access());
      case EvictionPolicy::kVolatileTtl:
        return std::numeric_limits<uint64_t>::max() -
               static_cast<uint64_t>(std::max<int64_t>(0, e->expiry_ms()));
      default:
        return IdleSeconds(e->access());
    }
  }

  // Evicts one key chosen by `policy`: random policies take a random key;
  // the others sample `eviction_samples` keys and evict the best victim
  // (Redis's approximated LRU/LFU/TTL). False if nothing can be evicted.
  bool EvictOne(EvictionPolicy policy) {
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
        RemoveAt(loc, index, RemovalCause::kEvicted);
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
    RemoveAt(loc, i, RemovalCause::kEvicted);
    return true;
  }

  // ---- Multi-stripe locking (MSET, MGET) ----

  // The distinct stripes of `keys`, ascending: the lock order.
  std::vector<uint32_t> StripesOf(const std::vector<absl::string_view>& keys) {
    std::vector<uint32_t> s;
    s.reserve(keys.size());
    for (absl::string_view k : keys) s.push_back(KeySlot(k) % kNumStripes);
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
    return s;
  }
  // Dynamic lock sets are beyond the static analysis; order is ascending.
  void LockStripes(const std::vector<uint32_t>& s)
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (uint32_t i : s) stripes_[i].mu.Lock();
  }
  void UnlockStripes(const std::vector<uint32_t>& s)
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (auto it = s.rbegin(); it != s.rend(); ++it) stripes_[*it].mu.Unlock();
  }

  // MGET/MSET bodies; the caller holds every stripe of the keys
  // (LockStripes), which the static analysis cannot follow.
  void MGetLocked(const std::vector<absl::string_view>& keys, int64_t now,
                  std::vector<absl::optional<std::string>>* out)
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
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
  void MSetLocked(
      const std::vector<std::pair<absl::string_view, absl::string_view>>& pairs,
      int64_t now) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (const auto& [k, v] : pairs) {
      const Loc loc = Locate(k);
      PutString(loc, k, FindForWrite(loc, k, now), v, -1);
    }
  }

  // ---- Scanning ----

  // Keys of `loc.slot` with order key >= `from`, in order; at least
  // `count` (the whole slot if fewer), and never splitting equal order
  // keys. Calls visit(Entry*) for each. Returns the next `from`, or 0 when
  // the slot is done.
  template <typename Visit>
  uint64_t CollectSlot(const Loc& loc, uint64_t from, size_t count,
                       int64_t now_ms, Visit&& visit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu) {
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

  static KeyRecord RecordOf(const Entry* e) {
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

  // ---- Whole-store operations ----

  // Slot by slot: writes racing with a flush may survive it.
  void FlushAll() {
    for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
      if (slot_sizes_[slot].load(std::memory_order_relaxed) == 0) continue;
      const Loc loc = LocateSlot(slot, 0);
      MutexLock lock(&loc.stripe->mu);
      ClearTableLocked(loc);
    }
  }

  int64_t ClearTableLocked(const Loc& loc)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu) {
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

  // ---- Active expiry ----

  int64_t RunActiveExpireCycle(absl::Duration budget) {
    if (replica_.load(std::memory_order_relaxed)) return 0;
    const absl::Time deadline = absl::Now() + budget;
    const int64_t now_ms = NowMs();
    int64_t removed = 0;
    for (uint32_t done = 0; done < kNumStripes; ++done) {
      const uint32_t s =
          expire_cursor_.fetch_add(1, std::memory_order_relaxed) % kNumStripes;
      Stripe& st = stripes_[s];
      int64_t sampled = 0;
      int64_t expired = 0;
      if (st.volatile_keys.load(std::memory_order_relaxed) > 0) {
        for (uint32_t ti = 0; ti < kSlotsPerStripe; ++ti) {
          Loc loc = LocateSlot(SlotOf(s, ti), 0);
          MutexLock lock(&loc.stripe->mu);
          if (Table(loc).volatile_count() == 0) continue;
          std::vector<std::string> victims;
          Table(loc).ForEach([&](Entry* e) {
            if (!e->has_expiry()) return;
            ++sampled;
            if (e->expiry_ms() <= now_ms) victims.emplace_back(e->key());
          });
          for (const std::string& key : victims) {
            loc.hash = KeyTable::Hash(key);
            const size_t i = Table(loc).Find(key, loc.hash);
            if (i == KeyTable::kNotFound) continue;
            RemoveAt(loc, i, RemovalCause::kExpired);
            ++expired;
          }
        }
      }
      removed += expired;
      // Adaptive: keep going while many sampled keys were stale and time
      // remains; otherwise stop after the minimum share of the keyspace.
      if (absl::Now() >= deadline) break;
      if (done + 1 >= kMinStripesPerCycle &&
          (sampled == 0 ||
           static_cast<double>(expired) / sampled < kAcceptableStale)) {
        break;
      }
    }
    return removed;
  }

  void StartActiveExpiry() {
    MutexLock lock(&thread_mu_);
    if (loop_thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> wake(wake_mu_);
      stop_loop_ = false;
    }
    loop_thread_ = std::thread([this] { ActiveExpiryLoop(); });
  }

  void StopActiveExpiry() {
    MutexLock lock(&thread_mu_);  // The loop never takes thread_mu_.
    if (!loop_thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> wake(wake_mu_);
      stop_loop_ = true;
    }
    wake_cv_.notify_all();
    loop_thread_.join();
  }

  void ActiveExpiryLoop() {
    const absl::Duration interval = options_.active_expire_interval;
    const absl::Duration budget =
        interval * std::clamp(options_.active_expire_cpu_fraction, 0.01, 1.0);
    for (;;) {
      RunActiveExpireCycle(budget);
      // Also converge after maxmemory was lowered or racing writes
      // overshot it. An OOM here just means nothing is evictable.
      (void)MakeRoomForWrite();
      // Sleep for the interval; Stop wakes us early.
      std::unique_lock<std::mutex> lock(wake_mu_);
      if (wake_cv_.wait_for(lock, absl::ToChronoNanoseconds(interval),
                            [this] { return stop_loop_; })) {
        return;
      }
    }
  }

  // Constant after construction.
  const StoreOptions options_;
  const std::unique_ptr<Stripe[]> stripes_;

  // Runtime settings.
  std::atomic<uint64_t> maxmemory_;
  std::atomic<EvictionPolicy> policy_;
  std::atomic<bool> replica_;

  // Counters, updated under the owning stripe's lock, read lock-free.
  std::atomic<int64_t> used_memory_{0};
  std::atomic<int64_t> volatile_keys_{0};
  std::atomic<int64_t> expired_{0};
  std::atomic<int64_t> evicted_{0};
  std::array<std::atomic<int64_t>, kNumSlots> slot_sizes_;
  std::atomic<uint32_t> expire_cursor_{0};

  // The active-expiry loop.
  Mutex thread_mu_;
  std::thread loop_thread_ ABSL_GUARDED_BY(thread_mu_);
  // The loop's sleep. std::mutex/condition_variable rather than absl's:
  // waits on absl::Mutex are invisible to TSAN (Debian's Abseil is not
  // instrumented), pthread-based waits are not.
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool stop_loop_ = false;  // Guarded by wake_mu_.
};

// ---------------------------------------------------------------------------
// Store: each method locks the key's stripe and applies Redis semantics.

Store::Store(StoreOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
Store::~Store() = default;

absl::Time Store::Now() const { return impl_->Now(); }

absl::StatusOr<absl::optional<std::string>> Store::Get(absl::string_view key) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return absl::optional<std::string>();
  Entry* e = impl_->Table(loc).At(i);
  if (e->type() != EntryType::kString) return WrongTypeError();
  impl_->Touch(e);
  return absl::optional<std::string>(std::string(e->value()));
}

absl::StatusOr<SetResult> Store::Set(absl::string_view key,
                                     absl::string_view value,
                                     const SetOptions& options) {
  if (absl::Status s = impl_->CheckKey(key); !s.ok()) return s;
  if (absl::Status s = impl_->CheckValue(value.size()); !s.ok()) return s;
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindForWrite(loc, key, now);
  Entry* old = i == KeyTable::kNotFound ? nullptr : impl_->Table(loc).At(i);
  SetResult result;
  if (options.get_old_value && old != nullptr) {
    if (old->type() != EntryType::kString) return WrongTypeError();
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
    if (expiry <= now) {
      // Already expired: the key ends up deleted (as Redis does).
      if (old != nullptr) impl_->RemoveAt(loc, i, absl::nullopt);
      return result;
    }
  } else if (options.keep_ttl && old != nullptr && old->has_expiry()) {
    expiry = old->expiry_ms();
  }
  impl_->PutString(loc, key, i, value, expiry);
  return result;
}

absl::StatusOr<absl::optional<std::string>> Store::GetEx(
    absl::string_view key, const GetExOptions& options) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return absl::optional<std::string>();
  Entry* e = impl_->Table(loc).At(i);
  if (e->type() != EntryType::kString) return WrongTypeError();
  impl_->Touch(e);
  absl::optional<std::string> value(std::string(e->value()));
  if (options.expire_at.has_value()) {
    const int64_t expiry = ToMs(*options.expire_at);
    if (expiry <= now) {
      impl_->RemoveAt(loc, i, absl::nullopt);
    } else {
      impl_->SetExpiry(loc, i, expiry);
    }
  } else if (options.persist) {
    impl_->SetExpiry(loc, i, -1);
  }
  return value;
}

absl::StatusOr<absl::optional<std::string>> Store::GetDel(
    absl::string_view key) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return absl::optional<std::string>();
  Entry* e = impl_->Table(loc).At(i);
  if (e->type() != EntryType::kString) return WrongTypeError();
  absl::optional<std::string> value(std::string(e->value()));
  impl_->RemoveAt(loc, i, absl::nullopt);
  return value;
}

absl::StatusOr<int64_t> Store::Append(absl::string_view key,
                                      absl::string_view value) {
  if (absl::Status s = impl_->CheckKey(key); !s.ok()) return s;
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindForWrite(loc, key, now);
  if (i == KeyTable::kNotFound) {
    if (absl::Status s = impl_->CheckValue(value.size()); !s.ok()) return s;
    impl_->PutString(loc, key, i, value, -1);
    return static_cast<int64_t>(value.size());
  }
  Entry* old = impl_->Table(loc).At(i);
  if (old->type() != EntryType::kString) return WrongTypeError();
  const size_t old_len = old->value().size();
  const size_t new_len = old_len + value.size();
  if (absl::Status s = impl_->CheckValue(new_len); !s.ok()) return s;
  if (value.empty()) return static_cast<int64_t>(old_len);
  Entry* e = Entry::Resize(old, new_len, old->has_expiry());
  std::memcpy(e->mutable_value() + old_len, value.data(), value.size());
  impl_->Touch(e);
  impl_->ReplaceEntry(loc, i, e, 0);
  return static_cast<int64_t>(new_len);
}

absl::StatusOr<int64_t> Store::StrLen(absl::string_view key) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return int64_t{0};
  Entry* e = impl_->Table(loc).At(i);
  if (e->type() != EntryType::kString) return WrongTypeError();
  return static_cast<int64_t>(e->value().size());
}

absl::StatusOr<int64_t> Store::IncrBy(absl::string_view key, int64_t delta) {
  if (absl::Status s = impl_->CheckKey(key); !s.ok()) return s;
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindForWrite(loc, key, now);
  int64_t current = 0;
  int64_t expiry = -1;
  if (i != KeyTable::kNotFound) {
    Entry* e = impl_->Table(loc).At(i);
    if (e->type() != EntryType::kString) return WrongTypeError();
    if (!ParseInt64(e->value(), &current)) return NotIntegerError();
    if (e->has_expiry()) expiry = e->expiry_ms();
  }
  int64_t result;
  if (AddOverflows(current, delta, &result)) return OverflowError();
  impl_->PutString(loc, key, i, absl::StrCat(result), expiry);
  return result;
}

absl::StatusOr<std::string> Store::IncrByFloat(absl::string_view key,
                                               long double delta) {
  if (absl::Status s = impl_->CheckKey(key); !s.ok()) return s;
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindForWrite(loc, key, now);
  long double current = 0;
  int64_t expiry = -1;
  if (i != KeyTable::kNotFound) {
    Entry* e = impl_->Table(loc).At(i);
    if (e->type() != EntryType::kString) return WrongTypeError();
    if (!ParseLongDouble(e->value(), &current)) {
      return RangeError("value is not a valid float");
    }
    if (e->has_expiry()) expiry = e->expiry_ms();
  }
  const long double result = current + delta;
  if (std::isnan(result) || std::isinf(result)) {
    return RangeError("increment would produce NaN or Infinity");
  }
  std::string text = FormatLongDouble(result);
  impl_->PutString(loc, key, i, text, expiry);
  return text;
}

std::vector<absl::optional<std::string>> Store::MGet(
    const std::vector<absl::string_view>& keys) {
  std::vector<absl::optional<std::string>> out(keys.size());
  const std::vector<uint32_t> stripes = impl_->StripesOf(keys);
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
  const std::vector<uint32_t> stripes = impl_->StripesOf(keys);
  const int64_t now = impl_->NowMs();
  impl_->LockStripes(stripes);
  impl_->MSetLocked(pairs, now);
  impl_->UnlockStripes(stripes);
  return absl::OkStatus();
}

bool Store::Del(absl::string_view key) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  // On a replica an expired key is still deleted by the primary's DEL (but
  // reported as not existing, like a read would see it).
  const size_t i = impl_->Table(loc).Find(key, loc.hash);
  if (i == KeyTable::kNotFound) return false;
  const bool live = !Impl::IsExpired(impl_->Table(loc).At(i), now);
  impl_->RemoveAt(loc, i,
                  live || impl_->replica_.load()
                      ? absl::nullopt
                      : absl::optional<RemovalCause>(RemovalCause::kExpired));
  return live;
}

bool Store::Exists(absl::string_view key) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return false;
  impl_->Touch(impl_->Table(loc).At(i));
  return true;
}

ValueType Store::Type(absl::string_view key) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return ValueType::kNone;
  return impl_->Table(loc).At(i)->type() == EntryType::kString
             ? ValueType::kString
             : ValueType::kHash;
}

bool Store::ExpireAt(absl::string_view key, absl::Time when,
                     ExpireCondition condition) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return false;
  Entry* e = impl_->Table(loc).At(i);
  const int64_t expiry = ToMs(when);
  // No TTL counts as an infinite TTL for GT/LT, as in Redis.
  const bool has = e->has_expiry();
  const int64_t current = has ? e->expiry_ms() : 0;
  switch (condition) {
    case ExpireCondition::kAlways:
      break;
    case ExpireCondition::kIfNoTtl:
      if (has) return false;
      break;
    case ExpireCondition::kIfHasTtl:
      if (!has) return false;
      break;
    case ExpireCondition::kIfLater:
      if (!has || expiry <= current) return false;
      break;
    case ExpireCondition::kIfSooner:
      if (has && expiry >= current) return false;
      break;
    case ExpireCondition::kIfHasTtlAndSooner:
      if (!has || expiry >= current) return false;
      break;
  }
  if (expiry <= now) {
    impl_->RemoveAt(loc, i, absl::nullopt);
  } else {
    impl_->SetExpiry(loc, i, expiry);
  }
  return true;
}

bool Store::Persist(absl::string_view key) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return false;
  if (!impl_->Table(loc).At(i)->has_expiry()) return false;
  impl_->SetExpiry(loc, i, -1);
  return true;
}

int64_t Store::PTtl(absl::string_view key) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return kTtlKeyMissing;
  const Entry* e = impl_->Table(loc).At(i);
  if (!e->has_expiry()) return kTtlNone;
  return e->expiry_ms() - now;
}

// ---- Hashes ----

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
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  size_t i = impl_->FindForWrite(loc, key, now);
  Entry* e;
  if (i == KeyTable::kNotFound) {
    e = Entry::Create(EntryType::kHash, key, sizeof(HashValue*), false);
    e->set_hash(new HashValue());
    impl_->InitAccess(e);
    impl_->InsertEntry(loc, e);
  } else {
    e = impl_->Table(loc).At(i);
    if (e->type() != EntryType::kHash) return WrongTypeError();
    impl_->Touch(e);
  }
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
  return added;
}

absl::StatusOr<absl::optional<std::string>> Store::HGet(
    absl::string_view key, absl::string_view field) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return absl::optional<std::string>();
  Entry* e = impl_->Table(loc).At(i);
  if (e->type() != EntryType::kHash) return WrongTypeError();
  impl_->Touch(e);
  auto it = e->hash()->find(field);
  if (it == e->hash()->end()) return absl::optional<std::string>();
  return absl::optional<std::string>(it->second);
}

absl::StatusOr<std::vector<absl::optional<std::string>>> Store::HMGet(
    absl::string_view key, const std::vector<absl::string_view>& fields) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  std::vector<absl::optional<std::string>> out(fields.size());
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return out;
  Entry* e = impl_->Table(loc).At(i);
  if (e->type() != EntryType::kHash) return WrongTypeError();
  impl_->Touch(e);
  for (size_t k = 0; k < fields.size(); ++k) {
    auto it = e->hash()->find(fields[k]);
    if (it != e->hash()->end()) out[k] = it->second;
  }
  return out;
}

absl::StatusOr<int64_t> Store::HDel(
    absl::string_view key, const std::vector<absl::string_view>& fields) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return int64_t{0};
  Entry* e = impl_->Table(loc).At(i);
  if (e->type() != EntryType::kHash) return WrongTypeError();
  HashValue* h = e->hash();
  int64_t removed = 0;
  int64_t freed = 0;
  for (absl::string_view f : fields) {
    auto it = h->find(f);
    if (it == h->end()) continue;
    freed += StringHeapBytes(it->first) + StringHeapBytes(it->second);
    h->erase(it);
    ++removed;
  }
  impl_->AddMemory(-freed);
  if (h->empty()) impl_->RemoveAt(loc, i, absl::nullopt);
  return removed;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Store::HGetAll(
    absl::string_view key) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  std::vector<std::pair<std::string, std::string>> out;
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return out;
  Entry* e = impl_->Table(loc).At(i);
  if (e->type() != EntryType::kHash) return WrongTypeError();
  impl_->Touch(e);
  out.assign(e->hash()->begin(), e->hash()->end());
  return out;
}

absl::StatusOr<int64_t> Store::HIncrBy(absl::string_view key,
                                       absl::string_view field, int64_t delta) {
  if (absl::Status s = impl_->CheckKey(key); !s.ok()) return s;
  if (absl::Status s = impl_->CheckValue(field.size()); !s.ok()) return s;
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindForWrite(loc, key, now);
  int64_t current = 0;
  if (i != KeyTable::kNotFound) {
    Entry* e = impl_->Table(loc).At(i);
    if (e->type() != EntryType::kHash) return WrongTypeError();
    auto it = e->hash()->find(field);
    if (it != e->hash()->end() && !ParseInt64(it->second, &current)) {
      return RangeError("hash value is not an integer");
    }
  }
  int64_t result;
  if (AddOverflows(current, delta, &result)) return OverflowError();
  // Every check passed: now mutate.
  Entry* e;
  if (i == KeyTable::kNotFound) {
    e = Entry::Create(EntryType::kHash, key, sizeof(HashValue*), false);
    e->set_hash(new HashValue());
    impl_->InitAccess(e);
    impl_->InsertEntry(loc, e);
  } else {
    e = impl_->Table(loc).At(i);
    impl_->Touch(e);
  }
  HashValue* h = e->hash();
  int64_t mem = -static_cast<int64_t>(HashTableBytes(*h));
  auto [it, inserted] = h->try_emplace(std::string(field));
  if (inserted) mem += StringHeapBytes(it->first);
  mem -= StringHeapBytes(it->second);
  it->second = absl::StrCat(result);
  mem += StringHeapBytes(it->second) + HashTableBytes(*h);
  impl_->AddMemory(mem);
  return result;
}

absl::StatusOr<int64_t> Store::HLen(absl::string_view key) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return int64_t{0};
  Entry* e = impl_->Table(loc).At(i);
  if (e->type() != EntryType::kHash) return WrongTypeError();
  return static_cast<int64_t>(e->hash()->size());
}

absl::StatusOr<bool> Store::HExists(absl::string_view key,
                                    absl::string_view field) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) return false;
  Entry* e = impl_->Table(loc).At(i);
  if (e->type() != EntryType::kHash) return WrongTypeError();
  return e->hash()->contains(field);
}

// ---- Whole node ----

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

// ---- Per slot ----

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

void Store::WithRecord(absl::string_view key,
                       absl::FunctionRef<void(const KeyRecord*)> fn) {
  Impl::Loc loc = impl_->Locate(key);
  const int64_t now = impl_->NowMs();
  MutexLock lock(&loc.stripe->mu);
  const size_t i = impl_->FindLive(loc, key, now);
  if (i == KeyTable::kNotFound) {
    fn(nullptr);
    return;
  }
  const KeyRecord record = Impl::RecordOf(impl_->Table(loc).At(i));
  fn(&record);
}

absl::Status Store::Restore(const KeyRecord& record) {
  if (absl::Status s = impl_->CheckKey(record.key); !s.ok()) return s;
  if (record.type == ValueType::kNone) {
    return InvalidInputError("cannot restore a key of type none");
  }
  if (absl::Status s = impl_->MakeRoomForWrite(); !s.ok()) return s;
  Impl::Loc loc = impl_->Locate(record.key);
  const int64_t now = impl_->NowMs();
  const int64_t expiry =
      record.expire_at.has_value() ? ToMs(*record.expire_at) : -1;
  MutexLock lock(&loc.stripe->mu);
  size_t i = impl_->Table(loc).Find(record.key, loc.hash);
  if (i != KeyTable::kNotFound) impl_->RemoveAt(loc, i, absl::nullopt);
  if (expiry >= 0 && expiry <= now && !impl_->replica_.load()) {
    return absl::OkStatus();  // Already expired: nothing to keep.
  }
  if (record.type == ValueType::kString) {
    impl_->PutString(loc, record.key, KeyTable::kNotFound, record.value,
                     expiry);
    return absl::OkStatus();
  }
  Entry* e = Entry::Create(EntryType::kHash, record.key, sizeof(HashValue*),
                           expiry >= 0);
  if (expiry >= 0) e->set_expiry_ms(expiry);
  auto* h = new HashValue();
  for (const auto& [f, v] : record.fields) (*h)[f] = v;
  e->set_hash(h);
  impl_->InitAccess(e);
  impl_->InsertEntry(loc, e);
  return absl::OkStatus();
}

// ---- Memory, stats, config ----

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

void Store::StartActiveExpiry() { impl_->StartActiveExpiry(); }
void Store::StopActiveExpiry() { impl_->StopActiveExpiry(); }
int64_t Store::RunActiveExpireCycle(absl::Duration budget) {
  return impl_->RunActiveExpireCycle(budget);
}

}  // namespace slotcache::node::storage
