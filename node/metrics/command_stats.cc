#include "node/metrics/command_stats.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/metrics/families.h"

namespace slotcache::node::metrics {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;
using slotcache::metrics::AddFamily;
using slotcache::metrics::AddHistogram;
using slotcache::metrics::AddSample;

constexpr auto kRelaxed = std::memory_order_relaxed;

// The bucket bounds in nanoseconds, for OnCommand's search.
constexpr std::array<int64_t, CommandStats::kBuckets> kBoundsNs = {
    10'000,      25'000,      50'000,      100'000,      250'000,    500'000,
    1'000'000,   2'500'000,   5'000'000,   10'000'000,   25'000'000, 50'000'000,
    100'000'000, 250'000'000, 500'000'000, 1'000'000'000};

}  // namespace

const std::array<double, CommandStats::kBuckets>& CommandStats::BucketBounds() {
  static const std::array<double, kBuckets> bounds = [] {
    std::array<double, kBuckets> b{};
    for (int i = 0; i < kBuckets; ++i) b[i] = kBoundsNs[i] / 1e9;
    return b;
  }();
  return bounds;
}

CommandStats::CommandStats() : slot_ops_(new std::atomic<uint64_t>[kNumSlots]) {
  for (int i = 0; i < kShards; ++i) {
    shards_.push_back(std::make_unique<Shard>(AllCommands().size()));
  }
  for (uint32_t s = 0; s < kNumSlots; ++s) slot_ops_[s].store(0, kRelaxed);
  for (auto& shard : shards_) {
    for (PerCommand& c : shard->commands) {
      for (auto& b : c.buckets) b.store(0, kRelaxed);
    }
  }
}

CommandStats::~CommandStats() = default;

int CommandStats::ShardOfThisThread() {
  static std::atomic<int> next{0};
  thread_local const int shard = next.fetch_add(1, kRelaxed) % kShards;
  return shard;
}

void CommandStats::OnCommand(const CommandSpec& spec,
                             const v1::Command& command, const v1::Reply& reply,
                             int64_t duration_ns) {
  PerCommand& c =
      shards_[ShardOfThisThread()]->commands[static_cast<size_t>(spec.id)];
  const int bucket = static_cast<int>(
      std::lower_bound(kBoundsNs.begin(), kBoundsNs.end(), duration_ns) -
      kBoundsNs.begin());
  c.buckets[bucket].fetch_add(1, kRelaxed);
  c.sum_ns.fetch_add(static_cast<uint64_t>(std::max<int64_t>(duration_ns, 0)),
                     kRelaxed);
  if (reply.has_error()) {
    c.errors.fetch_add(1, kRelaxed);
    return;
  }
  if (spec.first_key < 0 || spec.first_key >= command.args_size()) return;
  slot_ops_[KeySlot(command.args(spec.first_key))].fetch_add(1, kRelaxed);
  if ((spec.flags & kReadOnly) == 0) return;
  // Keyspace hits and misses, counted like INFO's (node/resp): a value is a
  // hit, nil or an empty array a miss; MGET counts each key; integer and
  // status answers (EXISTS, TTL, TYPE) are not lookups.
  const v1::Value& value = reply.value();
  if (value.has_nil()) {
    c.misses.fetch_add(1, kRelaxed);
  } else if (value.has_bulk()) {
    c.hits.fetch_add(1, kRelaxed);
  } else if (value.has_array()) {
    if (spec.id == CommandId::kMGET) {
      uint64_t hits = 0, misses = 0;
      for (const v1::Value& v : value.array().values()) {
        ++(v.has_nil() ? misses : hits);
      }
      c.hits.fetch_add(hits, kRelaxed);
      c.misses.fetch_add(misses, kRelaxed);
    } else {
      (value.array().values_size() == 0 ? c.misses : c.hits)
          .fetch_add(1, kRelaxed);
    }
  }
}

uint64_t CommandStats::commands(CommandId id) const {
  uint64_t n = 0;
  for (const auto& shard : shards_) {
    for (const auto& b : shard->commands[static_cast<size_t>(id)].buckets) {
      n += b.load(kRelaxed);
    }
  }
  return n;
}

uint64_t CommandStats::slot_commands(uint32_t slot) const {
  return slot < kNumSlots ? slot_ops_[slot].load(kRelaxed) : 0;
}

void CommandStats::Collect(std::vector<MetricFamily>* out) const {
  struct Sum {
    uint64_t buckets[kBuckets + 1] = {};
    uint64_t count = 0, sum_ns = 0, errors = 0, hits = 0, misses = 0;
  };
  const size_t n = AllCommands().size();
  std::vector<Sum> sums(n);
  for (const auto& shard : shards_) {
    for (size_t i = 0; i < n; ++i) {
      const PerCommand& c = shard->commands[i];
      Sum& s = sums[i];
      for (int b = 0; b <= kBuckets; ++b) {
        const uint64_t v = c.buckets[b].load(kRelaxed);
        s.buckets[b] += v;
        s.count += v;
      }
      s.sum_ns += c.sum_ns.load(kRelaxed);
      s.errors += c.errors.load(kRelaxed);
      s.hits += c.hits.load(kRelaxed);
      s.misses += c.misses.load(kRelaxed);
    }
  }
  uint64_t total = 0, hits = 0, misses = 0;
  for (const Sum& s : sums) {
    total += s.count;
    hits += s.hits;
    misses += s.misses;
  }
  slotcache::metrics::AddCounter(
      out, "slotcache_commands_processed_total",
      "Commands run (gRPC and RESP), as Redis' total_commands_processed.",
      static_cast<double>(total));
  slotcache::metrics::AddCounter(
      out, "slotcache_keyspace_hits_total",
      "Key reads that found a value (Redis keyspace_hits).",
      static_cast<double>(hits));
  slotcache::metrics::AddCounter(
      out, "slotcache_keyspace_misses_total",
      "Key reads that found nothing (Redis keyspace_misses).",
      static_cast<double>(misses));

  auto label = [](size_t i) {
    return slotcache::metrics::Labels{
        {"command", absl::AsciiStrToLower(AllCommands()[i].name)}};
  };
  MetricFamily& count =
      AddFamily(out, "slotcache_commands_total", "Commands run, per command.",
                MetricType::Counter);
  for (size_t i = 0; i < n; ++i) {
    if (sums[i].count > 0) AddSample(count, sums[i].count, label(i));
  }
  MetricFamily& errors = AddFamily(
      out, "slotcache_command_errors_total",
      "Commands that ran and answered an error (WRONGTYPE, OOM, ...), per "
      "command.",
      MetricType::Counter);
  for (size_t i = 0; i < n; ++i) {
    if (sums[i].count > 0) AddSample(errors, sums[i].errors, label(i));
  }
  MetricFamily& latency = AddFamily(
      out, "slotcache_command_duration_seconds",
      "Time to run a command on the node (routing checks, execution), per "
      "command; transport time not included.",
      MetricType::Histogram);
  for (size_t i = 0; i < n; ++i) {
    if (sums[i].count == 0) continue;
    AddHistogram(latency, BucketBounds(), sums[i].buckets, sums[i].sum_ns / 1e9,
                 label(i));
  }

  // The hottest slots by commands run since the start.
  std::vector<std::pair<uint64_t, uint32_t>> slots;
  for (uint32_t s = 0; s < kNumSlots; ++s) {
    const uint64_t ops = slot_ops_[s].load(kRelaxed);
    if (ops > 0) slots.emplace_back(ops, s);
  }
  const size_t top = std::min<size_t>(kTopSlots, slots.size());
  std::partial_sort(slots.begin(), slots.begin() + top, slots.end(),
                    [](const auto& a, const auto& b) { return a > b; });
  MetricFamily& hot =
      AddFamily(out, "slotcache_slot_commands_total",
                absl::StrCat("Key commands run per slot, for the ", kTopSlots,
                             " slots with the most."),
                MetricType::Counter);
  for (size_t i = 0; i < top; ++i) {
    AddSample(hot, slots[i].first, {{"slot", absl::StrCat(slots[i].second)}});
  }
}

}  // namespace slotcache::node::metrics
