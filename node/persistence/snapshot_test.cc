// Snapshots taken from a real Store and ReplicationLog and loaded back into
// fresh stores: exact at the manifest's offset while writers keep going,
// TTLs and expiry, slot filters on both sides, and the writer's refusals.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/slot.h"
#include "gtest/gtest.h"
#include "node/persistence/manifest.h"
#include "node/persistence/snapshot_reader.h"
#include "node/persistence/snapshot_writer.h"
#include "node/replication/digest.h"
#include "node/replication/log_entry.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"

namespace slotcache::node::persistence {
namespace {

namespace fs = std::filesystem;

// A fresh path under the test's temporary directory (not created).
std::string NewSnapshotPath(const std::string& name) {
  const fs::path path = fs::path(testing::TempDir()) / name;
  fs::remove_all(path);
  return path.string();
}

v1::SlotRange Range(uint32_t start, uint32_t end) {
  v1::SlotRange range;
  range.set_start(start);
  range.set_end(end);
  return range;
}

// A source node: a store whose changes go to its replication log.
struct Source {
  explicit Source(Clock* clock, uint64_t backlog_bytes = 1ull << 30)
      : log({backlog_bytes, clock}), store(Options(clock, &log)) {}

  static storage::StoreOptions Options(Clock* clock, ReplicationLog* log) {
    storage::StoreOptions options;
    options.clock = clock;
    options.listener = log;
    return options;
  }

  ReplicationLog log;
  storage::Store store;
};

storage::StoreOptions OnClock(Clock* clock, bool replica = false) {
  storage::StoreOptions options;
  options.clock = clock;
  options.replica = replica;
  return options;
}

// Replays `log`'s entries 1..`end` into `store`: the source's keyspace at
// offset `end` (the backlog must hold them all).
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

void ExpectSameContent(storage::Store* want, storage::Store* got) {
  const StoreDigest a = ComputeDigest(want);
  const StoreDigest b = ComputeDigest(got);
  EXPECT_EQ(a.key_count, b.key_count);
  EXPECT_EQ(a.digest, b.digest);
}

TEST(SnapshotTest, RoundTripsStringsHashesAndTtls) {
  FakeClock clock;
  Source source(&clock);
  storage::SetOptions ttl;
  ttl.expire_at = clock.Now() + absl::Hours(1);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(source.store
                    .Set(absl::StrCat("s", i), std::string(i % 200, 'v'),
                         i % 3 == 0 ? ttl : storage::SetOptions())
                    .ok());
    ASSERT_TRUE(source.store
                    .HSet(absl::StrCat("h{", i % 50, "}", i),
                          {{"f1", absl::StrCat(i)}, {"f2", "x"}})
                    .ok());
  }
  ASSERT_TRUE(source.store.Set("", "empty key").ok());
  SnapshotTarget target;
  target.directory = NewSnapshotPath("round_trip");
  target.cluster_id = "c1";
  target.shard_id = "shard-1";
  target.node_id = "node-a";
  target.config_epoch = 7;
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&source.store, &source.log, target);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->key_count(), 6001u);
  EXPECT_EQ(manifest->replication_id(), source.log.replication_id());
  EXPECT_EQ(manifest->replication_offset(), source.log.end_offset());
  EXPECT_EQ(manifest->config_epoch(), 7u);
  EXPECT_EQ(manifest->cluster_id(), "c1");
  EXPECT_EQ(manifest->shard_id(), "shard-1");
  EXPECT_EQ(manifest->node_id(), "node-a");
  ASSERT_EQ(manifest->slots_size(), 1);
  EXPECT_EQ(manifest->slots(0).end(), kNumSlots - 1);
  EXPECT_GT(manifest->files_size(), 0);
  EXPECT_GT(manifest->total_bytes(), 0u);

  storage::Store loaded(OnClock(&clock));
  absl::StatusOr<LoadResult> result = LoadSnapshot(target.directory, &loaded);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->keys_loaded, 6001u);
  ExpectSameContent(&source.store, &loaded);
  EXPECT_EQ(loaded.PTtl("s3"), absl::ToInt64Milliseconds(absl::Hours(1)));
  EXPECT_EQ(*loaded.Get(""), absl::optional<std::string>("empty key"));

  // Only the manifest and the database are left, and reading changed no
  // file the manifest lists: the snapshot verifies and loads again.
  std::vector<std::string> top;
  for (const auto& entry : fs::directory_iterator(target.directory)) {
    top.push_back(entry.path().filename().string());
  }
  std::sort(top.begin(), top.end());
  EXPECT_EQ(top, (std::vector<std::string>{"db", "manifest.json"}));
  storage::Store again(OnClock(&clock));
  result = LoadSnapshot(target.directory, &again);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->keys_loaded, 6001u);
}

