// Snapshots of a replica are exact: an in-process primary (its store, log
// and ReplicationService on port 0) takes writes from several threads while
// a real ReplicaAgent follows it and a snapshot of the replica is taken;
// the snapshot loaded into a fresh store equals the primary's keyspace
// replayed up to the manifest's offset, under the primary's replication
// id. Also: no snapshot while a full sync loads the store, and one that a
// full sync overtakes is aborted.
#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/rpc.h"
#include "gtest/gtest.h"
#include "node/persistence/snapshot_reader.h"
#include "node/persistence/snapshot_writer.h"
#include "node/replication/digest.h"
#include "node/replication/log_entry.h"
#include "node/replication/replica_agent.h"
#include "node/replication/replica_tracker.h"
#include "node/replication/replication_log.h"
#include "node/replication/replication_service.h"
#include "node/storage/store.h"

namespace slotcache::node::persistence {
namespace {

namespace fs = std::filesystem;

std::string NewSnapshotPath(const std::string& name) {
  const fs::path path = fs::path(testing::TempDir()) / name;
  fs::remove_all(path);
  return path.string();
}

storage::StoreOptions Options(ReplicationLog* log, bool replica) {
  storage::StoreOptions options;
  options.listener = log;
  options.replica = replica;
  return options;
}

// Replays `log`'s entries 1..`end` into `store` (the backlog holds them).
void ReplayUpTo(ReplicationLog* log, uint64_t end, storage::Store* store) {
  uint64_t applied = 0;
  while (applied < end) {
    v1::LogEntries batch;
    ASSERT_TRUE(log->ReadAfter(applied, 1 << 20, &batch).ok());
    ASSERT_GT(batch.entries_size(), 0) << "log ends before " << end;
    for (const v1::LogEntry& entry : batch.entries()) {
      if (entry.offset() > end) return;
      ASSERT_EQ(entry.offset(), applied + 1);
      ASSERT_TRUE(ApplyLogEntry(entry, store).ok());
      applied = entry.offset();
    }
  }
}

// Polls `done` until it holds or 30 s passed.
template <typename F>
bool Eventually(F done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

TEST(ReplicaSnapshotTest, EqualsThePrimaryAtTheManifestOffset) {
  // The primary keeps its whole history (backlog on from the start), so
  // the test can rebuild its keyspace at any offset.
  ReplicationLog primary_log({1ull << 30, Clock::Real()});
  primary_log.EnableBacklog();
  storage::Store primary(Options(&primary_log, false));
  ReplicaTracker tracker;
  ReplicationServiceImpl service(&primary_log, &primary, &tracker,
                                 [] { return absl::OkStatus(); });
  absl::StatusOr<std::unique_ptr<RpcServer>> server =
      RpcServer::Start(RpcServerOptions(), {&service});
  ASSERT_TRUE(server.ok()) << server.status();

  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(primary.Set(absl::StrCat("k", i), "initial").ok());
  }
  ReplicationLog replica_log({1ull << 30, Clock::Real()});
  storage::Store replica(Options(&replica_log, true));
  ReplicaAgent agent(ReplicaAgentOptions{"replica-1"}, &replica_log, &replica);
  agent.Follow((*server)->address());
  ASSERT_TRUE(Eventually([&] {
    return agent.status().synced &&
           replica_log.end_offset() >= primary_log.end_offset();
  })) << "the replica did not complete its full sync";

  // Writers on the primary all through the snapshot: sets, TTLs, deletes,
  // hashes, on keys the walk reads too.
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937 rng(w);
      while (!stop.load()) {
        const std::string key = absl::StrCat("k", rng() % 6000);
        switch (rng() % 4) {
          case 0:
            (void)primary.Del(key);
            break;
          case 1: {
            storage::SetOptions ttl;
            ttl.expire_at = absl::Now() + absl::Hours(1);
            (void)primary.Set(key, absl::StrCat(rng()), ttl);
            break;
          }
          case 2:
            (void)primary.HSet(absl::StrCat("h", rng() % 500),
                               {{absl::StrCat("f", rng() % 10), "v"}});
            break;
          default:
            (void)primary.Set(key, std::string(rng() % 200, 'x'));
        }
      }
    });
  }
  // Let the replica apply a good stretch of the writers' entries first.
  const uint64_t before = primary_log.end_offset();
  ASSERT_TRUE(
      Eventually([&] { return replica_log.end_offset() > before + 5000; }));

  SnapshotTarget target;
  target.directory = NewSnapshotPath("replica_snapshot");
  target.shard_id = "s1";
  SnapshotWriterOptions options;
  options.batch_bytes = 64 << 10;
  // Entries keep arriving between the walk and the tail, every time.
  options.after_walk = [&] {
    const uint64_t at = replica_log.end_offset();
    ASSERT_TRUE(
        Eventually([&] { return replica_log.end_offset() > at + 500; }));
  };
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&replica, &replica_log, target, options);
  const uint64_t after_snapshot = primary_log.end_offset();
  stop.store(true);
  for (std::thread& writer : writers) writer.join();
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->replication_id(), primary_log.replication_id());
  const uint64_t end = manifest->replication_offset();
  EXPECT_GT(end, before + 5500);
  EXPECT_LE(end, after_snapshot);

  storage::Store at_end(Options(nullptr, /*replica=*/true));
  ReplayUpTo(&primary_log, end, &at_end);
  storage::Store loaded(Options(nullptr, false));
  absl::StatusOr<LoadResult> result = LoadSnapshot(target.directory, &loaded);
  ASSERT_TRUE(result.ok()) << result.status();
  const StoreDigest want = ComputeDigest(&at_end);
  const StoreDigest got = ComputeDigest(&loaded);
  EXPECT_GT(want.key_count, 4000u);
  EXPECT_EQ(got.key_count, want.key_count);
  EXPECT_EQ(got.digest, want.digest);

  // And the replica, once caught up, equals the primary.
  ASSERT_TRUE(Eventually(
      [&] { return replica_log.end_offset() == primary_log.end_offset(); }));
  EXPECT_EQ(ComputeDigest(&replica).digest, ComputeDigest(&primary).digest);
  agent.Stop();
  (*server)->Shutdown(absl::Seconds(5));
}

