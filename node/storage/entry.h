// Entry: one key and its value in a single heap block (internal to
// node/storage).
//
// Why: a per-key std::string plus a value object would cost two or three
// allocations and ~100 bytes of overhead per key. Here a key with a short
// string value is one malloc block:
//
//   byte 0      flags: bits 0-1 type (0 string, 1 hash), bit 2 has-expiry,
//               bit 3 wide lengths
//   bytes 1-3   access: 24-bit LRU clock (seconds) or LFU (16-bit minutes +
//               8-bit log counter), little-endian
//   narrow:     byte 4 key length, bytes 5-7 value length (24 bits)
//   wide:       bytes 4-7 key length, bytes 8-11 value length (32 bits)
//   [8 bytes]   absolute expiry, Unix milliseconds (only with has-expiry)
//   key bytes, then value bytes. A hash's "value" is the 8-byte address of
//   its HashValue.
//
// A 16-byte key with a 32-byte value takes 8 + 48 = 56 bytes: glibc's
// 64-byte chunk, no padding wasted.
//
// Thread-safety: none; the store's slot-group lock protects entries.
#ifndef SLOTCACHE_NODE_STORAGE_ENTRY_H_
#define SLOTCACHE_NODE_STORAGE_ENTRY_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace slotcache::node::storage {

enum class EntryType : uint8_t { kString = 0, kHash = 1 };

// A hash value's fields.
using HashValue = absl::flat_hash_map<std::string, std::string>;

class Entry {
 public:
  // Allocates an entry of `type` for `key` with room for `value_len` value
  // bytes (uninitialised) and, if `has_expiry`, an expiry (set to 0).
  static Entry* Create(EntryType type, absl::string_view key, size_t value_len,
                       bool has_expiry);
  // A string entry holding `value`.
  static Entry* CreateString(absl::string_view key, absl::string_view value,
                             bool has_expiry);
  // A hash entry for `key` owning a new, empty HashValue.
  static Entry* CreateHash(absl::string_view key, bool has_expiry);
  // A copy of `from` (key, type, access, expiry if both have one) with a
  // value of `value_len` bytes whose first min(old, new) bytes are copied.
  // A hash's HashValue moves to the copy (the old block must then be freed
  // with FreeReplaced).
  static Entry* Resize(const Entry* from, size_t value_len, bool has_expiry);
  // Frees the block only (a hash's HashValue stays: DestroyWithValue).
  static void Free(Entry* entry);
  // Frees the block and, for a hash, its HashValue.
  static void DestroyWithValue(Entry* entry);
  // Frees `old`, which `successor` replaces: its HashValue too, unless
  // `successor` took it over (Resize).
  static void FreeReplaced(Entry* old, const Entry* successor);

  EntryType type() const { return static_cast<EntryType>(flags() & 3u); }
  bool has_expiry() const { return (flags() & kHasExpiry) != 0; }

  absl::string_view key() const {
    return absl::string_view(data() + KeyOffset(), KeyLen());
  }
  absl::string_view value() const {
    return absl::string_view(data() + ValueOffset(), ValueLen());
  }
  char* mutable_value() { return data() + ValueOffset(); }

  // Unix ms; only meaningful with has_expiry().
  int64_t expiry_ms() const {
    int64_t v;
    std::memcpy(&v, data() + HeaderLen(), sizeof(v));
    return v;
  }
  void set_expiry_ms(int64_t ms) {
    std::memcpy(data() + HeaderLen(), &ms, sizeof(ms));
  }

  uint32_t access() const {
    const auto* p = reinterpret_cast<const uint8_t*>(data());
    return p[1] | (p[2] << 8) | (static_cast<uint32_t>(p[3]) << 16);
  }
  void set_access(uint32_t v) {
    auto* p = reinterpret_cast<uint8_t*>(data());
    p[1] = v & 0xff;
    p[2] = (v >> 8) & 0xff;
    p[3] = (v >> 16) & 0xff;
  }

  // For hashes: the fields, owned by the entry.
  HashValue* hash() const {
    HashValue* h;
    std::memcpy(&h, data() + ValueOffset(), sizeof(h));
    return h;
  }

  // Heap bytes of this block as the allocator sees them (chunk size).
  size_t AllocatedBytes() const;

 private:
  static constexpr uint8_t kHasExpiry = 1u << 2;
  static constexpr uint8_t kWide = 1u << 3;

  Entry() = delete;

  void set_hash(HashValue* h) {
    std::memcpy(data() + ValueOffset(), &h, sizeof(h));
  }

  const char* data() const { return reinterpret_cast<const char*>(this); }
  char* data() { return reinterpret_cast<char*>(this); }
  uint8_t flags() const { return static_cast<uint8_t>(data()[0]); }
  bool wide() const { return (flags() & kWide) != 0; }
  size_t HeaderLen() const { return wide() ? 12 : 8; }
  size_t KeyOffset() const { return HeaderLen() + (has_expiry() ? 8 : 0); }
  size_t KeyLen() const;
  size_t ValueLen() const;
  size_t ValueOffset() const { return KeyOffset() + KeyLen(); }
};

// Heap bytes the allocator really uses for a block obtained from malloc
// (glibc: usable size + the 8-byte chunk header). 0 for nullptr.
size_t MallocChunkBytes(const void* block);

// Estimated heap bytes of a hash: its object, its table and its strings
// (O(fields)).
size_t HashValueBytes(const HashValue& hash);
// The object and table part alone (O(1)), for incremental accounting.
size_t HashTableBytes(const HashValue& hash);
// Heap bytes a std::string holds beyond its inline (SSO) buffer.
size_t StringHeapBytes(const std::string& s);

}  // namespace slotcache::node::storage

#endif  // SLOTCACHE_NODE_STORAGE_ENTRY_H_
