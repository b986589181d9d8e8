#include "node/replication/replica_tracker.h"

#include <algorithm>
#include <utility>

namespace slotcache::node {

ReplicaTracker::ReplicaTracker(Clock* clock)
    : clock_(clock), timer_([this] { TimerLoop(); }) {}

ReplicaTracker::~ReplicaTracker() { Stop(); }

void ReplicaTracker::Stop() {
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;  // No new waiter after this.
  }
  timer_stop_.Stop();
  if (timer_.joinable()) timer_.join();
  ExpireWaiters(/*all=*/true);
}

uint64_t ReplicaTracker::Add(const std::string& node_id,
                             const std::string& peer, bool full_sync) {
  MutexLock lock(&mu_);
  const uint64_t handle = next_handle_++;
  replicas_[handle] = Replica{node_id, peer, 0, full_sync};
  return handle;
}

void ReplicaTracker::Remove(uint64_t handle) {
  MutexLock lock(&mu_);
  replicas_.erase(handle);
}

void ReplicaTracker::SetFullSyncDone(uint64_t handle) {
  MutexLock lock(&mu_);
  auto it = replicas_.find(handle);
  if (it != replicas_.end()) it->second.full_sync_in_progress = false;
}

void ReplicaTracker::Ack(uint64_t handle, uint64_t applied_offset) {
  std::vector<std::pair<std::function<void(int)>, int>> ready;
  {
    MutexLock lock(&mu_);
    auto it = replicas_.find(handle);
    if (it == replicas_.end()) return;
    it->second.acked_offset = std::max(it->second.acked_offset, applied_offset);
    auto keep = waiters_.begin();
    for (auto w = waiters_.begin(); w != waiters_.end(); ++w) {
      const int acked = CountAckedLocked(w->offset);
      if (acked >= w->needed) {
        ready.emplace_back(std::move(w->done), acked);
      } else {
        if (keep != w) *keep = std::move(*w);
        ++keep;
      }
    }
    waiters_.erase(keep, waiters_.end());
  }
  for (auto& [done, acked] : ready) done(acked);
}

void ReplicaTracker::WaitForAcks(uint64_t offset, int needed,
                                 absl::Duration timeout,
                                 std::function<void(int)> done) {
  int acked;
  bool queued = false;
  {
    MutexLock lock(&mu_);
    acked = CountAckedLocked(offset);
    if (acked < needed && !stopping_ && timeout > absl::ZeroDuration()) {
      waiters_.push_back(
          Waiter{offset, needed, clock_->Now() + timeout, std::move(done)});
      queued = true;
    }
  }
  if (queued) {
    timer_stop_.Wake();  // Queued: the timer may be in its idle sleep.
    return;
  }
  done(acked);
}

int ReplicaTracker::CountAcked(uint64_t offset) const {
  MutexLock lock(&mu_);
  return CountAckedLocked(offset);
}

int ReplicaTracker::CountAckedLocked(uint64_t offset) const {
  int n = 0;
  for (const auto& [handle, replica] : replicas_) {
    if (!replica.full_sync_in_progress && replica.acked_offset >= offset) ++n;
  }
  return n;
}

std::vector<ReplicaTracker::Replica> ReplicaTracker::Replicas() const {
  MutexLock lock(&mu_);
  std::vector<Replica> out;
  for (const auto& [handle, replica] : replicas_) out.push_back(replica);
  return out;
}

void ReplicaTracker::TimerLoop() {
  // Timeouts are checked every few milliseconds while a WAIT is pending:
  // WAIT timeouts are coarse (milliseconds and up), and polling keeps the
  // clock injectable. Idle, the timer sleeps long (a 2 ms tick would cost
  // an idle node ~500 wake-ups a second) and WaitForAcks wakes it; the
  // idle sleep is still bounded because a Wake() that lands between the
  // emptiness check and the sleep is not seen by that sleep.
  constexpr absl::Duration kTick = absl::Milliseconds(2);
  constexpr absl::Duration kIdleRecheck = absl::Milliseconds(100);
  bool pending = false;
  while (timer_stop_.SleepFor(pending ? kTick : kIdleRecheck)) {
    pending = ExpireWaiters(/*all=*/false);
  }
}

bool ReplicaTracker::ExpireWaiters(bool all) {
  std::vector<std::pair<std::function<void(int)>, int>> expired;
  bool left;
  {
    MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    auto keep = waiters_.begin();
    for (auto w = waiters_.begin(); w != waiters_.end(); ++w) {
      if (all || w->deadline <= now) {
        expired.emplace_back(std::move(w->done), CountAckedLocked(w->offset));
      } else {
        if (keep != w) *keep = std::move(*w);
        ++keep;
      }
    }
    waiters_.erase(keep, waiters_.end());
    left = !waiters_.empty();
  }
  for (auto& [done, acked] : expired) done(acked);
  return left;
}

}  // namespace slotcache::node
