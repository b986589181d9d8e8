// The small part of RESP2 (the Redis protocol) the failover probe needs to
// talk to Redis Cluster itself: encoding a command, parsing replies, and
// reading MOVED/ASK redirects and CLUSTER SLOTS.
//
// Thread-safety: pure functions and values.
#ifndef SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_RESP_H_
#define SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_RESP_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace slotcache::bench {

struct RespValue {
  enum class Type { kSimpleString, kError, kInteger, kBulk, kNull, kArray };
  Type type = Type::kNull;
  // kSimpleString, kError and kBulk.
  std::string text;
  int64_t integer = 0;
  std::vector<RespValue> elements;
};

// A command as a RESP array of bulk strings.
std::string EncodeCommand(const std::vector<std::string>& words);

// Parses one reply from the front of `in`. Returns the bytes it used, or 0
// when `in` does not hold a whole reply yet. Malformed input is
// INVALID_ARGUMENT (the connection should then be dropped).
absl::StatusOr<size_t> ParseReply(absl::string_view in, RespValue* out);

// "-MOVED 3999 127.0.0.1:6381" / "-ASK ..." (the error text, without '-').
struct Redirect {
  bool ask = false;
  uint32_t slot = 0;
  std::string address;  // host:port
};
std::optional<Redirect> ParseRedirect(absl::string_view error);

// One row of CLUSTER SLOTS: slots [first, last] are served by `primary`.
struct SlotOwner {
  uint32_t first = 0;
  uint32_t last = 0;
  std::string primary;  // host:port
};
absl::StatusOr<std::vector<SlotOwner>> ParseClusterSlots(
    const RespValue& reply);

}  // namespace slotcache::bench

#endif  // SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_RESP_H_
