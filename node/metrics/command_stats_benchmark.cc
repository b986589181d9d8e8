// The data path's cost of metrics per command: CommandStats::OnCommand
// (per-thread-sharded relaxed atomics) against prometheus-cpp's own
// Histogram::Observe + Counter::Increment, on 1..N threads.
//
//   bazel run --config=opt //node/metrics:command_stats_benchmark
#include <memory>

#include "benchmark/benchmark.h"
#include "common/commands/command_table.h"
#include "node/metrics/command_stats.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace slotcache::node::metrics {
namespace {

const CommandSpec& GetSpec() {
  return AllCommands()[static_cast<size_t>(CommandId::kGET)];
}

CommandStats* Stats() {
  static CommandStats* stats = new CommandStats();
  return stats;
}

void BM_CommandStatsOnCommand(benchmark::State& state) {
  v1::Command command;
  command.set_name("GET");
  command.add_args("key:1234");
  v1::Reply reply;
  reply.mutable_value()->set_bulk("value");
  int64_t ns = 3000;
  for (auto _ : state) {
    Stats()->OnCommand(GetSpec(), command, reply, ns);
    ns = (ns * 7 + 13) % 200000;
  }
}
BENCHMARK(BM_CommandStatsOnCommand)->Threads(1)->Threads(2)->Threads(4);

struct PrometheusCpp {
  PrometheusCpp()
      : registry(std::make_shared<prometheus::Registry>()),
        histogram(
            prometheus::BuildHistogram().Name("d").Register(*registry).Add(
                {{"command", "get"}}, prometheus::Histogram::BucketBoundaries(
                                          CommandStats::BucketBounds().begin(),
                                          CommandStats::BucketBounds().end()))),
        counter(prometheus::BuildCounter().Name("c").Register(*registry).Add(
            {{"command", "get"}})) {}
  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Histogram& histogram;
  prometheus::Counter& counter;
};

void BM_PrometheusCppHistogramObserve(benchmark::State& state) {
  static PrometheusCpp* metrics = new PrometheusCpp();
  double seconds = 3e-6;
  for (auto _ : state) {
    metrics->histogram.Observe(seconds);
    metrics->counter.Increment();
    seconds = seconds < 2e-4 ? seconds * 1.7 : 3e-6;
  }
}
BENCHMARK(BM_PrometheusCppHistogramObserve)->Threads(1)->Threads(2)->Threads(4);

}  // namespace
}  // namespace slotcache::node::metrics
