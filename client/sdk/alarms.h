// AlarmSet: runs callbacks at given times on gRPC's timer threads (one
// grpc::Alarm each), so the SDK needs no thread of its own to wait out a
// retry's backoff.
//
//   AlarmSet alarms;
//   alarms.RunAt(absl::Now() + delay, [](bool fired) { ... });
//   ...
//   alarms.Shutdown();  // pending callbacks run now with fired == false
//
// Thread-safety: RunAt and Shutdown may be called from any thread, also
// from inside a callback (RunAt only). Callbacks run on gRPC threads: keep
// them short. The destructor calls Shutdown.
#ifndef SLOTCACHE_CLIENT_SDK_ALARMS_H_
#define SLOTCACHE_CLIENT_SDK_ALARMS_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/alarm.h"

namespace slotcache {

class AlarmSet {
 public:
  // `fired` is true when the time came, false when Shutdown cancelled it.
  using Callback = std::function<void(bool fired)>;

  AlarmSet() = default;
  AlarmSet(const AlarmSet&) = delete;
  AlarmSet& operator=(const AlarmSet&) = delete;
  ~AlarmSet() { Shutdown(); }

  // Runs `done` at `when` (at once if it has passed). False, and `done` is
  // not run, after Shutdown.
  bool RunAt(absl::Time when, Callback done);

  // Cancels every pending alarm (their callbacks run with fired == false),
  // waits until every callback has returned, and refuses later RunAt
  // calls. Idempotent.
  void Shutdown();

 private:
  void OnAlarm(uint64_t id, bool fired, const Callback& done);

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // Alarms set and not yet run; a callback removes (and destroys) its own.
  absl::flat_hash_map<uint64_t, std::unique_ptr<grpc::Alarm>> alarms_
      ABSL_GUARDED_BY(mu_);
  // RunAt calls between registering an alarm and setting it: Shutdown must
  // not cancel (or destroy) an alarm before it is set.
  int arming_ ABSL_GUARDED_BY(mu_) = 0;
  // Callbacks not yet returned (set alarms, fired or not).
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace slotcache

#endif  // SLOTCACHE_CLIENT_SDK_ALARMS_H_
