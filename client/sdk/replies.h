// Reply parsers of the SDK: a node's v1::Value turned into the typed
// result of a Client call (client/sdk/client.h), or INTERNAL naming what
// was expected when the node and the SDK disagree on a reply's shape.
//
// Thread-safety: pure functions.
#ifndef SLOTCACHE_CLIENT_SDK_REPLIES_H_
#define SLOTCACHE_CLIENT_SDK_REPLIES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/cache.pb.h"

namespace slotcache {

// INTERNAL: the node replied `value` where the SDK expected `what`.
absl::Status UnexpectedReply(absl::string_view what, const v1::Value& value);

// A bulk or status string, or nullopt for nil (GET, HGET).
absl::StatusOr<std::optional<std::string>> ParseOptionalString(v1::Value value);
absl::StatusOr<int64_t> ParseInteger(v1::Value value);
// An integer reply read as "did it" (EXPIRE: 1 or 0).
absl::StatusOr<bool> ParseIntegerAsBool(v1::Value value);
// SET: "OK" when written, nil when NX/XX prevented it.
absl::StatusOr<bool> ParseSetReply(v1::Value value);
// An integer, or a bulk/status string holding a number (INCRBYFLOAT).
absl::StatusOr<double> ParseDouble(v1::Value value);
// An array of strings or nils (MGET, HMGET).
absl::StatusOr<std::vector<std::optional<std::string>>> ParseOptionalStrings(
    v1::Value value);
// HGETALL's flat field/value array (nil: an empty map).
absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ParseFieldMap(
    v1::Value value);
// The value itself (Execute).
absl::StatusOr<v1::Value> ParseValue(v1::Value value);

}  // namespace slotcache

#endif  // SLOTCACHE_CLIENT_SDK_REPLIES_H_
