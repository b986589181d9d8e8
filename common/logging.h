// Minimal leveled logging to stderr (Debian's Abseil predates absl/log).
//
//   SC_LOG(INFO, "node %s registered in %s", id, az);
//
// Lines look like "I20261126 15:04:05.123456 node/server.cc:42] text".
// Thread-safety: safe from any thread; each line is written whole.
#ifndef SLOTCACHE_COMMON_LOGGING_H_
#define SLOTCACHE_COMMON_LOGGING_H_

#include "absl/base/log_severity.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace slotcache {

// Lines below this severity are dropped. Default: INFO.
void SetMinLogSeverity(absl::LogSeverity severity);

// Writes one line. Use SC_LOG instead of calling this directly.
void LogLine(absl::LogSeverity severity, const char* file, int line,
             absl::string_view message);

}  // namespace slotcache

#define SC_LOG_SEVERITY_INFO ::absl::LogSeverity::kInfo
#define SC_LOG_SEVERITY_WARNING ::absl::LogSeverity::kWarning
#define SC_LOG_SEVERITY_ERROR ::absl::LogSeverity::kError

#define SC_LOG(severity, ...)                                          \
  ::slotcache::LogLine(SC_LOG_SEVERITY_##severity, __FILE__, __LINE__, \
                       ::absl::StrFormat(__VA_ARGS__))

#endif  // SLOTCACHE_COMMON_LOGGING_H_
