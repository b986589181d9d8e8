// ReplicaAckWaiter: WAIT-like acknowledgement of writes by replicas
// (RequestOptions.min_replica_acks), as the data-plane service sees it.
//
// Thread-safety: implementations are called from many threads at once.
#ifndef SLOTCACHE_NODE_REPLICATION_REPLICA_ACK_WAITER_H_
#define SLOTCACHE_NODE_REPLICATION_REPLICA_ACK_WAITER_H_

#include <functional>

#include "absl/time/time.h"

namespace slotcache::node {

class ReplicaAckWaiter {
 public:
  virtual ~ReplicaAckWaiter() = default;

  // Calls `done(n)` once `needed` replicas applied every write that
  // completed before the call (n is how many had), or after `timeout` with
  // how many had by then. Never blocks: `done` may run later on another
  // thread.
  virtual void WaitForReplicas(int needed, absl::Duration timeout,
                               std::function<void(int)> done) = 0;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_REPLICATION_REPLICA_ACK_WAITER_H_