// The heart of it: 4 writers (strings with TTLs, hashes, deletes, EXPIRE,
// lazy expiry as the clock moves, a rare FLUSHALL) keep going while the
// snapshot is taken. Loaded back, it equals the source's keyspace at the
// manifest's offset E, rebuilt by replaying the source's log up to E.
TEST(SnapshotTest, EqualsTheStoreAtItsOffsetWhileFourWritersRun) {
  FakeClock clock;
  Source source(&clock);
  source.log.EnableBacklog();  // Keep every entry from offset 1 on.
  constexpr int kKeys = 20000;
  constexpr int kOpsPerWriter = 25000;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(source.store.Set(absl::StrCat("k", i), "initial").ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ops{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937 rng(t);
      // Bounded, so that the writers do not starve the snapshot of the two
      // cores; the test's own writes below guarantee a tail.
      for (int i = 0; i < kOpsPerWriter && !stop.load(); ++i) {
        const std::string key = absl::StrCat("k", rng() % kKeys);
        const std::string hash = absl::StrCat("h", rng() % 2000);
        switch (rng() % 8) {
          case 0:
          case 1: {
            storage::SetOptions ttl;
            ttl.expire_at = clock.Now() + absl::Seconds(1 + rng() % 20);
            (void)source.store.Set(key, absl::StrCat(rng()), ttl);
            break;
          }
          case 2:
            (void)source.store.Set(key, std::string(rng() % 300, 'x'));
            break;
          case 3:
            (void)source.store.HSet(
                hash, {{absl::StrCat("f", rng() % 10), absl::StrCat(rng())}});
            break;
          case 4:
            source.store.Del(key);
            break;
          case 5:
            source.store.ExpireAt(key, clock.Now() + absl::Seconds(rng() % 10));
            break;
          case 6:
            (void)source.store.Get(key);  // Lazy expiry.
            break;
          case 7:
            if (t == 0 && rng() % 4000 == 0) {
              source.store.FlushAll();
            } else {
              (void)source.store.HDel(hash, {"f1"});
            }
            break;
        }
        if (t == 0 && rng() % 500 == 0) clock.Advance(absl::Seconds(1));
        ops.fetch_add(1);
      }
    });
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (ops.load() < 5000 && absl::Now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_GE(ops.load(), 5000u) << "the writers are stuck";
  // Writes of the test's own, made between the walk and the tail and after
  // the snapshot, whatever the writers' pace.
  auto write_more = [&](const std::string& prefix) {
    for (int i = 0; i < 2000; ++i) {
      storage::SetOptions ttl;
      if (i % 2 == 0) ttl.expire_at = clock.Now() + absl::Seconds(i % 30);
      (void)source.store.Set(absl::StrCat(prefix, i % 500), "v", ttl);
      if (i % 7 == 0) source.store.Del(absl::StrCat("k", i));
    }
  };
  const uint64_t offset_before = source.log.end_offset();
  SnapshotTarget target;
  target.directory = NewSnapshotPath("concurrent");
  SnapshotWriterOptions options;
  options.batch_bytes = 64 << 10;  // Many tail batches.
  // Writes between the walk and the tail, every time.
  options.after_walk = [&] { write_more("between"); };
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&source.store, &source.log, target, options);
  write_more("after");  // Past E.
  stop.store(true);
  for (std::thread& writer : writers) writer.join();
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const uint64_t end = manifest->replication_offset();
  EXPECT_GT(end, offset_before + 2000);
  EXPECT_LT(end, source.log.end_offset());

  storage::Store at_end(OnClock(&clock, /*replica=*/true));
  ReplayUpTo(&source.log, end, &at_end);
  storage::Store loaded(OnClock(&clock));
  absl::StatusOr<LoadResult> result = LoadSnapshot(target.directory, &loaded);
  ASSERT_TRUE(result.ok()) << result.status();
  ExpectSameContent(&at_end, &loaded);
}

