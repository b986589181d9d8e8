// Store: the cache node's in-memory keyspace.
//
// Keys live in one small hash table per hash slot (16384 of them), so a slot
// can be counted, iterated in batches, snapshotted and dropped without
// touching the rest. Values are strings (binary-safe bytes, also used by the
// INCR family) or hashes (field -> value). A key may carry an absolute expiry
// time; expired keys are removed lazily on access and by an active-expiry
// loop that samples keys with a TTL (like Redis). With `maxmemory` set, writes
// that may grow memory first evict keys according to one of the eight Redis
// policies, or fail with OOM under `noeviction`.
//
// Each Op-style method is one Redis command's semantics, without parsing:
// the executor (node/commands) parses arguments and calls these. Failures
// are typed (common/status.h): WRONGTYPE, OOM, OUT_OF_RANGE,
// INVALID_ARGUMENT. A failed call changes nothing.
//
// Thread-safety: every method may be called from many threads at once. The
// threading model (striped per-slot-group locks) is documented in
// docs/STORAGE.md.
#ifndef SLOTCACHE_NODE_STORAGE_STORE_H_
#define SLOTCACHE_NODE_STORAGE_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/clock.h"

namespace slotcache::node::storage {

// What happens when a write needs memory beyond `maxmemory`. Same names and
// meanings as Redis's maxmemory-policy.
enum class EvictionPolicy {
  kNoEviction,      // "noeviction": writes that need memory fail with OOM.
  kAllKeysLru,      // "allkeys-lru": least recently used key.
  kAllKeysLfu,      // "allkeys-lfu": least frequently used key.
  kAllKeysRandom,   // "allkeys-random"
  kVolatileLru,     // "volatile-lru": LRU among keys with a TTL.
  kVolatileLfu,     // "volatile-lfu"
  kVolatileRandom,  // "volatile-random"
  kVolatileTtl,     // "volatile-ttl": the key that expires soonest.
};

// Parses a Redis policy name ("allkeys-lru", case-insensitive).
absl::StatusOr<EvictionPolicy> ParseEvictionPolicy(absl::string_view name);
// The Redis name of `policy`.
absl::string_view EvictionPolicyName(EvictionPolicy policy);

enum class ValueType { kNone, kString, kHash };
// "none", "string", "hash" (the TYPE command's answers).
absl::string_view ValueTypeName(ValueType type);

class Entry;  // node/storage/entry.h (private to node/storage).

// A read-only view of one key's state, handed to a ChangeListener. Valid
// only during the call (it points into the store, whose lock is held).
class KeyView {
 public:
  absl::string_view key() const;
  ValueType type() const;  // kString or kHash.
  // For kString.
  absl::string_view string_value() const;
  // For kHash: the number of fields, and each field with its value (in no
  // particular order).
  size_t field_count() const;
  void ForEachField(
      absl::FunctionRef<void(absl::string_view field, absl::string_view value)>
          fn) const;
  // Absolute expiry, if the key has a TTL.
  absl::optional<absl::Time> expire_at() const;

 private:
  friend class Store;
  explicit KeyView(const Entry* entry) : entry_(entry) {}
  const Entry* entry_;
};

// Why a key changed.
enum class ChangeCause {
  kWrite,    // A command (or Restore) wrote or deleted it.
  kExpired,  // Lazy or active expiry removed it.
  kEvicted,  // maxmemory eviction removed it.
};

// Told about every change to the keyspace, so replication can log each
// key's resulting state (node/replication).
//
// Contract (docs/STORAGE.md): OnKeyChanged is called exactly once for each
// key an operation changed, right after the change and while the key's
// stripe is still locked, so calls about one key come in the store's order
// of changes to it. Reads, writes that changed nothing (NX/XX that did not
// apply, PERSIST without a TTL, HDEL of absent fields) and failed
// operations are not reported. FLUSHALL holds every stripe while it calls
// OnFlushAll, so it is ordered against every keyed change. DropSlot is not
// reported (its caller owns that decision). In replica mode the store
// reports too; the listener decides what to make of it. Implementations
// must be quick and must not call back into the Store.
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // `state` is the key's new state, or nullptr when the key is gone.
  virtual void OnKeyChanged(uint32_t slot, absl::string_view key,
                            const KeyView* state, ChangeCause cause) = 0;
  virtual void OnFlushAll() = 0;
};

