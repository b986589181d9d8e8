// Redis-style glob matching (SCAN MATCH, CONFIG GET), case-sensitive.
//
//   *      any run of bytes      ?      one byte
//   [abc]  one of a, b, c        [^a]   any byte but a    [a-z]  a range
//   \x     the byte x literally
//
// Thread-safety: pure function.
#ifndef SLOTCACHE_COMMON_GLOB_H_
#define SLOTCACHE_COMMON_GLOB_H_

#include "absl/strings/string_view.h"

namespace slotcache {

// True if all of `text` matches `pattern`. Runs in O(|pattern| * |text|).
bool GlobMatch(absl::string_view pattern, absl::string_view text);

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_GLOB_H_
