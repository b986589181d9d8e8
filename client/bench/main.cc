// slotcache-bench: load generator for slotcache nodes (see
// client/bench/bench.h for the modes). Flags, wiring, run.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_split.h"
#include "client/bench/bench.h"
#include "common/process.h"

ABSL_FLAG(std::string, seeds, "127.0.0.1:7000",
          "Comma-separated node addresses (HOST:PORT). The raw modes use "
          "the first one.");
ABSL_FLAG(std::string, mode, "unary",
          "unary (Execute per command), batch (Batch of --pipeline "
          "commands), pipeline (Pipeline stream, --pipeline commands per "
          "message) or sdk (slotcache::Client).");
ABSL_FLAG(int, clients, 50, "Concurrent clients.");
ABSL_FLAG(int, connections, 0,
          "TCP connections shared by the clients (0: one per client); in "
          "sdk mode the SDK's connections per node (0: its default).");
ABSL_FLAG(int64_t, requests, 100000, "Total commands to send.");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "Run for this long instead of --requests (e.g. 10s).");
ABSL_FLAG(int, value_size, 32, "SET value size in bytes.");
ABSL_FLAG(int64_t, keyspace, 100000, "Number of distinct keys.");
ABSL_FLAG(std::string, ratio, "1:10", "SET:GET weights, e.g. 1:0, 0:1, 1:10.");
ABSL_FLAG(int, pipeline, 1, "Commands in flight per client.");
ABSL_FLAG(std::string, output, "text", "text or json.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "Deadline per request.");

int main(int argc, char** argv) {
  slotcache::ParseFlags(
      argc, argv,
      "slotcache-bench: measure a slotcache node or cluster.\n\n"
      "Usage: slotcache-bench --seeds=HOST:PORT --mode=batch --pipeline=16 "
      "--ratio=1:0 [flags]");
  namespace bench = slotcache::bench;
  bench::BenchConfig config;
  config.seeds =
      absl::StrSplit(absl::GetFlag(FLAGS_seeds), ',', absl::SkipEmpty());
  absl::StatusOr<bench::Mode> mode =
      bench::ParseMode(absl::GetFlag(FLAGS_mode));
  if (!mode.ok()) {
    std::cerr << "slotcache-bench: " << mode.status().message() << "\n";
    return 2;
  }
  config.mode = *mode;
  absl::Status ratio = bench::ParseRatio(
      absl::GetFlag(FLAGS_ratio), &config.set_weight, &config.get_weight);
  if (!ratio.ok()) {
    std::cerr << "slotcache-bench: " << ratio.message() << "\n";
    return 2;
  }
  const std::string output = absl::GetFlag(FLAGS_output);
  if (output != "text" && output != "json") {
    std::cerr << "slotcache-bench: --output must be text or json\n";
    return 2;
  }
  config.clients = absl::GetFlag(FLAGS_clients);
  config.connections = absl::GetFlag(FLAGS_connections);
  config.requests = absl::GetFlag(FLAGS_requests);
  config.duration = absl::GetFlag(FLAGS_duration);
  config.value_size = absl::GetFlag(FLAGS_value_size);
  config.keyspace = absl::GetFlag(FLAGS_keyspace);
  config.pipeline = absl::GetFlag(FLAGS_pipeline);
  config.timeout = absl::GetFlag(FLAGS_timeout);

  absl::StatusOr<bench::BenchResult> result = bench::RunBench(config);
  if (!result.ok()) {
    std::cerr << "slotcache-bench: " << result.status().message() << "\n";
    return 1;
  }
  std::cout << (output == "json" ? bench::FormatJson(config, *result)
                                 : bench::FormatText(config, *result));
  return result->errors > 0 ? 3 : 0;
}
