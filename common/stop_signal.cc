#include "common/stop_signal.h"

namespace slotcache {

void StopSignal::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

void StopSignal::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = false;
}

bool StopSignal::stopped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_;
}

void StopSignal::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

uint64_t StopSignal::wakes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wakes_;
}

bool StopSignal::SleepFor(absl::Duration d) { return SleepFor(d, wakes()); }

bool StopSignal::SleepFor(absl::Duration d, uint64_t wakes_seen) {
  std::unique_lock<std::mutex> lock(mu_);
  if (d > absl::ZeroDuration()) {
    cv_.wait_for(lock, absl::ToChronoNanoseconds(d),
                 [&] { return stopped_ || wakes_ != wakes_seen; });
  }
  return !stopped_;
}

}  // namespace slotcache