v1::LogEntry SetEntry(uint64_t offset, const std::string& key,
                      const std::string& value) {
  v1::LogEntry entry;
  entry.set_offset(offset);
  entry.mutable_set()->set_key(key);
  entry.mutable_set()->set_type(v1::STRING);
  entry.mutable_set()->set_string_value(value);
  return entry;
}

// The race AppliedEnd() closes, made deterministic: the agent's thread
// has applied entry 11 to the store (the walk sees it) but not recorded it
// yet when the walk ends. The snapshot must then be at offset 11, not 10.
TEST(ReplicaSnapshotTest, AnEntryAppliedButNotYetRecordedIsCounted) {
  ReplicationLog log({1ull << 30, Clock::Real()});
  storage::Store store(Options(&log, true));
  log.ResetHistory("primary-history", 0);
  {
    const ReplicationLog::ApplyingScope applying;
    for (uint64_t i = 1; i <= 10; ++i) {
      const v1::LogEntry entry = SetEntry(i, absl::StrCat("k", i), "old");
      ASSERT_TRUE(log.ApplyAndRecord(
                         entry, [&] { return ApplyLogEntry(entry, &store); })
                      .ok());
    }
  }
  absl::Notification applied;
  absl::Notification walked;
  std::thread agent([&] {
    const ReplicationLog::ApplyingScope applying;
    const v1::LogEntry entry = SetEntry(11, "k1", "new");
    EXPECT_TRUE(log.ApplyAndRecord(entry,
                                   [&] {
                                     absl::Status s =
                                         ApplyLogEntry(entry, &store);
                                     applied.Notify();
                                     walked.WaitForNotification();
                                     return s;
                                   })
                    .ok());
  });
  applied.WaitForNotification();
  SnapshotTarget target;
  target.directory = NewSnapshotPath("replica_in_flight");
  SnapshotWriterOptions options;
  options.after_walk = [&] { walked.Notify(); };
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&store, &log, target, options);
  agent.join();
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->replication_id(), "primary-history");
  EXPECT_EQ(manifest->replication_offset(), 11u);
  storage::Store loaded(Options(nullptr, false));
  ASSERT_TRUE(LoadSnapshot(target.directory, &loaded).ok());
  EXPECT_EQ(**loaded.Get("k1"), "new");
  EXPECT_EQ(**loaded.Get("k10"), "old");
}

TEST(ReplicaSnapshotTest, RefusedWhileAFullSyncLoadsTheStore) {
  ReplicationLog log({1ull << 30, Clock::Real()});
  storage::Store store(Options(&log, true));
  log.BeginStoreLoad();
  SnapshotTarget target;
  target.directory = NewSnapshotPath("replica_loading");
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&store, &log, target);
  EXPECT_EQ(manifest.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(manifest.status().message().find("loading a full sync"),
            std::string::npos)
      << manifest.status();
  EXPECT_FALSE(fs::exists(target.directory));
  log.EndStoreLoad();
  EXPECT_TRUE(WriteSnapshot(&store, &log, target).ok());
}

TEST(ReplicaSnapshotTest, AFullSyncDuringTheSnapshotAbortsIt) {
  ReplicationLog log({1ull << 30, Clock::Real()});
  storage::Store store(Options(&log, false));
  ASSERT_TRUE(store.Set("a", "1").ok());
  SnapshotTarget target;
  target.directory = NewSnapshotPath("replica_overtaken");
  SnapshotWriterOptions options;
  options.after_walk = [&] {
    log.BeginStoreLoad();
    log.EndStoreLoad();
  };
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&store, &log, target, options);
  EXPECT_EQ(manifest.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(manifest.status().message().find("full sync"), std::string::npos)
      << manifest.status();
  EXPECT_FALSE(fs::exists(target.directory));
}

}  // namespace
}  // namespace slotcache::node::persistence
