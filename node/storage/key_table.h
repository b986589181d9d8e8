// KeyTable: the hash table of one slot's keys (internal to node/storage).
//
// Open addressing with linear probing over an array of 8-byte words, each an
// Entry* whose top 16 bits (unused by x86-64/aarch64 user-space addresses)
// hold a 16-bit tag from the key's hash, so most mismatches are rejected
// without touching the entry. No control bytes and no per-slot metadata:
// 8 bytes per bucket. Buckets are not a power of two: the home bucket is
// fastrange(hash >> 32, capacity), which lets the table grow by 1.5x and
// stay 53-80% full (about 10-15 bytes of index per key). Deletion shifts
// the following cluster back, so there are no tombstones.
//
// Iteration order (for SCAN) does not come from bucket positions, which
// change when the table grows; the store orders keys by hash instead.
//
// Thread-safety: none; the store's slot-group lock protects each table.
#ifndef SLOTCACHE_NODE_STORAGE_KEY_TABLE_H_
#define SLOTCACHE_NODE_STORAGE_KEY_TABLE_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "node/storage/entry.h"

namespace slotcache::node::storage {

class KeyTable {
 public:
  static constexpr size_t kNotFound = ~size_t{0};

  // The 64-bit hash the table (and the store's SCAN order) uses. Stable for
  // the life of the process.
  static uint64_t Hash(absl::string_view key);

  KeyTable() = default;
  ~KeyTable();
  KeyTable(KeyTable&& other) noexcept;
  KeyTable& operator=(KeyTable&& other) noexcept;
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  // Keys whose entry has an expiry (maintained by the store through
  // AdjustVolatile).
  size_t volatile_count() const { return volatile_; }
  void AdjustVolatile(int delta) { volatile_ += delta; }

  // Bucket index of `key`, or kNotFound.
  size_t Find(absl::string_view key, uint64_t hash) const;
  Entry* At(size_t index) const { return Untag(words_[index]); }
  // Replaces the entry at `index` with one for the same key.
  void Replace(size_t index, Entry* entry);
  // Adds `entry` (whose key must be absent). May grow the table.
  void Insert(Entry* entry, uint64_t hash);
  // Removes the entry at `index` and returns it (not freed).
  Entry* EraseAt(size_t index);
  // Frees the bucket array; entries are not touched.
  void Reset();

  // The first occupied bucket at or after `start` (wrapping), or kNotFound
  // when empty. For random sampling.
  size_t NextOccupied(size_t start) const;

  // Heap bytes of the bucket array.
  size_t AllocatedBytes() const { return MallocChunkBytes(words_); }

  // Calls f(Entry*) for every entry. `f` must not modify the table.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < capacity_; ++i) {
      if (words_[i] != 0) f(Untag(words_[i]));
    }
  }

 private:
  static constexpr int kTagShift = 48;
  static constexpr uint64_t kPointerMask = (uint64_t{1} << kTagShift) - 1;

  static Entry* Untag(uint64_t word) {
    return reinterpret_cast<Entry*>(word & kPointerMask);
  }
  static uint64_t TagOf(uint64_t hash) { return hash & 0xffff; }
  static uint64_t MakeWord(Entry* entry, uint64_t hash);
  size_t Home(uint64_t hash) const {
    return static_cast<size_t>(((hash >> 32) * capacity_) >> 32);
  }
  size_t Next(size_t i) const { return i + 1 == capacity_ ? 0 : i + 1; }
  void Rehash(size_t new_capacity);

  uint64_t* words_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t size_ = 0;
  uint32_t volatile_ = 0;
};

}  // namespace slotcache::node::storage

#endif  // SLOTCACHE_NODE_STORAGE_KEY_TABLE_H_