// Keys sharing one hash tag all live in one slot: written as many sorted
// runs in overlapping files, read back as one.
TEST(SnapshotTest, OneHugeSlotIsWrittenInSortedRuns) {
  FakeClock clock;
  Source source(&clock);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(source.store
                    .Set(absl::StrCat("{user42}.", i * 7919 % 5000),
                         absl::StrCat("value", i))
                    .ok());
  }
  ASSERT_TRUE(source.store.Set("elsewhere", "v").ok());
  SnapshotTarget target;
  target.directory = NewSnapshotPath("huge_slot");
  SnapshotWriterOptions options;
  options.max_sort_bytes = 4 << 10;
  options.target_file_bytes = 16 << 10;
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&source.store, &source.log, target, options);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->key_count(), 5001u);
  storage::Store loaded(OnClock(&clock));
  ASSERT_TRUE(LoadSnapshot(target.directory, &loaded).ok());
  ExpectSameContent(&source.store, &loaded);
}

TEST(SnapshotTest, ExpiredKeysAreNeitherWrittenNorLoaded) {
  FakeClock clock;
  Source source(&clock);
  storage::SetOptions short_ttl;
  short_ttl.expire_at = clock.Now() + absl::Seconds(5);
  storage::SetOptions long_ttl;
  long_ttl.expire_at = clock.Now() + absl::Seconds(60);
  ASSERT_TRUE(source.store.Set("gone-before", "v", short_ttl).ok());
  ASSERT_TRUE(source.store.Set("gone-after", "v", long_ttl).ok());
  ASSERT_TRUE(source.store.Set("stays", "v").ok());
  clock.Advance(absl::Seconds(10));  // "gone-before" expired, not removed.
  SnapshotTarget target;
  target.directory = NewSnapshotPath("expiry");
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&source.store, &source.log, target);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->key_count(), 2u);

  clock.Advance(absl::Seconds(60));  // Now "gone-after" has expired too.
  storage::Store loaded(OnClock(&clock));
  absl::StatusOr<LoadResult> result = LoadSnapshot(target.directory, &loaded);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->keys_loaded, 1u);
  EXPECT_EQ(result->keys_expired, 1u);
  EXPECT_EQ(loaded.DbSize(), 1);
  EXPECT_TRUE(loaded.Exists("stays"));
}

// Entries between the walk and the tail that set an already expired key,
// delete keys and flush are applied as deletes.
TEST(SnapshotTest, TailAppliesDeletesAndFlushAll) {
  FakeClock clock;
  Source source(&clock);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(source.store.Set(absl::StrCat("a", i), "v").ok());
  }
  SnapshotTarget target;
  target.directory = NewSnapshotPath("tail_flush");
  SnapshotWriterOptions options;
  options.after_walk = [&] {
    source.store.FlushAll();
    ASSERT_TRUE(source.store.Set("after-flush", "v").ok());
    ASSERT_TRUE(source.store.Set("deleted", "v").ok());
    source.store.Del("deleted");
  };
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&source.store, &source.log, target, options);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->key_count(), 1u);
  EXPECT_EQ(manifest->replication_offset(), source.log.end_offset());
  storage::Store loaded(OnClock(&clock));
  ASSERT_TRUE(LoadSnapshot(target.directory, &loaded).ok());
  ExpectSameContent(&source.store, &loaded);
}

