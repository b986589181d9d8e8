// Store::Impl: the store's private state and the helpers its operations
// share (private to node/storage; store.h is the interface).
//
// The code is split by concern (docs/STORAGE.md lists the files):
//   store.cc           construction, table mutations, limits, stats, config
//   store_eviction.cc  LRU/LFU clock, maxmemory eviction
//   store_expiry.cc    active expiry (cycle and background loop)
//   store_strings.cc   string commands, MGET/MSET
//   store_keys.cc      DEL/EXISTS/TYPE/EXPIRE/PERSIST/TTL
//   store_hashes.cc    hash commands
//   store_node.cc      whole-node, SCAN and per-slot operations, RESTORE
//
// Thread-safety: the threading model is in docs/STORAGE.md. Functions that
// take a Loc require its stripe's lock (ABSL_EXCLUSIVE_LOCKS_REQUIRED);
// LockedKey is the one way single-key operations take it.
#ifndef SLOTCACHE_NODE_STORAGE_STORE_IMPL_H_
#define SLOTCACHE_NODE_STORAGE_STORE_IMPL_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/mutex.h"
#include "common/slot.h"
#include "common/stop_signal.h"
#include "node/storage/entry.h"
#include "node/storage/key_table.h"
#include "node/storage/store.h"

namespace slotcache::node::storage {

// Slots are spread over stripes round-robin (slot % kNumStripes), so a node
// owning a contiguous slot range still uses every stripe.
inline constexpr uint32_t kNumStripes = 256;
inline constexpr uint32_t kSlotsPerStripe = kNumSlots / kNumStripes;
static_assert(kNumSlots % kNumStripes == 0, "stripes must divide slots");

inline int64_t ToMs(absl::Time t) { return absl::ToUnixMillis(t); }

// OUT_OF_RANGE for an INCR-family result beyond int64 (store_strings.cc).
absl::Status OverflowError();

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

  // How a single-key operation finds its key (see FindLive/FindForWrite).
  enum class Access { kRead, kWrite };

  // One key's stripe, locked for the whole operation, and the key's live
  // entry: the preamble every single-key operation shares.
  //
  //   Impl::LockedKey k(impl, key, Impl::Access::kRead);
  //   if (k.entry == nullptr) ...;            // missing (or expired)
  //   if (auto s = k.CheckType(EntryType::kString); !s.ok()) return s;
  class ABSL_SCOPED_LOCKABLE LockedKey {
   public:
    LockedKey(Impl* impl, absl::string_view key, Access access)
        ABSL_EXCLUSIVE_LOCK_FUNCTION(loc.stripe->mu);
    ~LockedKey() ABSL_UNLOCK_FUNCTION();
    LockedKey(const LockedKey&) = delete;
    LockedKey& operator=(const LockedKey&) = delete;

    // OK when the key is missing or holds `type`; WRONGTYPE otherwise.
    absl::Status CheckType(EntryType type) const;

    const Loc loc;
    // The store's clock when the operation started, Unix ms.
    const int64_t now_ms;
    // The live entry's bucket and the entry, or kNotFound and nullptr, as
    // found when locking (not updated by later mutations).
    size_t index;
    Entry* entry;
  };

  explicit Impl(StoreOptions options);
  ~Impl();

  absl::Time Now() const { return options_.clock->Now(); }
  int64_t NowMs() const { return ToMs(Now()); }

  // ---- Locating ----

