// WriteGapTracker: the client-visible write gap around one failure.
//
// The gap is the time from the end of the last successful write that
// finished before the failure (the kill) to the end of the first successful
// write that was *issued* after it. A write issued before the kill and
// acknowledged after it counts for neither side: its success says nothing
// about whether the cluster serves writes again (the old primary may have
// acked it just before it died), so it must not end the gap early.
//
// Thread-safety: not thread-safe; one writer loop owns a tracker.
#ifndef SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_WRITE_GAP_H_
#define SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_WRITE_GAP_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"

namespace slotcache::bench {

class WriteGapTracker {
 public:
  // A write issued at `start` finished at `end`; `ok` when it succeeded.
  void Record(absl::Time start, absl::Time end, bool ok);
  // The failure happened at `at`. Call once, between writes.
  void MarkKill(absl::Time at);

  // Set once both ends of the gap are known.
  std::optional<absl::Duration> Gap() const;
  bool recovered() const { return first_ok_after_.has_value(); }
  bool killed() const { return kill_.has_value(); }

  int64_t ok_before_kill() const { return ok_before_; }
  int64_t failed_after_kill() const { return failed_after_; }
  // Successes that straddled the kill (ignored for the gap, see above).
  int64_t straddling() const { return straddling_; }

 private:
  std::optional<absl::Time> kill_;
  std::optional<absl::Time> last_ok_before_;
  std::optional<absl::Time> first_ok_after_;
  int64_t ok_before_ = 0;
  int64_t failed_after_ = 0;
  int64_t straddling_ = 0;
};

}  // namespace slotcache::bench

#endif  // SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_WRITE_GAP_H_
