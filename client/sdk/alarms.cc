#include "client/sdk/alarms.h"

#include <algorithm>
#include <utility>

namespace slotcache {

bool AlarmSet::RunAt(absl::Time when, Callback done) {
  uint64_t id;
  grpc::Alarm* alarm;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return false;
    id = next_id_++;
    auto owned = std::make_unique<grpc::Alarm>();
    alarm = owned.get();
    alarms_.emplace(id, std::move(owned));
    ++arming_;
    ++pending_;
  }
  // A time in the past means now; far-past times would also overflow
  // gRPC's conversion from std::chrono.
  when = std::max(when, absl::Now());
  // Set outside mu_: gRPC may run an already-due callback before Set
  // returns, and the callback takes mu_.
  alarm->Set(absl::ToChronoTime(when),
             [this, id, done = std::move(done)](bool fired) {
               OnAlarm(id, fired, done);
             });
  absl::MutexLock lock(&mu_);
  --arming_;
  return true;
}

void AlarmSet::OnAlarm(uint64_t id, bool fired, const Callback& done) {
  std::unique_ptr<grpc::Alarm> self;
  {
    absl::MutexLock lock(&mu_);
    auto node = alarms_.extract(id);
    // Empty when Shutdown took the alarm to cancel it; it destroys it then.
    if (!node.empty()) self = std::move(node.mapped());
  }
  done(fired);
  // Destroying an alarm from its own callback is safe (gRPC holds a
  // reference while the callback runs); not under mu_, since it enters
  // gRPC.
  self.reset();
  absl::MutexLock lock(&mu_);
  --pending_;
}

void AlarmSet::Shutdown() {
  absl::flat_hash_map<uint64_t, std::unique_ptr<grpc::Alarm>> alarms;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    mu_.Await(absl::Condition(
        +[](int* arming) { return *arming == 0; }, &arming_));
    alarms.swap(alarms_);
  }
  for (auto& [id, alarm] : alarms) alarm->Cancel();
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* pending) { return *pending == 0; }, &pending_));
  }
  // Every callback has returned: the cancelled alarms can go.
}

}  // namespace slotcache
