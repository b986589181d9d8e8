// WriteObserver: the hook through which the dispatcher lets replication see
// every write command it runs.
//
// The dispatcher hands the observer the command together with a callable
// that executes it; the observer decides what to do around the execution
// (take a lock, record the keys' resulting state). This keeps the
// dispatcher ignorant of replication and lets the observer order its log
// with the store (see docs/REPLICATION.md).
//
// Thread-safety: implementations are called from many threads at once.
#ifndef SLOTCACHE_NODE_REPLICATION_WRITE_OBSERVER_H_
#define SLOTCACHE_NODE_REPLICATION_WRITE_OBSERVER_H_

#include <functional>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "node/commands/command_table.h"
#include "proto/cache.pb.h"

namespace slotcache::node {

class WriteObserver {
 public:
  virtual ~WriteObserver() = default;

  // Called for a write command (kWrite flag) that passed admission.
  // Must call `execute` exactly once; `execute` runs the command on the
  // store and fills `reply` (a value, or a typed error when nothing
  // changed).
  virtual void ObserveWrite(const CommandSpec& spec, const v1::Command& command,
                            const v1::Reply& reply,
                            absl::FunctionRef<void()> execute) = 0;
};

// WAIT-like acknowledgement of writes by replicas (RequestOptions.
// min_replica_acks), as the data-plane service sees it.
class ReplicaAckWaiter {
 public:
  virtual ~ReplicaAckWaiter() = default;

  // Calls `done(n)` once `needed` replicas applied every write logged so
  // far (n is how many had), or after `timeout` with how many had by then.
  // Never blocks: `done` may run later on another thread.
  virtual void WaitForReplicas(int needed, absl::Duration timeout,
                               std::function<void(int)> done) = 0;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_REPLICATION_WRITE_OBSERVER_H_
