// Small helpers shared by the RESP command handler's files (internal to
// node/resp).
//
// Thread-safety: pure functions and constants.
#ifndef SLOTCACHE_NODE_RESP_COMMAND_UTIL_H_
#define SLOTCACHE_NODE_RESP_COMMAND_UTIL_H_

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace slotcache::node::resp {

// The Redis version slotcache reports (HELLO, INFO): the command set and
// reply shapes it follows are Redis 7.0's.
inline constexpr absl::string_view kRedisVersion = "7.0.0";

inline std::string Upper(absl::string_view s) {
  return absl::AsciiStrToUpper(s);
}

inline bool Is(absl::string_view a, absl::string_view b) {
  return absl::EqualsIgnoreCase(a, b);
}

// Redis' text for a command called with the wrong number of arguments.
inline std::string WrongArity(absl::string_view name) {
  return absl::StrCat("ERR wrong number of arguments for '",
                      absl::AsciiStrToLower(name), "' command");
}

}  // namespace slotcache::node::resp

#endif  // SLOTCACHE_NODE_RESP_COMMAND_UTIL_H_
