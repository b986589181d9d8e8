// StopSignal: the stop flag of a background loop together with the timed
// sleep between its rounds, written once for every loop of the project.
//
//   while (stop_.SleepFor(interval)) DoOneRound();   // the loop
//   stop_.Stop(); thread_.join();                    // shutdown
//
// Wake() ends the current sleep early without stopping (new work arrived).
// Reset() re-arms a stopped signal for loops that can be restarted.
//
// Built on std::mutex and std::condition_variable rather than absl::Mutex:
// Debian's Abseil is not TSAN-instrumented, so waits on an absl::Mutex are
// invisible to --config=tsan while pthread-based ones are seen.
//
// Thread-safety: every method may be called from any thread.
#ifndef SLOTCACHE_COMMON_STOP_SIGNAL_H_
#define SLOTCACHE_COMMON_STOP_SIGNAL_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/time/time.h"

namespace slotcache {

class StopSignal {
 public:
  StopSignal() = default;
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Sets the flag and wakes every sleeper. Idempotent.
  void Stop();
  // Clears the flag (a restartable loop's Start).
  void Reset();
  bool stopped() const;

  // Ends the sleeps in progress early, without stopping.
  void Wake();

  // Sleeps for `d`, or until Stop() or Wake(). Returns false once stopped
  // (also when already stopped on entry: then it does not sleep).
  bool SleepFor(absl::Duration d);

  // How many times Wake() was called so far. A loop that checks some state
  // before sleeping reads this first and passes it to SleepFor, so a Wake()
  // that lands between its check and its sleep is not missed:
  //   const uint64_t seen = signal.wakes();
  //   if (!StateChanged()) signal.SleepFor(backoff, seen);
  uint64_t wakes() const;
  // Like SleepFor(d), but returns at once when Wake() was called since
  // wakes() returned `wakes_seen`.
  bool SleepFor(absl::Duration d, uint64_t wakes_seen);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;  // Guarded by mu_.
  uint64_t wakes_ = 0;    // Guarded by mu_; bumped by Wake().
};

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_STOP_SIGNAL_H_
