#include "node/replication/digest.h"

#include <string>

#include "common/slot.h"

namespace slotcache::node {
namespace {

// FNV-1a 64, then a splitmix64 finaliser: stable across processes and
// builds (absl::Hash is salted per process, so it cannot be compared).
uint64_t Fnv(uint64_t h, absl::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Length-prefixed, so ("ab","c") and ("a","bc") differ.
uint64_t HashPart(uint64_t h, absl::string_view bytes) {
  const uint64_t n = bytes.size();
  h = Fnv(h, absl::string_view(reinterpret_cast<const char*>(&n), sizeof(n)));
  return Fnv(h, bytes);
}

constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

uint64_t RecordHash(const storage::KeyRecord& r) {
  uint64_t h = HashPart(kFnvBasis, r.key);
  const int64_t expire_ms =
      r.expire_at.has_value() ? absl::ToUnixMillis(*r.expire_at) : 0;
  h = HashPart(h, absl::string_view(reinterpret_cast<const char*>(&expire_ms),
                                    sizeof(expire_ms)));
  if (r.type == storage::ValueType::kString) {
    h = HashPart(h, "string");
    return Mix(HashPart(h, r.value));
  }
  h = HashPart(h, "hash");
  // Fields in any order: a sum of per-field hashes.
  uint64_t fields = 0;
  for (const auto& [field, value] : r.fields) {
    fields += Mix(HashPart(HashPart(kFnvBasis, field), value));
  }
  return Mix(h ^ Mix(fields));
}

}  // namespace

StoreDigest ComputeDigest(storage::Store* store) {
  StoreDigest out;
  const absl::Time now = store->Now();
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (store->SlotKeyCount(slot) == 0) continue;
    uint64_t cursor = 0;
    do {
      cursor = store->ScanSlot(
          slot, cursor, 1024, [&](const storage::KeyRecord& record) {
            if (record.expire_at.has_value() && *record.expire_at <= now) {
              return;  // Reads as missing on every node.
            }
            out.digest += RecordHash(record);
            ++out.key_count;
          });
    } while (cursor != 0);
  }
  return out;
}

}  // namespace slotcache::node
