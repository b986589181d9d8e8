// Node ids: the stable identity of a cache node. A node keeps its id in its
// data folder across restarts and address changes; the coordinator knows
// nodes only by it.
//
// Thread-safety: pure functions, safe from any thread.
#ifndef SLOTCACHE_COMMON_NODE_ID_H_
#define SLOTCACHE_COMMON_NODE_ID_H_

#include <string>

#include "absl/strings/string_view.h"

namespace slotcache {

// A fresh random id: 10 lowercase hex digits (40 random bits; collisions
// among a few hundred nodes are negligible, and the coordinator checks).
std::string NewNodeId();

// 1..64 characters of [A-Za-z0-9_-].
bool IsValidNodeId(absl::string_view id);

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_NODE_ID_H_
