// slotcache-bench's engine: drives a node (or a cluster through the SDK)
// with a configurable mix of SET and GET and measures throughput and
// latency, in the spirit of redis-benchmark and memtier.
//
// Modes (what one "request" is):
// - unary:    one CacheService.Execute per command; each client keeps
//             `pipeline` calls in flight (depth 1 = redis-benchmark -P 1).
// - batch:    one CacheService.Batch carrying `pipeline` commands per
//             client at a time (= redis-benchmark -P N).
// - pipeline: like batch, over one long-lived CacheService.Pipeline stream
//             per client.
// - sdk:      through slotcache::Client (routing, automatic batching);
//             each client keeps `pipeline` calls in flight.
// The raw modes talk to the first seed only, so they measure that node.
// Latency is per request (a whole batch for batch/pipeline), like
// redis-benchmark reports for pipelined runs.
//
// Thread-safety: RunBench is reentrant; it blocks until the run is over.
#ifndef SLOTCACHE_CLIENT_BENCH_BENCH_H_
#define SLOTCACHE_CLIENT_BENCH_BENCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace slotcache::bench {

enum class Mode { kUnary, kBatch, kPipeline, kSdk };

struct BenchConfig {
  std::vector<std::string> seeds;
  Mode mode = Mode::kUnary;
  int clients = 50;
  // TCP connections the clients share (0 = one per client, like
  // redis-benchmark). In sdk mode: the SDK's connections per node (0 = its
  // default).
  int connections = 0;
  // Stop after this many commands, or after `duration` when it is
  // non-zero.
  int64_t requests = 100000;
  absl::Duration duration = absl::ZeroDuration();
  int value_size = 32;
  // Keys are "key:<12 digits>" drawn uniformly from [0, keyspace).
  int64_t keyspace = 100000;
  // Relative weights of SET and GET (1:0 = only SET).
  int set_weight = 1;
  int get_weight = 10;
  // Commands in flight per client (see Mode).
  int pipeline = 1;
  absl::Duration timeout = absl::Seconds(10);
};

struct BenchResult {
  std::string mode;
  int64_t commands = 0;
  int64_t sets = 0;
  int64_t gets = 0;
  // Commands that failed (typed error or RPC failure).
  int64_t errors = 0;
  std::string first_error;
  double seconds = 0;
  double ops_per_sec = 0;
  // Request latency percentiles, milliseconds.
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

absl::StatusOr<Mode> ParseMode(absl::string_view text);
std::string ModeName(Mode mode);
// "SET:GET" weights, e.g. "1:10".
absl::Status ParseRatio(absl::string_view text, int* set_weight,
                        int* get_weight);

absl::StatusOr<BenchResult> RunBench(const BenchConfig& config);

std::string FormatText(const BenchConfig& config, const BenchResult& result);
std::string FormatJson(const BenchConfig& config, const BenchResult& result);

}  // namespace slotcache::bench

#endif  // SLOTCACHE_CLIENT_BENCH_BENCH_H_
