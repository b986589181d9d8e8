// failover_probe: measures the client-visible write gap of one primary
// failure, for tests/bench/failover_bench.sh. It writes to keys of the
// shard's slots, SIGKILLs --kill_pid, and prints one JSON line:
//   {"system":"redis","recovered":true,"gap_ms":1834.2,...}
// Exit codes: 0 recovered, 3 no successful write within
// --recovery_timeout after the kill, 1 setup failed, 2 usage.
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/process.h"
#include "common/slot.h"
#include "tests/bench/failover_probe/probe.h"

ABSL_FLAG(std::string, system, "",
          "slotcache (through the C++ SDK) or redis (RESP2 Redis Cluster).");
ABSL_FLAG(std::string, seeds, "",
          "Comma-separated host:port of cluster nodes (slotcache: gRPC "
          "addresses; redis: RESP ports).");
ABSL_FLAG(std::string, slots, "",
          "FIRST-LAST: the slot range of the shard whose primary is killed; "
          "the probe writes only to keys in it.");
ABSL_FLAG(int, kill_pid, 0, "Process to SIGKILL after the warm-up.");
ABSL_FLAG(int, keys, 16, "How many keys of the range to write in turn.");
ABSL_FLAG(absl::Duration, call_timeout, absl::Milliseconds(250),
          "Deadline of each write (redirects and retries happen inside it).");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1),
          "How long to write before the kill.");
ABSL_FLAG(absl::Duration, recovery_timeout, absl::Seconds(15),
          "How long to wait for a successful write after the kill.");

namespace {

namespace sb = slotcache::bench;

int Usage(const std::string& problem) {
  std::cerr << "failover_probe: " << problem << "; see failover_probe --help\n";
  return 2;
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, " ");
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  slotcache::ParseFlags(
      argc, argv,
      "failover_probe: client-visible write gap of one primary kill.\n\n"
      "Usage: failover_probe --system=slotcache|redis --seeds=H:P,... "
      "--slots=FIRST-LAST --kill_pid=PID [flags]");
  const std::string system = absl::GetFlag(FLAGS_system);
  if (system != "slotcache" && system != "redis") {
    return Usage("--system must be slotcache or redis");
  }
  std::vector<std::string> seeds =
      absl::StrSplit(absl::GetFlag(FLAGS_seeds), ',', absl::SkipEmpty());
  if (seeds.empty()) return Usage("--seeds needs at least one host:port");
  std::vector<std::string> range =
      absl::StrSplit(absl::GetFlag(FLAGS_slots), '-');
  uint32_t first = 0, last = 0;
  if (range.size() != 2 || !absl::SimpleAtoi(range[0], &first) ||
      !absl::SimpleAtoi(range[1], &last) || first > last ||
      last >= slotcache::kNumSlots) {
    return Usage("--slots must be FIRST-LAST with 0 <= FIRST <= LAST < 16384");
  }
  const int kill_pid = absl::GetFlag(FLAGS_kill_pid);
  if (kill_pid <= 0) return Usage("--kill_pid must name the primary's pid");
  if (absl::GetFlag(FLAGS_keys) < 1) return Usage("--keys must be >= 1");

  std::unique_ptr<sb::KeyWriter> writer;
  if (system == "slotcache") {
    slotcache::ClientOptions options;
    options.seeds = seeds;
    options.default_timeout = absl::GetFlag(FLAGS_call_timeout);
    absl::StatusOr<std::unique_ptr<slotcache::Client>> client =
        slotcache::Client::Connect(options);
    if (!client.ok()) {
      std::cerr << "failover_probe: cannot connect to slotcache at "
                << absl::GetFlag(FLAGS_seeds) << ": " << client.status()
                << "\n";
      return 1;
    }
    writer = std::make_unique<sb::SdkKeyWriter>(std::move(*client));
  } else {
    auto client = std::make_unique<sb::RespClusterClient>(
        seeds, slotcache::RetryPolicy());
    if (absl::Status s = client->Connect(absl::Now() + absl::Seconds(10));
        !s.ok()) {
      std::cerr << "failover_probe: " << s.message() << "\n";
      return 1;
    }
    writer = std::make_unique<sb::RespKeyWriter>(std::move(client));
  }

  sb::ProbeOptions options;
  options.keys = sb::KeysInSlots(first, last, absl::GetFlag(FLAGS_keys));
  options.call_timeout = absl::GetFlag(FLAGS_call_timeout);
  options.warmup = absl::GetFlag(FLAGS_warmup);
  options.recovery_timeout = absl::GetFlag(FLAGS_recovery_timeout);
  options.kill = [kill_pid] {
    if (kill(kill_pid, SIGKILL) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot SIGKILL pid ", kill_pid, ": ", std::strerror(errno),
          "; pass the running primary's pid"));
    }
    std::cerr << "failover_probe: SIGKILLed pid " << kill_pid
              << ", writing until a new write succeeds\n";
    return absl::OkStatus();
  };
  absl::StatusOr<sb::ProbeResult> result = sb::RunProbe(writer.get(), options);
  if (!result.ok()) {
    std::cerr << "failover_probe: " << result.status().message() << "\n";
    return 1;
  }
  std::string gap = result->gap.has_value()
                        ? absl::StrCat(absl::ToDoubleMilliseconds(*result->gap))
                        : "null";
  std::cout << "{\"system\":" << JsonString(system)
            << ",\"recovered\":" << (result->recovered ? "true" : "false")
            << ",\"gap_ms\":" << gap
            << ",\"ok_before_kill\":" << result->ok_before_kill
            << ",\"failed_after_kill\":" << result->failed_after_kill
            << ",\"straddling\":" << result->straddling
            << ",\"last_error\":" << JsonString(result->last_error) << "}"
            << std::endl;
  return result->recovered ? 0 : 3;
}