struct StoreOptions {
  // Memory limit in bytes as counted by Store::UsedMemory(); 0 = no limit.
  uint64_t maxmemory_bytes = 0;
  EvictionPolicy eviction_policy = EvictionPolicy::kNoEviction;
  // Keys sampled per eviction round (Redis maxmemory-samples).
  int eviction_samples = 5;
  // Source of time for TTLs and LRU/LFU. Not owned; must outlive the store.
  Clock* clock = Clock::Real();
  // Replica mode: expired keys read as missing but are only removed by the
  // primary's replicated delete; no active expiry and no eviction (the
  // primary's evictions arrive as deletes). Can be changed with
  // SetReplicaMode (e.g. on promotion).
  bool replica = false;
  // Told about every change (see ChangeListener). Not owned; may be null.
  ChangeListener* listener = nullptr;
  // Active expiry: how often a cycle runs and how much of that time it may
  // spend (Redis: 10 Hz, 25%).
  absl::Duration active_expire_interval = absl::Milliseconds(100);
  double active_expire_cpu_fraction = 0.25;
  // Largest key and string value (Redis proto-max-bulk-len: 512 MiB).
  uint64_t max_key_bytes = 512u << 20;
  uint64_t max_value_bytes = 512u << 20;
};

// SET's options, already parsed. Expiry is absolute.
struct SetOptions {
  enum class Condition { kAlways, kIfAbsent /* NX */, kIfPresent /* XX */ };
  Condition condition = Condition::kAlways;
  // EX/PX/EXAT/PXAT, converted to an absolute time by the caller. A time not
  // in the future deletes the key instead (Redis semantics).
  absl::optional<absl::Time> expire_at;
  // KEEPTTL: keep the existing key's expiry (ignored with expire_at).
  bool keep_ttl = false;
  // GET: return the old value (WRONGTYPE if the old value is not a string).
  bool get_old_value = false;
};

struct SetResult {
  // False when NX/XX prevented the write.
  bool written = false;
  // The previous string value, with SetOptions::get_old_value.
  absl::optional<std::string> old_value;
};

// GETEX's expiry change; at most one of the two.
struct GetExOptions {
  absl::optional<absl::Time> expire_at;
  bool persist = false;
};

// EXPIRE's NX/XX/GT/LT condition (Redis 7).
enum class ExpireCondition {
  kAlways,
  kIfNoTtl,            // NX
  kIfHasTtl,           // XX
  kIfLater,            // GT (no TTL counts as infinite: never later)
  kIfSooner,           // LT (no TTL counts as infinite: always sooner)
  kIfHasTtlAndSooner,  // XX LT
};

// TTL/PTTL answer, in Redis form.
inline constexpr int64_t kTtlKeyMissing = -2;
inline constexpr int64_t kTtlNone = -1;

// One key with its value, as snapshots and slot migration see it.
struct KeyRecord {
  std::string key;
  ValueType type = ValueType::kNone;
  // For kString.
  std::string value;
  // For kHash.
  std::vector<std::pair<std::string, std::string>> fields;
  // Absolute expiry, if the key has a TTL.
  absl::optional<absl::Time> expire_at;
};

struct ScanResult {
  // 0 when the iteration is complete.
  uint64_t next_cursor = 0;
  std::vector<std::string> keys;
};

struct StoreStats {
  int64_t keys = 0;
  int64_t keys_with_ttl = 0;
  int64_t used_memory_bytes = 0;
  int64_t expired_keys = 0;  // Removed by lazy or active expiry (total).
  int64_t evicted_keys = 0;  // Removed by maxmemory eviction (total).
  uint64_t maxmemory_bytes = 0;
  EvictionPolicy eviction_policy = EvictionPolicy::kNoEviction;
};

class Store {
 public:
  explicit Store(StoreOptions options = StoreOptions());
  // Stops the active-expiry loop if running, then frees every key.
  ~Store();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The store's notion of now (its Clock).
  absl::Time Now() const;

  // ---- Strings ----
  absl::StatusOr<absl::optional<std::string>> Get(absl::string_view key);
  absl::StatusOr<SetResult> Set(absl::string_view key, absl::string_view value,
                                const SetOptions& options = SetOptions());
  absl::StatusOr<absl::optional<std::string>> GetEx(
      absl::string_view key, const GetExOptions& options);
  absl::StatusOr<absl::optional<std::string>> GetDel(absl::string_view key);
  // Returns the new length.
  absl::StatusOr<int64_t> Append(absl::string_view key,
                                 absl::string_view value);
  absl::StatusOr<int64_t> StrLen(absl::string_view key);
  // INCRBY/DECRBY/INCR/DECR: OUT_OF_RANGE if the value is not an integer or
  // the result overflows int64.
  absl::StatusOr<int64_t> IncrBy(absl::string_view key, int64_t delta);
  // INCRBYFLOAT: returns the new value as stored (Redis formatting).
  absl::StatusOr<std::string> IncrByFloat(absl::string_view key,
                                          long double delta);
  // MGET: a missing key or a non-string value reads as nullopt.
  std::vector<absl::optional<std::string>> MGet(
      const std::vector<absl::string_view>& keys);
  // MSET: all or nothing (atomic with respect to other commands).
  absl::Status MSet(
      const std::vector<std::pair<absl::string_view, absl::string_view>>&
          pairs);

