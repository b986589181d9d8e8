#include "tests/bench/failover_probe/probe.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/slot.h"
#include "tests/bench/failover_probe/write_gap.h"

namespace slotcache::bench {

absl::Status SdkKeyWriter::Set(const std::string& key, const std::string& value,
                               absl::Duration timeout) {
  CallOptions options;
  options.timeout = timeout;
  return client_->Execute(MakeCommand("SET", {key, value}), options).status();
}

absl::Status RespKeyWriter::Set(const std::string& key,
                                const std::string& value,
                                absl::Duration timeout) {
  return client_->Set(key, value, absl::Now() + timeout);
}

std::vector<std::string> KeysInSlots(uint32_t first_slot, uint32_t last_slot,
                                     int count) {
  std::vector<std::string> keys;
  // Slots are spread uniformly, so a range of r slots needs about
  // 16384 / r candidates per key; the bound only guards against a bug.
  for (uint64_t n = 0; static_cast<int>(keys.size()) < count && n < (1u << 30);
       ++n) {
    std::string key = absl::StrCat("failover-probe:", n);
    const uint32_t slot = KeySlot(key);
    if (slot >= first_slot && slot <= last_slot) keys.push_back(key);
  }
  return keys;
}

absl::StatusOr<ProbeResult> RunProbe(KeyWriter* writer,
                                     const ProbeOptions& options) {
  WriteGapTracker gaps;
  ProbeResult result;
  uint64_t seq = 0;
  std::string last_error;
  // One write; returns whether it succeeded.
  auto write_one = [&] {
    const std::string& key = options.keys[seq % options.keys.size()];
    const absl::Time start = absl::Now();
    absl::Status status =
        writer->Set(key, absl::StrCat("v", seq++), options.call_timeout);
    gaps.Record(start, absl::Now(), status.ok());
    if (!status.ok()) last_error = std::string(status.message());
    return status.ok();
  };

  const absl::Time warmup_end = absl::Now() + options.warmup;
  const absl::Time give_up = warmup_end + options.recovery_timeout;
  while (absl::Now() < warmup_end ||
         (gaps.ok_before_kill() == 0 && absl::Now() < give_up)) {
    write_one();
  }
  if (gaps.ok_before_kill() == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no write succeeded in ",
        absl::FormatDuration(options.warmup + options.recovery_timeout),
        " before the kill (last error: ", last_error,
        "); is the cluster up and serving these slots?"));
  }

  last_error.clear();
  const absl::Time kill_at = absl::Now();
  gaps.MarkKill(kill_at);
  if (absl::Status killed = options.kill(); !killed.ok()) return killed;
  while (!gaps.recovered() &&
         absl::Now() < kill_at + options.recovery_timeout) {
    write_one();
  }

  result.recovered = gaps.recovered();
  result.gap = gaps.Gap();
  result.ok_before_kill = gaps.ok_before_kill();
  result.failed_after_kill = gaps.failed_after_kill();
  result.straddling = gaps.straddling();
  result.last_error = last_error;
  return result;
}

}  // namespace slotcache::bench
