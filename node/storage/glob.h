// Redis-style glob matching for SCAN MATCH (internal to node/storage).
//
//   *      any run of bytes      ?      one byte
//   [abc]  one of a, b, c        [^a]   any byte but a    [a-z]  a range
//   \x     the byte x literally
//
// Thread-safety: pure function.
#ifndef SLOTCACHE_NODE_STORAGE_GLOB_H_
#define SLOTCACHE_NODE_STORAGE_GLOB_H_

#include "absl/strings/string_view.h"

namespace slotcache::node::storage {

// True if all of `text` matches `pattern`. Runs in O(|pattern| * |text|).
bool GlobMatch(absl::string_view pattern, absl::string_view text);

}  // namespace slotcache::node::storage

#endif  // SLOTCACHE_NODE_STORAGE_GLOB_H_
