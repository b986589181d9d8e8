// Pure formatting of an operation's progress for `slotctl` watch output
// (operation_watch.h prints it): the live line
//   [#####.....] 52/100 slots  120,000/230,000 keys  14.2 MB  ETA 3s  step:
//   catching up
// and the final summary (state, duration, max write pause). Operations that
// move no slots (failover, create_cluster) get a line with their kind,
// elapsed time and Operation.progress instead of a bar.
//
// ETA comes from the rate seen while watching (ProgressRate): slots
// committed per second once a slot was committed, else keys copied per
// second against MigrationProgress.keys_total (which only counts moves
// that started, so early estimates of multi-move operations are low).
//
// Thread-safety: functions are pure; a ProgressRate is a value, not safe
// for concurrent use.
#ifndef SLOTCACHE_CLIENT_SLOTCTL_PROGRESS_H_
#define SLOTCACHE_CLIENT_SLOTCTL_PROGRESS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "proto/coordinator.pb.h"

namespace slotcache::slotctl {

class ProgressRate {
 public:
  // Records `progress` as seen at `now`; the first call sets the baseline.
  void Observe(const v1::MigrationProgress& progress, absl::Time now);
  // Time left at the rate seen since the baseline; nullopt until something
  // advanced (or when nothing is left to estimate).
  std::optional<absl::Duration> Eta() const;

 private:
  bool started_ = false;
  absl::Time first_time_;
  absl::Time last_time_;
  v1::MigrationProgress first_;
  v1::MigrationProgress last_;
};

// True for operations that move slots (they carry moves or slot counters).
bool MovesSlots(const v1::Operation& op);

// 230000 -> "230,000".
std::string FormatCount(uint64_t n);
// Bytes as decimal megabytes with one decimal: 14200000 -> "14.2 MB".
std::string FormatMegabytes(uint64_t bytes);
// "3s", "1m05s", "2h03m"; "-" for nullopt.
std::string FormatEta(std::optional<absl::Duration> eta);
// "[#####.....]": `width` cells, done/total of them filled (total 0: none).
std::string ProgressBar(uint64_t done, uint64_t total, int width);

// The live line for a RUNNING operation; `elapsed` is since it was created.
std::string FormatProgressLine(const v1::Operation& op,
                               std::optional<absl::Duration> eta,
                               absl::Duration elapsed);

// The final summary of a finished operation, e.g.
//   op-7 migrate_slots SUCCEEDED in 12.3s: 100/100 slots, 230,000 keys,
//   14.2 MB copied, max write pause 35 ms
// (one line), followed by "\n  " and Operation.message when it has one.
std::string FormatSummary(const v1::Operation& op);

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_PROGRESS_H_