  Loc Locate(absl::string_view key) const {
    return LocateSlot(KeySlot(key), KeyTable::Hash(key));
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

  // ---- Access bookkeeping, LRU/LFU (store_eviction.cc) ----

  // Records a hit on `e` (LRU clock or LFU counter, per the policy).
  void Touch(Entry* e);
  // The access field of a new entry.
  void InitAccess(Entry* e);

  // ---- Memory accounting ----

  static int64_t EntryBytes(const Entry* e);
  void AddMemory(int64_t delta) {
    used_memory_.fetch_add(delta, std::memory_order_relaxed);
  }

  // ---- Table mutations (caller holds loc.stripe->mu; store.cc) ----

  void InsertEntry(const Loc& loc, Entry* e)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);
  // Puts `e` (same key) in place of the entry at `index` and frees the old
  // one (its hash value too, unless `e` took it over: Entry::FreeReplaced).
  void ReplaceEntry(const Loc& loc, size_t index, Entry* e)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);
  // Removes and frees the entry at `index`, reporting the removal to the
  // listener with `cause` (expiries and evictions are also counted). No
  // cause: a silent removal (Restore replacing a key, a replica dropping
  // an expired key that a write recreates).
  void RemoveAt(const Loc& loc, size_t index, absl::optional<ChangeCause> cause)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);
  // Reports the new state of the key of `e` (a write) to the listener.
  void Changed(const Loc& loc, const Entry* e)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);
  void AdjustVolatile(const Loc& loc, int delta)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);

  static bool IsExpired(const Entry* e, int64_t now_ms) {
    return e->has_expiry() && e->expiry_ms() <= now_ms;
  }
  // The bucket of a live `key`, or kNotFound. Lazy expiry: on a primary an
  // expired key is removed (and reported); on a replica it is left for the
  // primary's delete but reads as missing.
  size_t FindLive(const Loc& loc, absl::string_view key, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);
  // Like FindLive, for a write that will recreate the key: an expired key
  // is removed also on a replica (the write replaces it anyway).
  size_t FindForWrite(const Loc& loc, absl::string_view key, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);

  // Stores string `value` under `key` (bucket `index` or kNotFound), with
  // the given expiry (-1 = none), and reports it. Reuses the block when the
  // shape fits.
  void PutString(const Loc& loc, absl::string_view key, size_t index,
                 absl::string_view value, int64_t expiry_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);
  // Changes the expiry of the entry at `index` (-1 = none) and reports it,
  // if that changed anything; may reallocate.
  void SetExpiry(const Loc& loc, size_t index, int64_t expiry_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);
  // The hash a write to `key` changes: `existing` (its live entry, already
  // checked to be a hash) touched for LRU/LFU, or, when null, a new empty
  // hash inserted under `key`.
  Entry* HashForWrite(const Loc& loc, absl::string_view key, Entry* existing)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);
  // Frees every key; the caller holds every stripe (or is the destructor).
  void ClearAllLocked() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Frees every key of the slot at `loc`; returns how many.
  int64_t ClearTableLocked(const Loc& loc)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);

  static KeyRecord RecordOf(const Entry* e);

  // ---- Limits ----

  absl::Status CheckKey(absl::string_view key) const;
  absl::Status CheckValue(size_t size) const;

  // ---- Multi-stripe locking (MSET, MGET) ----

  // The distinct stripes of `keys`, ascending: the lock order.
  static std::vector<uint32_t> StripesOf(
      const std::vector<absl::string_view>& keys);
  // Dynamic lock sets are beyond the static analysis; order is ascending.
  void LockStripes(const std::vector<uint32_t>& s)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void UnlockStripes(const std::vector<uint32_t>& s)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // MGET/MSET bodies; the caller holds every stripe of the keys.
  void MGetLocked(const std::vector<absl::string_view>& keys, int64_t now,
                  std::vector<absl::optional<std::string>>* out)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void MSetLocked(
      const std::vector<std::pair<absl::string_view, absl::string_view>>& pairs,
      int64_t now) ABSL_NO_THREAD_SAFETY_ANALYSIS;

  // ---- Eviction (store_eviction.cc) ----

  // Called before a write that may grow memory, with no lock held. Evicts
  // until used memory is within maxmemory, or fails with OOM.
  absl::Status MakeRoomForWrite();
  // A stripe with keys (with a TTL if `volatile_only`), chosen at random;
  // -1 if there is none.
  int RandomStripe(bool volatile_only);
  // A random entry of `loc->stripe` (with a TTL if `volatile_only`), or
  // nullptr. Points *loc (slot, index) and *index at it.
  Entry* RandomEntryLocked(Loc* loc, bool volatile_only, size_t* index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc->stripe->mu);

  // ---- Scanning (store_node.cc) ----

  // Keys of `loc.slot` with order key >= `from`, in order; at least
  // `count` (the whole slot if fewer), and never splitting equal order
  // keys. Calls visit(const Entry*) for each live one. Returns the next
  // `from`, or 0 when the slot is done.
  uint64_t CollectSlot(const Loc& loc, uint64_t from, size_t count,
                       int64_t now_ms,
                       absl::FunctionRef<void(const Entry*)> visit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(loc.stripe->mu);
  // Frees every key, holding every stripe, and tells the listener
  // (OnFlushAll) before letting go.
  void FlushAll();

  // ---- Active expiry (store_expiry.cc) ----

  int64_t RunActiveExpireCycle(absl::Duration budget);
  void StartActiveExpiry();
  void StopActiveExpiry();

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

 private:
  // Evicts one key chosen by `policy`; false if nothing can be evicted.
  bool EvictOne(EvictionPolicy policy);
  // How good a victim `e` is under `policy`: higher is better.
  uint64_t VictimScore(const Entry* e, EvictionPolicy policy) const;
  void ActiveExpiryLoop();

  // The active-expiry loop: thread_mu_ serialises Start/Stop (the loop
  // never takes it).
  Mutex thread_mu_;
  std::thread loop_thread_ ABSL_GUARDED_BY(thread_mu_);
  StopSignal loop_stop_;
};

}  // namespace slotcache::node::storage

#endif  // SLOTCACHE_NODE_STORAGE_STORE_IMPL_H_
