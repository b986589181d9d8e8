// Content digest of a store: an order-independent 64-bit hash of every live
// key with its type, value (hash fields in any order) and expiry time. Two
// stores with the same live contents have the same digest whatever their
// insertion order or table layout, so tests compare a replica with its
// primary by digest.
//
// Thread-safety: safe to call while the store is being written; the result
// then mixes states from during the call (compare quiesced stores).
#ifndef SLOTCACHE_NODE_REPLICATION_DIGEST_H_
#define SLOTCACHE_NODE_REPLICATION_DIGEST_H_

#include <cstdint>

#include "node/storage/store.h"

namespace slotcache::node {

struct StoreDigest {
  uint64_t digest = 0;
  uint64_t key_count = 0;
};

StoreDigest ComputeDigest(storage::Store* store);

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_REPLICATION_DIGEST_H_
