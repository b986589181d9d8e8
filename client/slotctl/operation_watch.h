// Follows one coordinator operation (any kind) until it ends, printing its
// progress: `slotctl operation watch ID` and every command that starts a
// long operation (reshard, rebalance, shard remove).
//
// Output (progress.h formats the lines):
//   human, stdout a TTY   one live line redrawn with a carriage return,
//                         then the final summary
//   human, not a TTY      a plain line whenever the progress changed (at
//                         most one per second, and one every 10 s while
//                         nothing changes), then the final summary
//   --output=json         one compact JSON Operation per line each time the
//                         operation changed; the last line is the finished
//                         operation
// Exit code: kExitOk when the operation SUCCEEDED; kExitFailed when it
// FAILED (its message goes to stderr) or it could not be followed;
// kExitInterrupted when Ctrl-C stopped the watching (the operation keeps
// running; stderr says how to cancel it).
//
// Thread-safety: WatchOperation may run on any thread; one at a time per
// process when it handles SIGINT (WatchOptions::handle_sigint).
#ifndef SLOTCACHE_CLIENT_SLOTCTL_OPERATION_WATCH_H_
#define SLOTCACHE_CLIENT_SLOTCTL_OPERATION_WATCH_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/slotctl/commands.h"
#include "grpcpp/support/status.h"
#include "proto/coordinator.pb.h"

namespace slotcache::slotctl {

// 128 + SIGINT, as shells report a command stopped by Ctrl-C.
inline constexpr int kExitInterrupted = 130;

// Where operations are read from: the coordinator's GetOperation, or a
// fake in tests.
class OperationSource {
 public:
  virtual ~OperationSource() = default;
  virtual grpc::Status Get(const std::string& id, v1::Operation* op) = 0;
};

// GetOperation on ctx.coordinator, each call with ctx.timeout as deadline.
std::unique_ptr<OperationSource> CoordinatorOperations(const Context& ctx);

struct WatchOptions {
  // How often GetOperation is called.
  absl::Duration poll_interval = absl::Milliseconds(150);
  // Give up after the coordinator, having answered once, could not be
  // asked for this long (it may be restarting). A coordinator that never
  // answered fails the watch at once.
  absl::Duration unreachable_timeout = absl::Seconds(30);
  // Non-TTY output: at most one line per min_line_interval while the
  // progress changes, and one per max_line_interval while it does not.
  absl::Duration min_line_interval = absl::Seconds(1);
  absl::Duration max_line_interval = absl::Seconds(10);
  // Ctrl-C stops the watching: either this flag (tests), or, with
  // handle_sigint, a SIGINT handler installed for the watch's duration.
  const std::atomic<bool>* interrupted = nullptr;
  bool handle_sigint = false;
  // Injected for tests.
  std::function<absl::Time()> now = [] { return absl::Now(); };
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) {
    absl::SleepFor(d);
  };
};

// The options the commands use: defaults, SIGINT handled.
WatchOptions CommandWatchOptions();

// Follows operation `id` to its end; see the file comment for the output
// (ctx.output, ctx.tty) and the exit code.
int WatchOperation(const Context& ctx, OperationSource& source,
                   const std::string& id, const WatchOptions& options);

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_OPERATION_WATCH_H_
