// Hash slots, exactly as Redis Cluster computes them.
//
// slot(key) = CRC16-XMODEM(tag) mod 16384, where `tag` is the part of the key
// between the first '{' and the next '}' when that part is non-empty, and
// the whole key otherwise. So "{user1000}.following" and
// "{user1000}.followers" share a slot, while "{}x" and "{x" hash whole.
//
// Thread-safety: pure functions, safe from any thread.
#ifndef SLOTCACHE_COMMON_SLOT_H_
#define SLOTCACHE_COMMON_SLOT_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace slotcache {

// Number of hash slots in a cluster. Fixed by the Redis Cluster protocol.
inline constexpr uint32_t kNumSlots = 16384;

// CRC16 with the XMODEM parameters (poly 0x1021, init 0, no reflection).
uint16_t Crc16(absl::string_view data);

// The part of `key` that is hashed (the hash tag, or the whole key).
absl::string_view HashTag(absl::string_view key);

// The slot of `key`, in [0, kNumSlots).
uint32_t KeySlot(absl::string_view key);

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_SLOT_H_
