#include "tests/bench/failover_probe/write_gap.h"

namespace slotcache::bench {

void WriteGapTracker::Record(absl::Time start, absl::Time end, bool ok) {
  if (!kill_.has_value()) {
    if (ok) {
      last_ok_before_ = end;
      ++ok_before_;
    }
    return;
  }
  if (!ok) {
    ++failed_after_;
    return;
  }
  if (start < *kill_) {
    ++straddling_;
    return;
  }
  if (!first_ok_after_.has_value()) first_ok_after_ = end;
}

void WriteGapTracker::MarkKill(absl::Time at) { kill_ = at; }

std::optional<absl::Duration> WriteGapTracker::Gap() const {
  if (!last_ok_before_.has_value() || !first_ok_after_.has_value()) {
    return std::nullopt;
  }
  return *first_ok_after_ - *last_ok_before_;
}

}  // namespace slotcache::bench
