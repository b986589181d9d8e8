// ByteSize: a byte count written the Redis way ("100mb", "1gb", "4096"),
// usable as an absl flag type (--maxmemory=100mb).
//
// Units, case-insensitive, as in redis.conf: b; k = 1000, kb = 1024;
// m = 1000^2, mb = 1024^2; g = 1000^3, gb = 1024^3.
//
// Thread-safety: plain value type; the functions are pure.
#ifndef SLOTCACHE_COMMON_BYTE_SIZE_H_
#define SLOTCACHE_COMMON_BYTE_SIZE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace slotcache {

struct ByteSize {
  uint64_t bytes = 0;
};

// INVALID_ARGUMENT saying what is accepted when `text` is not a size.
absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text);

// absl flag hooks.
bool AbslParseFlag(absl::string_view text, ByteSize* size, std::string* error);
std::string AbslUnparseFlag(ByteSize size);

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_BYTE_SIZE_H_
