#include "node/replication/replication_log.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "node/commands/executor.h"
#include "node/replication/digest.h"
#include "node/replication/log_entry.h"
#include "node/storage/store.h"

namespace slotcache::node {
namespace {

v1::Command Cmd(const std::string& name, std::vector<std::string> args) {
  v1::Command c;
  c.set_name(name);
  for (auto& a : args) c.add_args(a);
  return c;
}

// A primary store whose changes the log hears, as in the node.
class Primary {
 public:
  explicit Primary(storage::StoreOptions options = {},
                   uint64_t backlog = 64 << 20)
      : log_({backlog, Clock::Real()}),
        store_(WithListener(options, &log_)),
        executor_(&store_) {
    log_.EnableBacklog();
  }

  v1::Reply Run(const v1::Command& command) {
    v1::Reply reply;
    executor_.Execute(command, &reply);
    return reply;
  }

  ReplicationLog& log() { return log_; }
  storage::Store& store() { return store_; }

 private:
  static storage::StoreOptions WithListener(storage::StoreOptions o,
                                            ReplicationLog* log) {
    o.listener = log;
    return o;
  }

  ReplicationLog log_;
  storage::Store store_;
  CommandExecutor executor_;
};

// Applies every entry after `from` to `replica`; returns the last offset.
uint64_t ApplyAll(ReplicationLog& log, uint64_t from, storage::Store* replica) {
  for (;;) {
    v1::LogEntries entries;
    EXPECT_TRUE(log.ReadAfter(from, 1 << 20, &entries).ok());
    if (entries.entries_size() == 0) return from;
    for (const v1::LogEntry& e : entries.entries()) {
      EXPECT_EQ(e.offset(), from + 1);
      EXPECT_TRUE(ApplyLogEntry(e, replica).ok()) << e.DebugString();
      from = e.offset();
    }
  }
}

storage::Store* NewReplicaStore() {
  storage::StoreOptions o;
  o.replica = true;
  return new storage::Store(o);
}

TEST(ReplicationLogTest, RewritesRelativeAndComputedWritesToStates) {
  Primary p;
  p.Run(Cmd("SET", {"a", "1", "EX", "100"}));
  p.Run(Cmd("INCRBYFLOAT", {"a", "0.5"}));
  p.Run(Cmd("SET", {"b", "x", "GET"}));
  p.Run(Cmd("HSET", {"h", "f", "v"}));
  p.Run(Cmd("DEL", {"b"}));
  v1::LogEntries entries;
  ASSERT_TRUE(p.log().ReadAfter(0, 1 << 20, &entries).ok());
  ASSERT_EQ(entries.entries_size(), 5);
  const v1::LogEntry& first = entries.entries(0);
  ASSERT_TRUE(first.has_set());
  EXPECT_EQ(first.set().string_value(), "1");
  EXPECT_GT(first.set().expire_at_unix_ms(), 0);  // EX became absolute.
  const v1::KeyRecord& incr = entries.entries(1).set();
  EXPECT_EQ(incr.string_value(), "1.5");
  // INCRBYFLOAT keeps the TTL.
  EXPECT_EQ(incr.expire_at_unix_ms(), first.set().expire_at_unix_ms());
  EXPECT_EQ(entries.entries(2).set().string_value(), "x");  // No GET.
  EXPECT_EQ(entries.entries(3).set().type(), v1::HASH);
  EXPECT_EQ(entries.entries(4).deleted_key(), "b");
  EXPECT_EQ(p.log().end_offset(), 5u);
}

TEST(ReplicationLogTest, OffsetsAdvanceWithoutCopyingUntilTheBacklogIsOn) {
  ReplicationLog log({1 << 20, Clock::Real()});
  storage::StoreOptions o;
  o.listener = &log;
  storage::Store store(o);
  CommandExecutor executor(&store);
  v1::Reply reply;
  executor.Execute(Cmd("MSET", {"{t}a", "1", "{t}b", "2"}), &reply);
  EXPECT_EQ(log.end_offset(), 2u);
  log.EnableBacklog();
  EXPECT_FALSE(log.Retains(0));  // A replica needs a full sync...
  EXPECT_TRUE(log.Retains(2));   // ...which starts at the end.
  executor.Execute(Cmd("DEL", {"{t}a"}), &reply);
  v1::LogEntries entries;
  ASSERT_TRUE(log.ReadAfter(2, 1 << 20, &entries).ok());
  ASSERT_EQ(entries.entries_size(), 1);
  EXPECT_EQ(entries.entries(0).offset(), 3u);
  EXPECT_EQ(entries.entries(0).deleted_key(), "{t}a");
}

TEST(ReplicationLogTest, FailedWritesAreNotLogged) {
  Primary p;
  p.Run(Cmd("HSET", {"h", "f", "v"}));
  v1::Reply reply = p.Run(Cmd("INCR", {"h"}));
  EXPECT_TRUE(reply.has_error());
  EXPECT_EQ(p.log().end_offset(), 1u);
}

TEST(ReplicationLogTest, ReplayedLogConvergesAfterRandomWrites) {
  storage::StoreOptions options;
  options.maxmemory_bytes = 120 << 10;
  options.eviction_policy = storage::EvictionPolicy::kAllKeysLru;
  Primary p(options);
  std::unique_ptr<storage::Store> replica(NewReplicaStore());
  absl::BitGen gen;
  for (int i = 0; i < 20000; ++i) {
    const std::string key = absl::StrCat("k", absl::Uniform(gen, 0, 2000));
    const std::string hkey = absl::StrCat("h", absl::Uniform(gen, 0, 200));
    switch (absl::Uniform(gen, 0, 8)) {
      case 0:
        p.Run(Cmd("SET", {key, std::string(absl::Uniform(gen, 1, 300), 'v')}));
        break;
      case 1:
        p.Run(Cmd("SET", {key, "t", "PX", "100000"}));
        break;
      case 2:
        p.Run(
            Cmd("INCRBY", {absl::StrCat("c", absl::Uniform(gen, 0, 50)), "3"}));
        break;
      case 3:
        p.Run(Cmd("HSET",
                  {hkey, absl::StrCat("f", absl::Uniform(gen, 0, 9)), "v"}));
        break;
      case 4:
        p.Run(Cmd("DEL", {key}));
        break;
      case 5:
        p.Run(Cmd("EXPIRE", {hkey, "500"}));
        break;
      case 6:
        p.Run(Cmd("HDEL", {hkey, "f1", "f2"}));
        break;
      case 7:
        p.Run(Cmd("APPEND", {key, "z"}));
        break;
    }
  }
  ApplyAll(p.log(), 0, replica.get());
  EXPECT_GT(p.store().Stats().evicted_keys, 0);
  const StoreDigest a = ComputeDigest(&p.store());
  const StoreDigest b = ComputeDigest(replica.get());
  EXPECT_EQ(a.key_count, b.key_count);
  EXPECT_EQ(a.digest, b.digest);
}

TEST(ReplicationLogTest, BacklogIsBoundedAndReportsWhatItLost) {
  Primary p({}, /*backlog=*/4096);
  for (int i = 0; i < 1000; ++i) {
    p.Run(Cmd("SET", {absl::StrCat("k", i), std::string(100, 'x')}));
  }
  EXPECT_EQ(p.log().end_offset(), 1000u);
  EXPECT_FALSE(p.log().Retains(10));
  EXPECT_TRUE(p.log().Retains(999));
  v1::LogEntries entries;
  EXPECT_FALSE(p.log().ReadAfter(10, 1 << 20, &entries).ok());
  EXPECT_FALSE(p.log().CanContinueFrom(p.log().replication_id(), 10));
  EXPECT_TRUE(p.log().CanContinueFrom(p.log().replication_id(), 999));
  EXPECT_FALSE(p.log().CanContinueFrom("other", 999));
}

TEST(ReplicationLogTest, ReplicaKeepsKeysItsClockSeesExpired) {
  FakeClock clock;
  storage::StoreOptions o;
  o.replica = true;
  o.clock = &clock;
  storage::Store replica(o);
  v1::LogEntry set;
  set.set_offset(1);
  set.mutable_set()->set_key("k");
  set.mutable_set()->set_type(v1::STRING);
  set.mutable_set()->set_string_value("v");
  set.mutable_set()->set_expire_at_unix_ms(absl::ToUnixMillis(clock.Now()) -
                                           10);
  ASSERT_TRUE(ApplyLogEntry(set, &replica).ok());
  EXPECT_EQ(replica.DbSize(), 1);     // Present until the primary's DEL...
  EXPECT_FALSE(replica.Exists("k"));  // ...but reads as missing.
  v1::LogEntry del;
  del.set_offset(2);
  del.set_deleted_key("k");
  ASSERT_TRUE(ApplyLogEntry(del, &replica).ok());
  EXPECT_EQ(replica.DbSize(), 0);
}

TEST(ReplicationLogTest, EntriesWithoutAChangeAreRefused) {
  std::unique_ptr<storage::Store> replica(NewReplicaStore());
  v1::LogEntry empty;
  empty.set_offset(1);
  EXPECT_FALSE(ApplyLogEntry(empty, replica.get()).ok());
  EXPECT_EQ(replica->DbSize(), 0);
}

}  // namespace
}  // namespace slotcache::node
