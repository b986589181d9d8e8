// Test harness for tests above unit level: start the real slotcache
// binaries as child processes on free ports and wait for them with
// deadlines (never fixed sleeps).
//
// Thread-safety: not thread-safe; use from the test's main thread.
#ifndef SLOTCACHE_TESTS_HARNESS_PROCESS_H_
#define SLOTCACHE_TESTS_HARNESS_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace slotcache::testing {

// A child process. The destructor kills it (SIGKILL) if it still runs.
class ChildProcess {
 public:
  // Starts `binary` with `args`; stdout and stderr go to `log_path`.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const std::string& log_path);

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

  absl::Status Signal(int signal);
  // Waits for the process to exit; returns its exit code (128 + signal
  // number when a signal ended it). DEADLINE_EXCEEDED when still running.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // SIGKILL and reap.
  void Kill();
  // The process's output so far.
  std::string ReadLog() const;

 private:
  ChildProcess(pid_t pid, std::string log_path)
      : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid_;
  std::optional<int> exit_code_;
  const std::string log_path_;
};

// A slotcache server binary started with --listen=127.0.0.1:0 and
// --address_file, once it has announced its address.
struct ServerProcess {
  std::unique_ptr<ChildProcess> process;
  std::string address;
};

// Waits up to `timeout` until `process` (a server started with
// --address_file=`address_file`) has written its bound address there;
// DEADLINE_EXCEEDED quoting the process's log otherwise.
absl::StatusOr<std::string> WaitForAddressFile(const std::string& address_file,
                                               const ChildProcess& process,
                                               absl::Duration timeout);

// Starts `binary` (a path from RunfilePath) with `args` plus the listen and
// address-file flags, and waits up to `timeout` for the address.
absl::StatusOr<ServerProcess> StartServer(
    const std::string& binary, const std::vector<std::string>& args,
    absl::Duration timeout = absl::Seconds(30));

// Path of a file built into the test's runfiles, from its workspace path
// (e.g. "node/slotcache-node").
std::string RunfilePath(const std::string& workspace_path);

// A fresh folder under the test's temporary directory.
std::string NewTempDir(const std::string& prefix);

// Polls `condition` every few milliseconds until it is true (OK) or
// `timeout` passes (DEADLINE_EXCEEDED mentioning `what`).
absl::Status PollUntil(const std::function<bool()>& condition,
                       absl::Duration timeout, const std::string& what);

}  // namespace slotcache::testing

#endif  // SLOTCACHE_TESTS_HARNESS_PROCESS_H_
