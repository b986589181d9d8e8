// CommandStats: what the node's commands did, counted on the data path as
// cheaply as we know how, and turned into Prometheus families at scrape
// time. Per command: count, errors, a latency histogram, keyspace hits and
// misses (reads answering a value: nil or an empty array is a miss, as
// INFO counts them); per slot: commands run.
//
// Cost per command: two clock reads (in the dispatcher) and a handful of
// relaxed atomic adds on cache lines owned by the calling thread's shard
// (threads are spread over kShards shards), so threads do not bounce the
// lines between cores; the per-slot counters are shared (a hot slot's line
// is contended; measured in docs/BENCHMARKS.md "Metrics overhead").
//
// Thread-safety: OnCommand and Collect may be called from any threads at
// once. A scrape sums the shards without stopping writers, so the numbers
// of one scrape may be a few commands apart from each other.
#ifndef SLOTCACHE_NODE_METRICS_COMMAND_STATS_H_
#define SLOTCACHE_NODE_METRICS_COMMAND_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/commands/command_table.h"
#include "common/slot.h"
#include "node/server/dispatcher.h"
#include "prometheus/metric_family.h"

namespace slotcache::node::metrics {

class CommandStats final : public CommandObserver {
 public:
  // Upper bounds of the latency buckets, in seconds: 10 us .. 1 s, a
  // 1-2.5-5 ladder (an in-memory command takes microseconds; the top ones
  // catch WAIT-like stalls and lock convoys).
  static constexpr int kBuckets = 16;
  static const std::array<double, kBuckets>& BucketBounds();
  // How many slots Collect lists by ops (the hottest).
  static constexpr int kTopSlots = 16;

  CommandStats();
  ~CommandStats() override;

  CommandStats(const CommandStats&) = delete;
  CommandStats& operator=(const CommandStats&) = delete;

  void OnCommand(const CommandSpec& spec, const v1::Command& command,
                 const v1::Reply& reply, int64_t duration_ns) override;

  // Appends slotcache_commands_processed_total, slotcache_commands_total,
  // slotcache_command_errors_total, slotcache_command_duration_seconds,
  // slotcache_keyspace_hits_total / _misses_total and
  // slotcache_slot_commands_total (top kTopSlots) to `out`. Commands never
  // run are left out.
  void Collect(std::vector<prometheus::MetricFamily>* out) const;

  // Sums over the shards (tests, and Collect).
  uint64_t commands(CommandId id) const;
  uint64_t slot_commands(uint32_t slot) const;

 private:
  struct PerCommand {
    std::atomic<uint64_t> buckets[kBuckets + 1];
    std::atomic<uint64_t> sum_ns{0};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> hits{0};
    std::atomic<uint64_t> misses{0};
  };
  static constexpr int kShards = 16;
  struct alignas(64) Shard {
    explicit Shard(size_t num_commands) : commands(num_commands) {}
    std::vector<PerCommand> commands;
  };
  static int ShardOfThisThread();

  // Constant after construction (the atomics inside change).
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<std::atomic<uint64_t>[]> slot_ops_;
};

}  // namespace slotcache::node::metrics

#endif  // SLOTCACHE_NODE_METRICS_COMMAND_STATS_H_
