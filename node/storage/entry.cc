#include "node/storage/entry.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <new>

namespace slotcache::node::storage {
namespace {

// Narrow lengths: key < 256 bytes and value < 16 MiB.
constexpr size_t kNarrowKeyMax = 0xff;
constexpr size_t kNarrowValueMax = 0xffffff;

void PutLE(char* p, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t GetLE(const char* p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  }
  return v;
}

}  // namespace

size_t MallocChunkBytes(const void* block) {
  if (block == nullptr) return 0;
  // glibc keeps an 8-byte size word before each chunk; usable size excludes
  // it. (Under sanitizers malloc_usable_size reports the requested size, so
  // the figure is a lower bound there.)
  return malloc_usable_size(const_cast<void*>(block)) + sizeof(size_t);
}

Entry* Entry::Create(EntryType type, absl::string_view key, size_t value_len,
                     bool has_expiry) {
  const bool wide = key.size() > kNarrowKeyMax || value_len > kNarrowValueMax;
  const size_t header = wide ? 12 : 8;
  const size_t total = header + (has_expiry ? 8 : 0) + key.size() + value_len;
  char* p = static_cast<char*>(std::malloc(total));
  if (p == nullptr) throw std::bad_alloc();
  uint8_t flags = static_cast<uint8_t>(type);
  if (has_expiry) flags |= kHasExpiry;
  if (wide) flags |= kWide;
  p[0] = static_cast<char>(flags);
  PutLE(p + 1, 0, 3);
  if (wide) {
    PutLE(p + 4, static_cast<uint32_t>(key.size()), 4);
    PutLE(p + 8, static_cast<uint32_t>(value_len), 4);
  } else {
    PutLE(p + 4, static_cast<uint32_t>(key.size()), 1);
    PutLE(p + 5, static_cast<uint32_t>(value_len), 3);
  }
  if (has_expiry) std::memset(p + header, 0, 8);
  std::memcpy(p + header + (has_expiry ? 8 : 0), key.data(), key.size());
  return reinterpret_cast<Entry*>(p);
}

Entry* Entry::CreateString(absl::string_view key, absl::string_view value,
                           bool has_expiry) {
  Entry* e = Create(EntryType::kString, key, value.size(), has_expiry);
  if (!value.empty())
    std::memcpy(e->mutable_value(), value.data(), value.size());
  return e;
}

Entry* Entry::CreateHash(absl::string_view key, bool has_expiry) {
  Entry* e = Create(EntryType::kHash, key, sizeof(HashValue*), has_expiry);
  e->set_hash(new HashValue());
  return e;
}

Entry* Entry::Resize(const Entry* from, size_t value_len, bool has_expiry) {
  Entry* e = Create(from->type(), from->key(), value_len, has_expiry);
  e->set_access(from->access());
  if (has_expiry && from->has_expiry()) e->set_expiry_ms(from->expiry_ms());
  const size_t keep = std::min(value_len, from->value().size());
  if (keep > 0) std::memcpy(e->mutable_value(), from->value().data(), keep);
  return e;
}

void Entry::Free(Entry* entry) { std::free(entry); }

void Entry::DestroyWithValue(Entry* entry) {
  if (entry->type() == EntryType::kHash) delete entry->hash();
  Free(entry);
}

void Entry::FreeReplaced(Entry* old, const Entry* successor) {
  const bool moved = old->type() == EntryType::kHash &&
                     successor->type() == EntryType::kHash &&
                     successor->hash() == old->hash();
  if (moved) {
    Free(old);
  } else {
    DestroyWithValue(old);
  }
}

size_t Entry::KeyLen() const {
  return wide() ? GetLE(data() + 4, 4) : GetLE(data() + 4, 1);
}

size_t Entry::ValueLen() const {
  return wide() ? GetLE(data() + 8, 4) : GetLE(data() + 5, 3);
}

size_t Entry::AllocatedBytes() const { return MallocChunkBytes(this); }

namespace {

// The glibc chunk that a malloc(n) takes: n + the 8-byte size word,
// rounded up to 16, at least 32.
size_t ChunkFor(size_t n) {
  const size_t chunk = (n + sizeof(size_t) + 15) / 16 * 16;
  return chunk < 32 ? 32 : chunk;
}

}  // namespace

size_t StringHeapBytes(const std::string& s) {
  // libstdc++ keeps up to 15 bytes inline; longer strings own a block of
  // capacity + 1 bytes.
  if (s.capacity() <= 15) return 0;
  return ChunkFor(s.capacity() + 1);
}

size_t HashTableBytes(const HashValue& hash) {
  // The map object is its own block (new HashValue). absl's flat_hash_map
  // (20220623) keeps one block: capacity + 16 control bytes rounded up to
  // the slot alignment, then the slots.
  using Slot = HashValue::value_type;
  const size_t cap = hash.capacity();
  size_t table = 0;
  if (cap > 0) {
    const size_t ctrl =
        (cap + 16 + alignof(Slot) - 1) / alignof(Slot) * alignof(Slot);
    table = ChunkFor(ctrl + cap * sizeof(Slot));
  }
  return ChunkFor(sizeof(HashValue)) + table;
}

size_t HashValueBytes(const HashValue& hash) {
  size_t total = HashTableBytes(hash);
  for (const auto& [field, value] : hash) {
    total += StringHeapBytes(field) + StringHeapBytes(value);
  }
  return total;
}

}  // namespace slotcache::node::storage
