// The log's ordering under concurrent writers: contiguous offsets, per-key
// order, no reader ever sees a gap, FLUSHALL ordered, EnableBacklog racing
// writes, and the replica side (own changes ignored, promotion continues).
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "node/replication/digest.h"
#include "node/replication/log_entry.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"

namespace slotcache::node {
namespace {

constexpr int kWriters = 4;

storage::StoreOptions ListenedBy(ReplicationLog* log) {
  storage::StoreOptions o;
  o.listener = log;
  return o;
}

// Reads everything after `from` (until the end seen at the call), checking
// that offsets are consecutive; appends the entries to `out`.
uint64_t ReadContiguous(ReplicationLog& log, uint64_t from,
                        std::vector<v1::LogEntry>* out) {
  const uint64_t end = log.end_offset();
  while (from < end) {
    v1::LogEntries batch;
    EXPECT_TRUE(log.ReadAfter(from, 1 << 20, &batch).ok());
    if (batch.entries_size() == 0) break;
    for (const v1::LogEntry& e : batch.entries()) {
      EXPECT_EQ(e.offset(), from + 1) << "a reader saw a gap";
      from = e.offset();
      out->push_back(e);
    }
  }
  return from;
}

// Writers INCR shared counters and SET their own keys while a reader
// drains the log. Every offset appears once, in order, with no gap ever
// visible; each counter's entries carry 1, 2, 3, ... (the store's order of
// changes to that key).
TEST(ReplicationLogOrderingTest, ConcurrentWritersGetContiguousPerKeyOrder) {
  ReplicationLog log({256 << 20, Clock::Real()});
  log.EnableBacklog();
  storage::Store store(ListenedBy(&log));
  constexpr int kOpsPerWriter = 20000;
  std::atomic<int> running{kWriters};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kOpsPerWriter; ++i) {
        if (i % 2 == 0) {
          ASSERT_TRUE(store.IncrBy(absl::StrCat("counter", i % 8), 1).ok());
        } else {
          ASSERT_TRUE(
              store.Set(absl::StrCat("w", t, ":", i % 100), absl::StrCat(i))
                  .ok());
        }
      }
      running.fetch_sub(1);
    });
  }
  std::vector<v1::LogEntry> entries;
  uint64_t read = 0;
  while (running.load() > 0) read = ReadContiguous(log, read, &entries);
  for (auto& w : writers) w.join();
  read = ReadContiguous(log, read, &entries);

  EXPECT_EQ(read, uint64_t{kWriters} * kOpsPerWriter);
  EXPECT_EQ(log.end_offset(), log.reserved_offset());
  ASSERT_EQ(entries.size(), read);
  std::map<std::string, int64_t> last;
  for (const v1::LogEntry& e : entries) {
    ASSERT_TRUE(e.has_set());
    const std::string& key = e.set().key();
    int64_t value = 0;
    ASSERT_TRUE(absl::SimpleAtoi(e.set().string_value(), &value));
    if (key.rfind("counter", 0) == 0) {
      EXPECT_EQ(value, last[key] + 1) << key;
    } else {
      // A writer's own key: its values grow by 100 per rewrite.
      if (last.count(key) != 0) {
        EXPECT_EQ(value, last[key] + 100) << key;
      }
    }
    last[key] = value;
  }
}

// Writers race with FLUSHALLs; replaying the log onto a replica gives the
// primary's exact content.
TEST(ReplicationLogOrderingTest, FlushAllIsOrderedWithConcurrentWrites) {
  ReplicationLog log({256 << 20, Clock::Real()});
  log.EnableBacklog();
  storage::Store primary(ListenedBy(&log));
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        (void)primary.Set(absl::StrCat("k", t, ":", i % 300), "v");
        if (i % 7 == 0) (void)primary.Del(absl::StrCat("k", t, ":", i % 50));
      }
    });
  }
  for (int f = 0; f < 10; ++f) {
    const uint64_t seen = log.end_offset();
    while (log.WaitForEntriesAfter(seen + 200, absl::Seconds(5)) < seen + 200) {
    }
    primary.FlushAll();
  }
  stop = true;
  for (auto& w : writers) w.join();

  storage::StoreOptions o;
  o.replica = true;
  storage::Store replica(o);
  std::vector<v1::LogEntry> entries;
  ReadContiguous(log, 0, &entries);
  int flushes = 0;
  for (const v1::LogEntry& e : entries) {
    flushes += e.has_flush_all() ? 1 : 0;
    ASSERT_TRUE(ApplyLogEntry(e, &replica).ok());
  }
  EXPECT_EQ(flushes, 10);
  const StoreDigest a = ComputeDigest(&primary);
  const StoreDigest b = ComputeDigest(&replica);
  EXPECT_EQ(a.key_count, b.key_count);
  EXPECT_EQ(a.digest, b.digest);
}

// The backlog is switched on while writers run: the log starts at the
// offset EnableBacklog saw and every later entry arrives, without a gap.
TEST(ReplicationLogOrderingTest, EnablingTheBacklogMidStreamLeavesNoGap) {
  ReplicationLog log({256 << 20, Clock::Real()});
  storage::Store store(ListenedBy(&log));
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        (void)store.Set(absl::StrCat("k", t, ":", i % 1000), "v");
      }
    });
  }
  while (log.end_offset() < 5000) std::this_thread::yield();
  log.EnableBacklog();
  const uint64_t start = log.end_offset();
  EXPECT_TRUE(log.Retains(start));
  EXPECT_EQ(
      log.WaitForEntriesAfter(start + 5000, absl::Seconds(30)) > start + 5000,
      true);
  stop = true;
  for (auto& w : writers) w.join();
  std::vector<v1::LogEntry> entries;
  const uint64_t end = ReadContiguous(log, start, &entries);
  EXPECT_EQ(end, log.reserved_offset());
  EXPECT_EQ(entries.size(), end - start);
}

// A replica's log records what it applied with the primary's offsets and
// ignores the changes its own store reports while applying them (inside an
// ApplyingScope); after a promotion local writes continue from the last
// applied offset.
TEST(ReplicationLogOrderingTest, ReplicaRecordsAppliedEntriesAndPromotes) {
  ReplicationLog log({1 << 20, Clock::Real()});
  storage::StoreOptions o = ListenedBy(&log);
  o.replica = true;
  storage::Store store(o);
  log.ResetHistory("primary-history", 10);
  v1::LogEntry e;
  e.set_offset(11);
  e.mutable_set()->set_key("k");
  e.mutable_set()->set_type(v1::STRING);
  e.mutable_set()->set_string_value("v");
  {
    const ReplicationLog::ApplyingScope applying;
    ASSERT_TRUE(ApplyLogEntry(e, &store).ok());  // The store reports it...
  }
  ASSERT_TRUE(log.AppendApplied(e).ok());  // ...the log records it once.
  EXPECT_EQ(log.end_offset(), 11u);
  EXPECT_FALSE(log.AppendApplied(e).ok());  // Not the next offset.

  log.StartNewHistory();
  store.SetReplicaMode(false);
  EXPECT_NE(log.replication_id(), "primary-history");
  EXPECT_TRUE(log.CanContinueFrom("primary-history", 11));
  ASSERT_TRUE(store.Set("k2", "local").ok());
  EXPECT_EQ(log.end_offset(), 12u);
  v1::LogEntries after;
  ASSERT_TRUE(log.ReadAfter(10, 1 << 20, &after).ok());
  ASSERT_EQ(after.entries_size(), 2);
  EXPECT_EQ(after.entries(1).set().key(), "k2");
}

}  // namespace
}  // namespace slotcache::node
