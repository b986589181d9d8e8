#include "common/logging.h"

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace slotcache {
namespace {

std::atomic<int> min_severity{static_cast<int>(absl::LogSeverity::kInfo)};

}  // namespace

void SetMinLogSeverity(absl::LogSeverity severity) {
  min_severity.store(static_cast<int>(severity), std::memory_order_relaxed);
}

void LogLine(absl::LogSeverity severity, const char* file, int line,
             absl::string_view message) {
  if (static_cast<int>(severity) <
      min_severity.load(std::memory_order_relaxed)) {
    return;
  }
  std::string text = absl::StrFormat(
      "%c%s %s:%d] %s\n", absl::LogSeverityName(severity)[0],
      absl::FormatTime("%Y%m%d %H:%M:%E6S", absl::Now(), absl::UTCTimeZone()),
      file, line, message);
  // One fwrite per line keeps lines from different threads apart.
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace slotcache
