#include "node/replication/replica_tracker.h"

#include <algorithm>
#include <utility>

namespace slotcache::node {

ReplicaTracker::ReplicaTracker(Clock* clock)
    : clock_(clock), timer_([this] { TimerLoop(); }) {}

ReplicaTracker::~ReplicaTracker() { Stop(); }

void ReplicaTracker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (timer_.joinable()) timer_.join();
}

uint64_t ReplicaTracker::Add(const std::string& node_id,
                             const std::string& peer, bool full_sync) {
  absl::MutexLock lock(&mu_);
  const uint64_t handle = next_handle_++;
  replicas_[handle] = Replica{node_id, peer, 0, full_sync};
  return handle;
}

void ReplicaTracker::Remove(uint64_t handle) {
  absl::MutexLock lock(&mu_);
  replicas_.erase(handle);
}

void ReplicaTracker::SetFullSyncDone(uint64_t handle) {
  absl::MutexLock lock(&mu_);
  auto it = replicas_.find(handle);
  if (it != replicas_.end()) it->second.full_sync_in_progress = false;
}

void ReplicaTracker::Ack(uint64_t handle, uint64_t applied_offset) {
  std::vector<std::pair<std::function<void(int)>, int>> ready;
  {
    absl::MutexLock lock(&mu_);
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
  {
    absl::MutexLock lock(&mu_);
    acked = CountAckedLocked(offset);
    if (acked < needed && !stopping_ && timeout > absl::ZeroDuration()) {
      waiters_.push_back(
          Waiter{offset, needed, clock_->Now() + timeout, std::move(done)});
      return;
    }
  }
  done(acked);
}

int ReplicaTracker::CountAcked(uint64_t offset) const {
  absl::MutexLock lock(&mu_);
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
  absl::MutexLock lock(&mu_);
  std::vector<Replica> out;
  for (const auto& [handle, replica] : replicas_) out.push_back(replica);
  return out;
}

void ReplicaTracker::TimerLoop() {
  // Timeouts are checked every few milliseconds: WAIT timeouts are
  // coarse (milliseconds and up), and polling keeps the clock injectable.
  constexpr absl::Duration kTick = absl::Milliseconds(2);
  for (;;) {
    std::vector<std::pair<std::function<void(int)>, int>> expired;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      // Idle (no WAIT pending): sleep until one arrives rather than tick;
      // a 2 ms tick costs an idle node ~500 wake-ups a second.
      mu_.Await(absl::Condition(this, &ReplicaTracker::TimerWakeLocked));
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), kTick);
      stopping = stopping_;
      const absl::Time now = clock_->Now();
      auto keep = waiters_.begin();
      for (auto w = waiters_.begin(); w != waiters_.end(); ++w) {
        if (stopping || w->deadline <= now) {
          expired.emplace_back(std::move(w->done), CountAckedLocked(w->offset));
        } else {
          if (keep != w) *keep = std::move(*w);
          ++keep;
        }
      }
      waiters_.erase(keep, waiters_.end());
    }
    for (auto& [done, acked] : expired) done(acked);
    if (stopping) return;
  }
}

}  // namespace slotcache::node