// Keys spread over all slots; a snapshot of some slots holds only those,
// and a load of some slots restores only those.
TEST(SnapshotTest, SlotRangesFilterWritingAndLoading) {
  FakeClock clock;
  Source source(&clock);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(source.store.Set(absl::StrCat("key", i), "v").ok());
  }
  std::vector<std::string> keys;  // Every key the store holds.
  for (int i = 0; i < 5000; ++i) keys.push_back(absl::StrCat("key", i));
  auto count_in = [&keys](uint32_t start, uint32_t end) {
    uint64_t n = 0;
    for (const std::string& key : keys) {
      const uint32_t slot = KeySlot(key);
      if (slot >= start && slot <= end) ++n;
    }
    return n;
  };

  SnapshotTarget half;
  half.directory = NewSnapshotPath("half");
  half.slots = {Range(0, 8191)};
  SnapshotWriterOptions options;
  options.after_walk = [&] {  // A tail entry outside the slots is left out.
    ASSERT_TRUE(source.store.Set("key-late{a}", "v").ok());
    ASSERT_GE(KeySlot("key-late{a}"), 8192u);
  };
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&source.store, &source.log, half, options);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->key_count(), count_in(0, 8191));
  keys.push_back("key-late{a}");
  ASSERT_EQ(manifest->slots_size(), 1);
  EXPECT_EQ(manifest->slots(0).end(), 8191u);

  SnapshotTarget all;
  all.directory = NewSnapshotPath("all");
  ASSERT_TRUE(WriteSnapshot(&source.store, &source.log, all).ok());
  storage::Store loaded(OnClock(&clock));
  LoadOptions load;
  load.slots = {Range(100, 4000), Range(12000, 16383)};
  absl::StatusOr<LoadResult> result =
      LoadSnapshot(all.directory, &loaded, load);
  ASSERT_TRUE(result.ok()) << result.status();
  const uint64_t want = count_in(100, 4000) + count_in(12000, 16383);
  EXPECT_EQ(result->keys_loaded, want);
  EXPECT_EQ(static_cast<uint64_t>(loaded.DbSize()), want);
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    const bool wanted =
        (slot >= 100 && slot <= 4000) || (slot >= 12000 && slot <= 16383);
    if (!wanted) {
      ASSERT_EQ(loaded.SlotKeyCount(slot), 0) << slot;
    }
  }
}

TEST(SnapshotTest, RefusesADirectoryThatIsNotEmpty) {
  Source source(Clock::Real());
  SnapshotTarget target;
  target.directory = NewSnapshotPath("not_empty");
  fs::create_directories(target.directory);
  { std::ofstream(fs::path(target.directory) / "other-file") << "x"; }
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&source.store, &source.log, target);
  ASSERT_EQ(manifest.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(manifest.status().message().find("not an empty directory"),
            std::string::npos)
      << manifest.status();
}

TEST(SnapshotTest, RefusesBadSlotRanges) {
  Source source(Clock::Real());
  SnapshotTarget target;
  target.directory = NewSnapshotPath("bad_range");
  target.slots = {Range(10, 5)};
  EXPECT_EQ(WriteSnapshot(&source.store, &source.log, target).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(target.directory));
}

// A backlog too small for the writes made during the snapshot: refused
// with advice, and the directory is left without a manifest.
TEST(SnapshotTest, FailsWhenTheBacklogDropsTheTail) {
  Source source(Clock::Real(), /*backlog_bytes=*/4096);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(source.store.Set(absl::StrCat("k", i), "v").ok());
  }
  SnapshotTarget target;
  target.directory = NewSnapshotPath("overrun");
  SnapshotWriterOptions options;
  options.after_walk = [&] {
    for (int i = 0; i < 2000; ++i) {
      ASSERT_TRUE(source.store.Set(absl::StrCat("k", i), "new value").ok());
    }
  };
  absl::StatusOr<v1::SnapshotManifest> manifest =
      WriteSnapshot(&source.store, &source.log, target, options);
  ASSERT_EQ(manifest.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(manifest.status().message().find("--repl_backlog_bytes"),
            std::string::npos)
      << manifest.status();
  EXPECT_EQ(ReadManifest(target.directory).status().code(),
            absl::StatusCode::kNotFound);
  // What it wrote is gone: the same path can be used again.
  EXPECT_FALSE(fs::exists(target.directory));
  options.after_walk = nullptr;
  EXPECT_TRUE(WriteSnapshot(&source.store, &source.log, target, options).ok());
}

}  // namespace
}  // namespace slotcache::node::persistence
