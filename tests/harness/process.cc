#include "tests/harness/process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace slotcache::testing {
namespace {

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::string& binary, const std::vector<std::string>& args,
    const std::string& log_path) {
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(
        binary, " is not an executable; add it to the test's data"));
  }
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open ", log_path, ": ", std::strerror(errno)));
  }
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_t child = fork();
  if (child < 0) {
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (child == 0) {
    // Child: only async-signal-safe calls until exec.
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(log_fd);
  return std::unique_ptr<ChildProcess>(new ChildProcess(child, log_path));
}

ChildProcess::~ChildProcess() { Kill(); }

absl::Status ChildProcess::Signal(int signal) {
  if (exit_code_.has_value()) {
    return absl::FailedPreconditionError("process already exited");
  }
  if (kill(pid_, signal) != 0) {
    return absl::InternalError(absl::StrCat("kill: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!exit_code_.has_value()) {
    int wait_status = 0;
    pid_t done = waitpid(pid_, &wait_status, WNOHANG);
    if (done == pid_) {
      exit_code_ = ExitCodeOf(wait_status);
      break;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid_, " still running after ",
                       absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return *exit_code_;
}

void ChildProcess::Kill() {
  if (exit_code_.has_value()) return;
  kill(pid_, SIGKILL);
  int wait_status = 0;
  waitpid(pid_, &wait_status, 0);
  exit_code_ = ExitCodeOf(wait_status);
}

std::string ChildProcess::ReadLog() const {
  std::ifstream in(log_path_);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<ServerProcess> StartServer(const std::string& binary,
                                          const std::vector<std::string>& args,
                                          absl::Duration timeout) {
  std::string dir = NewTempDir("server");
  std::string address_file = absl::StrCat(dir, "/address");
  std::vector<std::string> full_args = args;
  full_args.push_back("--listen=127.0.0.1:0");
  full_args.push_back(absl::StrCat("--address_file=", address_file));
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(binary, full_args, absl::StrCat(dir, "/log"));
  if (!process.ok()) return process.status();

  absl::StatusOr<std::string> address =
      WaitForAddressFile(address_file, **process, timeout);
  if (!address.ok()) return address.status();
  return ServerProcess{std::move(*process), *address};
}

absl::StatusOr<std::string> WaitForAddressFile(const std::string& address_file,
                                               const ChildProcess& process,
                                               absl::Duration timeout) {
  std::string address;
  absl::Status ready = PollUntil(
      [&] {
        std::ifstream in(address_file);
        return static_cast<bool>(std::getline(in, address)) && !address.empty();
      },
      timeout, absl::StrCat(address_file, " to hold the server's address"));
  if (!ready.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat(ready.message(), "; its log says:\n", process.ReadLog()));
  }
  return address;
}

std::string RunfilePath(const std::string& workspace_path) {
  const char* srcdir = getenv("TEST_SRCDIR");
  if (srcdir == nullptr) return workspace_path;
  return absl::StrCat(srcdir, "/slotcache/", workspace_path);
}

std::string NewTempDir(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const char* tmp = getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", prefix,
                                 "-", getpid(), "-", counter++);
  mkdir(dir.c_str(), 0755);
  return dir;
}

absl::Status PollUntil(const std::function<bool()>& condition,
                       absl::Duration timeout, const std::string& what) {
  absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(1);
  while (!condition()) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("timed out after ", absl::FormatDuration(timeout),
                       " waiting for ", what));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(50));
  }
  return absl::OkStatus();
}

}  // namespace slotcache::testing
