// ReplicaTracker: on a primary, the replicas connected to it and what each
// acknowledged, plus the WAIT-like waiters of requests with
// min_replica_acks (RequestOptions).
//
// A waiter is a callback, not a blocked thread: WaitForAcks returns at once
// and the callback runs later, when enough replicas acknowledged the target
// offset (on the thread that delivered the ack) or when the timeout passed
// (on the tracker's timer thread). Callbacks must be quick (finish a gRPC
// reactor) and must not call back into the tracker.
//
// Thread-safety: all methods may be called from any thread.
#ifndef SLOTCACHE_NODE_REPLICATION_REPLICA_TRACKER_H_
#define SLOTCACHE_NODE_REPLICATION_REPLICA_TRACKER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/stop_signal.h"

namespace slotcache::node {

class ReplicaTracker {
 public:
  struct Replica {
    std::string node_id;
    std::string peer;
    // Highest applied offset acknowledged (0 before the first ack).
    uint64_t acked_offset = 0;
    bool full_sync_in_progress = false;
  };

  explicit ReplicaTracker(Clock* clock = Clock::Real());
  // Runs every pending callback with the current ack count.
  ~ReplicaTracker();

  ReplicaTracker(const ReplicaTracker&) = delete;
  ReplicaTracker& operator=(const ReplicaTracker&) = delete;

  // A replica stream opened; returns its handle.
  uint64_t Add(const std::string& node_id, const std::string& peer,
               bool full_sync);
  void Remove(uint64_t handle);
  void SetFullSyncDone(uint64_t handle);
  void Ack(uint64_t handle, uint64_t applied_offset);

  // Calls `done(n)` once `needed` replicas acknowledged `offset` (n is how
  // many had), or after `timeout` with how many had by then.
  void WaitForAcks(uint64_t offset, int needed, absl::Duration timeout,
                   std::function<void(int)> done);

  // How many replicas acknowledged `offset` or later.
  int CountAcked(uint64_t offset) const;
  std::vector<Replica> Replicas() const;

  // Ends the timer thread, running every pending callback.
  void Stop();

 private:
  struct Waiter {
    uint64_t offset;
    int needed;
    absl::Time deadline;
    std::function<void(int)> done;
  };

  int CountAckedLocked(uint64_t offset) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TimerLoop();
  // Runs the callbacks of the waiters whose deadline passed (all of them
  // with `all`); returns whether any waiter is left.
  bool ExpireWaiters(bool all);

  Clock* const clock_;

  // TSAN-visible (the timer thread and RPC threads share everything here).
  mutable Mutex mu_;
  uint64_t next_handle_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Replica> replicas_ ABSL_GUARDED_BY(mu_);
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The timer's sleep; WaitForAcks wakes it when a WAIT arrives.
  StopSignal timer_stop_;
  std::thread timer_;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_REPLICATION_REPLICA_TRACKER_H_
