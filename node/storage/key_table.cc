#include "node/storage/key_table.h"

#include <cstdlib>
#include <new>
#include <utility>

#include "absl/hash/hash.h"

namespace slotcache::node::storage {
namespace {

// Grow when the table would pass 80% full: linear probing stays short
// (about 3 probes for a hit) and the array costs ~10-15 bytes per key.
bool NeedsGrowth(size_t size, size_t capacity) {
  return (size + 1) * 5 > capacity * 4;
}

}  // namespace

uint64_t KeyTable::Hash(absl::string_view key) {
  return absl::Hash<absl::string_view>{}(key);
}

KeyTable::~KeyTable() { Reset(); }

KeyTable::KeyTable(KeyTable&& other) noexcept
    : words_(std::exchange(other.words_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)),
      size_(std::exchange(other.size_, 0)),
      volatile_(std::exchange(other.volatile_, 0)) {}

KeyTable& KeyTable::operator=(KeyTable&& other) noexcept {
  if (this != &other) {
    Reset();
    words_ = std::exchange(other.words_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    size_ = std::exchange(other.size_, 0);
    volatile_ = std::exchange(other.volatile_, 0);
  }
  return *this;
}

void KeyTable::Reset() {
  std::free(words_);
  words_ = nullptr;
  capacity_ = size_ = volatile_ = 0;
}

uint64_t KeyTable::MakeWord(Entry* entry, uint64_t hash) {
  const auto p = reinterpret_cast<uint64_t>(entry);
  // User-space addresses fit in 48 bits on the platforms we build for; a
  // pointer that does not would corrupt the table, so stop loudly.
  if ((p >> kTagShift) != 0) std::abort();
  return p | (TagOf(hash) << kTagShift);
}

size_t KeyTable::Find(absl::string_view key, uint64_t hash) const {
  if (size_ == 0) return kNotFound;
  const uint64_t tag = TagOf(hash);
  for (size_t i = Home(hash);; i = Next(i)) {
    const uint64_t w = words_[i];
    if (w == 0) return kNotFound;
    if ((w >> kTagShift) == tag && Untag(w)->key() == key) return i;
  }
}

void KeyTable::Replace(size_t index, Entry* entry) {
  words_[index] =
      (words_[index] & ~kPointerMask) | reinterpret_cast<uint64_t>(entry);
}

void KeyTable::Insert(Entry* entry, uint64_t hash) {
  if (NeedsGrowth(size_, capacity_)) {
    Rehash(capacity_ < 4 ? 4 : capacity_ + capacity_ / 2);
  }
  size_t i = Home(hash);
  while (words_[i] != 0) i = Next(i);
  words_[i] = MakeWord(entry, hash);
  ++size_;
}

Entry* KeyTable::EraseAt(size_t index) {
  Entry* removed = Untag(words_[index]);
  --size_;
  // Backward-shift deletion: move later members of the cluster into the
  // hole unless their home lies cyclically in (hole, j].
  size_t hole = index;
  size_t j = index;
  for (;;) {
    j = Next(j);
    const uint64_t w = words_[j];
    if (w == 0) break;
    const size_t home = Home(Hash(Untag(w)->key()));
    const bool stays =
        hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    words_[hole] = w;
    hole = j;
  }
  words_[hole] = 0;
  if (size_ == 0) {
    std::free(words_);
    words_ = nullptr;
    capacity_ = 0;
  } else if (capacity_ > 8 && size_ * 5 < capacity_) {
    // Under 20% full: shrink to 50% so deleted keys give memory back.
    Rehash(size_ * 2 < 4 ? 4 : size_ * 2);
  }
  return removed;
}

size_t KeyTable::NextOccupied(size_t start) const {
  if (size_ == 0) return kNotFound;
  size_t i = start % capacity_;
  while (words_[i] == 0) i = Next(i);
  return i;
}

void KeyTable::Rehash(size_t new_capacity) {
  uint64_t* old = words_;
  const size_t old_capacity = capacity_;
  words_ = static_cast<uint64_t*>(std::calloc(new_capacity, sizeof(uint64_t)));
  if (words_ == nullptr) throw std::bad_alloc();
  capacity_ = static_cast<uint32_t>(new_capacity);
  for (size_t i = 0; i < old_capacity; ++i) {
    if (old[i] == 0) continue;
    size_t j = Home(Hash(Untag(old[i])->key()));
    while (words_[j] != 0) j = Next(j);
    words_[j] = old[i];
  }
  std::free(old);
}

}  // namespace slotcache::node::storage
