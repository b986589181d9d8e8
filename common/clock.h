// An injectable source of time, so TTL, lease and failover logic can be
// tested without sleeping.
//
// Thread-safety: Clock implementations are safe to call from any thread.
#ifndef SLOTCACHE_COMMON_CLOCK_H_
#define SLOTCACHE_COMMON_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace slotcache {

class Clock {
 public:
  virtual ~Clock() = default;

  virtual absl::Time Now() const = 0;

  // The process-wide wall clock. Never deleted.
  static Clock* Real();
};

// A clock that moves only when told to. Starts at the Unix epoch + 1e9 s so
// that "time zero" bugs do not hide behind a zero timestamp.
class FakeClock : public Clock {
 public:
  FakeClock() = default;
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  absl::Time Now() const override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1000000000);
};

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_CLOCK_H_