  // ---- Keys ----
  // True if the key existed.
  bool Del(absl::string_view key);
  bool Exists(absl::string_view key);
  ValueType Type(absl::string_view key);
  // Sets the absolute expiry; a time not in the future deletes the key.
  // Returns false if the key is missing or the condition failed.
  bool ExpireAt(absl::string_view key, absl::Time when,
                ExpireCondition condition = ExpireCondition::kAlways);
  // Removes the TTL; true if there was one.
  bool Persist(absl::string_view key);
  // Milliseconds to live, kTtlKeyMissing or kTtlNone.
  int64_t PTtl(absl::string_view key);

  // ---- Hashes ----
  // HSET: returns the number of fields added (not updated).
  absl::StatusOr<int64_t> HSet(
      absl::string_view key,
      const std::vector<std::pair<absl::string_view, absl::string_view>>&
          fields);
  absl::StatusOr<absl::optional<std::string>> HGet(absl::string_view key,
                                                   absl::string_view field);
  absl::StatusOr<std::vector<absl::optional<std::string>>> HMGet(
      absl::string_view key, const std::vector<absl::string_view>& fields);
  // Returns the number of fields removed; the key goes when empty.
  absl::StatusOr<int64_t> HDel(absl::string_view key,
                               const std::vector<absl::string_view>& fields);
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> HGetAll(
      absl::string_view key);
  absl::StatusOr<int64_t> HIncrBy(absl::string_view key,
                                  absl::string_view field, int64_t delta);
  absl::StatusOr<int64_t> HLen(absl::string_view key);
  absl::StatusOr<bool> HExists(absl::string_view key, absl::string_view field);

  // ---- Whole node ----
  // Live keys (keys that expired but were not yet removed still count, as
  // in Redis).
  int64_t DbSize() const;
  // Removes every key, atomically with respect to every other operation
  // (it holds every stripe), and reports OnFlushAll.
  void FlushAll();
  absl::optional<std::string> RandomKey();
  // SCAN: `cursor` 0 starts; keys whose name matches the glob `pattern`
  // (empty = all). `count` is a hint. Every key that exists for the whole
  // iteration is returned at least once, whatever the writes and table
  // resizes meanwhile; keys added or removed during it may or may not be.
  ScanResult Scan(uint64_t cursor, absl::string_view pattern, size_t count);

  // ---- Per slot (migration, snapshots, stats) ----
  int64_t SlotKeyCount(uint32_t slot) const;
  // Visits up to about `count` keys of `slot` after `cursor` (0 = from the
  // start), in a stable order, while writes go on; returns the cursor to
  // continue from, 0 at the end. Same no-skip guarantee as Scan. `visit`
  // runs with the slot's lock held: it must not call the Store.
  uint64_t ScanSlot(uint32_t slot, uint64_t cursor, size_t count,
                    const std::function<void(const KeyRecord&)>& visit);
  // Removes every key of `slot` (not reported to the listener: the caller
  // owns the decision). Returns the number removed.
  int64_t DropSlot(uint32_t slot);
  // Like DropSlot, but removes at most `max_keys` keys per call, so the
  // slot's stripe is held only briefly (background drops after a slot
  // moved away). Returns the number removed; 0 once the slot is empty.
  int64_t DropSlotKeys(uint32_t slot, size_t max_keys);
  // Writes `record` (a snapshot or migrated key), replacing any existing
  // key of that name. Subject to maxmemory like any write.
  absl::Status Restore(const KeyRecord& record);

  // ---- Memory, stats, config ----
  // Bytes the store holds for keys, values, TTLs and its tables (see
  // docs/STORAGE.md for what is counted and how far it can be off).
  int64_t UsedMemory() const;
  // The same figure recomputed by walking every key (slow; takes each lock
  // in turn). Equal to UsedMemory() when nothing runs concurrently; for
  // tests and diagnostics.
  int64_t ComputeUsedMemorySlow() const;
  StoreStats Stats() const;
  void SetMaxMemory(uint64_t bytes);
  void SetEvictionPolicy(EvictionPolicy policy);
  void SetReplicaMode(bool replica);
  bool replica_mode() const;

  // ---- Active expiry ----
  // Starts the background loop (idempotent). Stop waits for the loop to
  // finish its current cycle; the destructor calls it.
  void StartActiveExpiry();
  void StopActiveExpiry();
  // One adaptive cycle, run synchronously (the loop's body; also for tests
  // with a FakeClock). Spends at most `budget`; returns the keys removed.
  int64_t RunActiveExpireCycle(absl::Duration budget);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slotcache::node::storage

#endif  // SLOTCACHE_NODE_STORAGE_STORE_H_
