// Google Benchmark for the storage engine: GET/SET/INCR/HSET, hit and miss,
// with and without TTL, 1 and 2 threads, and SET under eviction pressure.
//
//   bazel run -c opt //node/storage:store_benchmark
//
// Each benchmark shares one Store between its threads (created by Setup
// before the threads start), preloaded with kKeys keys where it measures
// hits.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "common/process.h"
#include "node/storage/store.h"

namespace slotcache::node::storage {
namespace {

constexpr int kKeys = 100000;

const std::vector<std::string>& Keys() {
  static const auto* const keys = [] {
    auto* k = new std::vector<std::string>();
    for (int i = 0; i < kKeys; ++i)
      k->push_back(absl::StrFormat("key:%012d", i));
    return k;
  }();
  return *keys;
}

const std::string& Value() {
  static const auto* const v = new std::string(32, 'v');
  return *v;
}

std::unique_ptr<Store> g_store;

// Setup variants: the benchmark's Arg(0) = 1 gives preloaded keys a TTL.
void EmptyStore(const benchmark::State&) {
  g_store = std::make_unique<Store>();
}
void LoadedStore(const benchmark::State& state) {
  g_store = std::make_unique<Store>();
  SetOptions ttl;
  for (const std::string& k : Keys()) {
    if (state.range(0) == 1) ttl.expire_at = g_store->Now() + absl::Hours(1);
    (void)g_store->Set(k, Value(), ttl);
  }
}
void LoadedCounters(const benchmark::State&) {
  g_store = std::make_unique<Store>();
  for (const std::string& k : Keys()) (void)g_store->Set(k, "0");
}
// Eviction pressure: maxmemory holds about a quarter of the key set.
void FullStore(const benchmark::State&) {
  StoreOptions o;
  o.maxmemory_bytes = kKeys / 4 * 80;
  o.eviction_policy = EvictionPolicy::kAllKeysLru;
  g_store = std::make_unique<Store>(o);
  for (const std::string& k : Keys()) (void)g_store->Set(k, Value());
}
void Teardown(const benchmark::State&) { g_store.reset(); }

// Each thread walks the key set from its own offset.
size_t Start(const benchmark::State& state) {
  return static_cast<size_t>(state.thread_index()) * 7919;
}

void BM_GetHit(benchmark::State& state) {
  size_t i = Start(state);
  for (auto _ : state) {
    auto v = g_store->Get(Keys()[i++ % kKeys]);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_GetMiss(benchmark::State& state) {
  size_t i = Start(state);
  for (auto _ : state) {
    auto v = g_store->Get(Keys()[i++ % kKeys]);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}

// Overwrites existing keys (Arg 1: with EX, so each SET also sets a TTL).
void BM_Set(benchmark::State& state) {
  size_t i = Start(state);
  SetOptions options;
  for (auto _ : state) {
    if (state.range(0) == 1) {
      options.expire_at = g_store->Now() + absl::Hours(1);
    }
    auto r = g_store->Set(Keys()[i++ % kKeys], Value(), options);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SetEvicting(benchmark::State& state) {
  size_t i = Start(state);
  for (auto _ : state) {
    auto r = g_store->Set(Keys()[i++ % kKeys], Value());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["evicted"] =
      static_cast<double>(g_store->Stats().evicted_keys);
}

void BM_Incr(benchmark::State& state) {
  size_t i = Start(state);
  for (auto _ : state) {
    auto r = g_store->IncrBy(Keys()[i++ % kKeys], 1);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_HSet(benchmark::State& state) {
  size_t i = Start(state);
  const std::vector<std::pair<absl::string_view, absl::string_view>> fields = {
      {"field", "value-of-the-field"}};
  for (auto _ : state) {
    auto r = g_store->HSet(Keys()[i++ % 1000], fields);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_GetHit)
    ->Arg(0)
    ->Arg(1)
    ->Setup(LoadedStore)
    ->Teardown(Teardown)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_GetMiss)
    ->Setup(EmptyStore)
    ->Teardown(Teardown)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_Set)
    ->Arg(0)
    ->Arg(1)
    ->Setup(LoadedStore)
    ->Teardown(Teardown)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_SetEvicting)
    ->Setup(FullStore)
    ->Teardown(Teardown)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_Incr)
    ->Setup(LoadedCounters)
    ->Teardown(Teardown)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_HSet)
    ->Setup(EmptyStore)
    ->Teardown(Teardown)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

}  // namespace
}  // namespace slotcache::node::storage

// Google Benchmark's main, plus what every slotcache binary does first
// (without it two threads could not run the engine in parallel).
int main(int argc, char** argv) {
  slotcache::TurnOffMutexDeadlockDetection();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
