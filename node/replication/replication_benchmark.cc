// replication_benchmark: how fast a replica follows its primary, in one
// process over real gRPC on loopback (primary store + log + Sync service,
// replica store + agent).
//
//  1. Full sync: --keys string keys (value --value_bytes) are loaded into
//     the primary; --replicas replicas connect; reports the time until all
//     finished the full sync (MB/s of keys+values, keys/s).
//  2. Streaming: --ops SETs are written to the primary by --writers threads
//     through the replication log while the replicas follow; reports the
//     primary's write rate and the rate at which the replicas applied them
//     (ops/s, MB/s of keys+values), measured until every replica applied
//     the last entry. With --replicas=0 it measures the write path alone
//     (the log counts offsets, nothing is kept).
//
// Usage: bazel run -c opt //node/replication:replication_benchmark --
//            --keys=1000000 --ops=1000000 --replicas=2
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/process.h"
#include "common/rpc.h"
#include "node/commands/executor.h"
#include "node/replication/replica_agent.h"
#include "node/replication/replica_tracker.h"
#include "node/replication/replication_log.h"
#include "node/replication/replication_service.h"
#include "node/storage/store.h"

ABSL_FLAG(int64_t, keys, 1000000, "Keys loaded before the full sync.");
ABSL_FLAG(int64_t, ops, 1000000, "SETs streamed after the full sync.");
ABSL_FLAG(int64_t, value_bytes, 100, "Bytes per value.");
ABSL_FLAG(int, writers, 2, "Threads writing to the primary.");
ABSL_FLAG(int64_t, backlog_mb, 512, "Primary's replication backlog, MiB.");
ABSL_FLAG(int, replicas, 1, "Replicas following the primary (0 to 5).");

namespace slotcache::node {
namespace {

double Mb(uint64_t bytes) { return bytes / 1e6; }

storage::StoreOptions ReplicaStoreOptions() {
  storage::StoreOptions options;
  options.replica = true;
  return options;
}

void WaitFor(const std::function<bool()>& done) {
  while (!done()) absl::SleepFor(absl::Milliseconds(1));
}

int Run() {
  const int64_t keys = absl::GetFlag(FLAGS_keys);
  const int64_t ops = absl::GetFlag(FLAGS_ops);
  const std::string value(absl::GetFlag(FLAGS_value_bytes), 'v');
  const int writers = absl::GetFlag(FLAGS_writers);

  ReplicationLog primary_log(
      {static_cast<uint64_t>(absl::GetFlag(FLAGS_backlog_mb)) << 20,
       Clock::Real()});
  storage::StoreOptions primary_options;
  primary_options.listener = &primary_log;
  storage::Store primary(primary_options);
  CommandExecutor executor(&primary);
  ReplicaTracker tracker;
  // A primary by construction: every Sync is served.
  ReplicationServiceImpl service(&primary_log, &primary, &tracker,
                                 [] { return absl::OkStatus(); });
  absl::StatusOr<std::unique_ptr<RpcServer>> server =
      RpcServer::Start({}, {&service});
  if (!server.ok()) {
    std::fprintf(stderr, "cannot start the primary: %s\n",
                 server.status().ToString().c_str());
    return 1;
  }

  // ---- 1. Full sync ----
  uint64_t loaded_bytes = 0;
  for (int64_t i = 0; i < keys; ++i) {
    const std::string key = absl::StrCat("key:", i);
    (void)primary.Set(key, value);
    loaded_bytes += key.size() + value.size();
  }
  // One replica: its log, its store and its link to the primary.
  struct Replica {
    ReplicationLog log{{64ull << 20, Clock::Real()}};
    storage::Store store{ReplicaStoreOptions()};
    ReplicaAgent agent{{"bench-replica"}, &log, &store};
  };
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int r = 0; r < absl::GetFlag(FLAGS_replicas); ++r) {
    replicas.push_back(std::make_unique<Replica>());
  }
  absl::Time start = absl::Now();
  absl::Duration took;
  if (!replicas.empty()) {
    for (auto& r : replicas) r->agent.Follow((*server)->address());
    for (auto& r : replicas) WaitFor([&] { return r->agent.status().synced; });
    took = absl::Now() - start;
    std::printf(
        "full sync: %lld keys, %.1f MB (keys+values) to %zu replicas in %.2f "
        "s = %.1f MB/s, %.0f keys/s (first replica holds %lld keys)\n",
        static_cast<long long>(keys), Mb(loaded_bytes), replicas.size(),
        absl::ToDoubleSeconds(took),
        Mb(loaded_bytes) / absl::ToDoubleSeconds(took),
        keys / absl::ToDoubleSeconds(took),
        static_cast<long long>(replicas[0]->store.DbSize()));
  }

  // ---- 2. Streaming ----
  std::atomic<uint64_t> written_bytes{0};
  start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      v1::Command command;
      command.set_name("SET");
      command.add_args();
      command.add_args(value);
      v1::Reply reply;
      uint64_t bytes = 0;
      for (int64_t i = t; i < ops; i += writers) {
        command.set_args(0, absl::StrCat("stream:", i));
        reply.Clear();
        executor.Execute(command, &reply);  // The store tells the log.
        bytes += command.args(0).size() + value.size();
      }
      written_bytes += bytes;
    });
  }
  for (auto& t : threads) t.join();
  const absl::Duration write_time = absl::Now() - start;
  const uint64_t end = primary_log.end_offset();
  for (auto& r : replicas) {
    WaitFor([&] { return r->log.end_offset() >= end; });
  }
  took = absl::Now() - start;
  const double secs = absl::ToDoubleSeconds(took);
  std::printf(
      "streaming: %lld SETs (%lld-byte values), %d writer threads, %zu "
      "replicas: primary wrote %.0f ops/s; replicas applied all in %.2f s = "
      "%.0f ops/s, %.1f MB/s (keys+values)\n",
      static_cast<long long>(ops), static_cast<long long>(value.size()),
      writers, replicas.size(), ops / absl::ToDoubleSeconds(write_time), secs,
      ops / secs, Mb(written_bytes.load()) / secs);

  for (auto& r : replicas) r->agent.Stop();
  service.Stop();
  tracker.Stop();
  (*server)->Shutdown(absl::Seconds(1));
  return 0;
}

}  // namespace
}  // namespace slotcache::node

int main(int argc, char** argv) {
  slotcache::ParseFlags(argc, argv,
                        "replication_benchmark: full-sync and streaming "
                        "replication throughput, primary and replica in one "
                        "process over loopback gRPC.");
  return slotcache::node::Run();
}
