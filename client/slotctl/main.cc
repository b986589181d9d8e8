// slotctl: the slotcache operator CLI. Flags, wiring, run.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/health.h"
#include "common/process.h"

ABSL_FLAG(std::string, target, "127.0.0.1:6999",
          "HOST:PORT of the coordinator or node to talk to.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5),
          "Deadline for each call, e.g. 500ms or 10s.");

namespace {

constexpr char kUsage[] =
    "slotctl: operate a slotcache cluster.\n\n"
    "Usage: slotctl [--target=HOST:PORT] COMMAND\n\n"
    "Commands:\n"
    "  ping    check that the server at --target is up and serving\n";

// Exit codes: 0 success, 1 the check/command failed, 2 usage error.
int Ping() {
  const std::string target = absl::GetFlag(FLAGS_target);
  absl::Status status =
      slotcache::CheckHealth(target, absl::GetFlag(FLAGS_timeout));
  if (!status.ok()) {
    std::cerr << "slotctl: " << status.message() << "\n";
    return 1;
  }
  std::cout << target << " is SERVING\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args = slotcache::ParseFlags(argc, argv, kUsage);
  if (args.size() == 1 && args[0] == "ping") return Ping();
  std::cerr << "slotctl: expected a command.\n\n" << kUsage;
  return 2;
}
