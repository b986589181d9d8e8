// Process plumbing shared by the slotcache binaries: flag parsing with a
// usage text, and waiting for SIGTERM/SIGINT.
//
// Call BlockShutdownSignals() first thing in main(), before any thread
// starts, so the signals are delivered only to WaitForShutdownSignal().
#ifndef SLOTCACHE_COMMON_PROCESS_H_
#define SLOTCACHE_COMMON_PROCESS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace slotcache {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and in every
// thread started after it; also ignores SIGPIPE.
void BlockShutdownSignals();

// Sleeps until SIGTERM, SIGINT or SIGHUP arrives; returns its name.
std::string WaitForShutdownSignal();

// Switches off Abseil's mutex deadlock detection for the process. Debian's
// Abseil is built without NDEBUG, so by default every absl::Mutex
// acquisition (gRPC's own locks included) updates a process-wide graph
// under one global lock: ~10% of a server's or load generator's CPU, and
// two threads of the storage engine ran slower than one
// (docs/BENCHMARKS.md). Binaries call it (ParseFlags does); unit tests keep
// the detection on.
void TurnOffMutexDeadlockDetection();

// Parses absl flags (and calls TurnOffMutexDeadlockDetection).
// `--help` prints `usage` and the flags defined in
// files named main.cc (where binaries define theirs), then exits 0.
// Returns the positional arguments, program name excluded.
std::vector<std::string> ParseFlags(int argc, char** argv,
                                    absl::string_view usage);

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_PROCESS_H_
