#include "node/commands/executor.h"

#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "gtest/gtest.h"

namespace slotcache::node {
namespace {

class ExecutorTest : public ::testing::Test {
 protected:
  ExecutorTest() : store_(Options()), executor_(&store_) {}

  storage::StoreOptions Options() {
    storage::StoreOptions o;
    o.clock = &clock_;
    return o;
  }

  v1::Reply Run(std::vector<std::string> words) {
    v1::Command c;
    c.set_name(words[0]);
    for (size_t i = 1; i < words.size(); ++i) c.add_args(words[i]);
    v1::Reply reply;
    executor_.Execute(c, &reply);
    return reply;
  }
  int64_t Integer(std::vector<std::string> words) {
    v1::Reply r = Run(std::move(words));
    EXPECT_TRUE(r.value().has_integer()) << r.DebugString();
    return r.value().integer();
  }
  std::string BulkOf(std::vector<std::string> words) {
    v1::Reply r = Run(std::move(words));
    EXPECT_TRUE(r.value().has_bulk()) << r.DebugString();
    return r.value().bulk();
  }
  bool IsNil(std::vector<std::string> words) {
    v1::Reply r = Run(std::move(words));
    return r.value().has_nil() && !r.has_error();
  }
  v1::ErrorCode Error(std::vector<std::string> words) {
    return Run(std::move(words)).error().code();
  }
  bool IsOk(std::vector<std::string> words) {
    v1::Reply r = Run(std::move(words));
    return r.value().status() == "OK";
  }

  FakeClock clock_;
  storage::Store store_;
  CommandExecutor executor_;
};

TEST_F(ExecutorTest, SetThenGet) {
  EXPECT_TRUE(IsOk({"SET", "k", "v"}));
  EXPECT_EQ(BulkOf({"GET", "k"}), "v");
  EXPECT_TRUE(IsNil({"GET", "missing"}));
  EXPECT_TRUE(IsOk({"set", "k", std::string("a\0b", 3)}));
  EXPECT_EQ(BulkOf({"get", "k"}), std::string("a\0b", 3));
}

TEST_F(ExecutorTest, UnknownCommandAndWrongArityAreInvalidArgument) {
  EXPECT_EQ(Error({"NOPE"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"GET"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"GET", "a", "b"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"MSET", "a", "1", "b"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"HSET", "h", "f", "v", "g"}), v1::INVALID_ARGUMENT);
}

TEST_F(ExecutorTest, SetNxXx) {
  EXPECT_TRUE(IsOk({"SET", "k", "1", "NX"}));
  EXPECT_TRUE(IsNil({"SET", "k", "2", "NX"}));
  EXPECT_EQ(BulkOf({"GET", "k"}), "1");
  EXPECT_TRUE(IsOk({"SET", "k", "3", "XX"}));
  EXPECT_TRUE(IsNil({"SET", "other", "3", "XX"}));
  EXPECT_EQ(Integer({"EXISTS", "other"}), 0);
  EXPECT_EQ(Error({"SET", "k", "v", "NX", "XX"}), v1::INVALID_ARGUMENT);
}

TEST_F(ExecutorTest, SetExpiryOptions) {
  EXPECT_TRUE(IsOk({"SET", "k", "v", "EX", "10"}));
  EXPECT_EQ(Integer({"TTL", "k"}), 10);
  EXPECT_TRUE(IsOk({"SET", "k", "v", "PX", "1500"}));
  EXPECT_EQ(Integer({"PTTL", "k"}), 1500);
  const int64_t now_s = absl::ToUnixSeconds(clock_.Now());
  EXPECT_TRUE(IsOk({"SET", "k", "v", "EXAT", std::to_string(now_s + 100)}));
  EXPECT_EQ(Integer({"TTL", "k"}), 100);
  EXPECT_TRUE(
      IsOk({"SET", "k", "v", "PXAT", std::to_string(now_s * 1000 + 2500)}));
  EXPECT_EQ(Integer({"PTTL", "k"}), 2500);
  // KEEPTTL keeps it; a plain SET drops it.
  EXPECT_TRUE(IsOk({"SET", "k", "w", "KEEPTTL"}));
  EXPECT_EQ(Integer({"PTTL", "k"}), 2500);
  EXPECT_TRUE(IsOk({"SET", "k", "w"}));
  EXPECT_EQ(Integer({"TTL", "k"}), -1);
  // Errors.
  EXPECT_EQ(Error({"SET", "k", "v", "EX", "0"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"SET", "k", "v", "EX", "-5"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"SET", "k", "v", "EX", "abc"}), v1::OUT_OF_RANGE);
  EXPECT_EQ(Error({"SET", "k", "v", "EX"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"SET", "k", "v", "EX", "10", "PX", "5"}),
            v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"SET", "k", "v", "EX", "10", "KEEPTTL"}),
            v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"SET", "k", "v", "EX", "9223372036854775807"}),
            v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"SET", "k", "v", "BOGUS"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(BulkOf({"GET", "k"}), "w");
}

TEST_F(ExecutorTest, SetInThePastDeletesTheKey) {
  EXPECT_TRUE(IsOk({"SET", "k", "v"}));
  EXPECT_TRUE(IsOk({"SET", "k", "v2", "PXAT", "1"}));
  EXPECT_EQ(Integer({"EXISTS", "k"}), 0);
}

TEST_F(ExecutorTest, SetGetReturnsOldValue) {
  EXPECT_TRUE(IsNil({"SET", "k", "1", "GET"}));
  EXPECT_EQ(BulkOf({"SET", "k", "2", "GET"}), "1");
  EXPECT_EQ(BulkOf({"SET", "k", "3", "NX", "GET"}), "2");
  EXPECT_EQ(BulkOf({"GET", "k"}), "2");
  EXPECT_EQ(Integer({"HSET", "h", "f", "v"}), 1);
  EXPECT_EQ(Error({"SET", "h", "x", "GET"}), v1::WRONGTYPE);
  EXPECT_EQ(BulkOf({"HGET", "h", "f"}), "v");
}

TEST_F(ExecutorTest, KeysExpireLazily) {
  EXPECT_TRUE(IsOk({"SET", "k", "v", "EX", "5"}));
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(BulkOf({"GET", "k"}), "v");
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(IsNil({"GET", "k"}));
  EXPECT_EQ(Integer({"TTL", "k"}), -2);
  EXPECT_EQ(Integer({"DBSIZE"}), 0);
}

TEST_F(ExecutorTest, GetExChangesTtl) {
  EXPECT_TRUE(IsNil({"GETEX", "missing", "EX", "5"}));
  EXPECT_TRUE(IsOk({"SET", "k", "v"}));
  EXPECT_EQ(BulkOf({"GETEX", "k", "EX", "5"}), "v");
  EXPECT_EQ(Integer({"TTL", "k"}), 5);
  EXPECT_EQ(BulkOf({"GETEX", "k", "PERSIST"}), "v");
  EXPECT_EQ(Integer({"TTL", "k"}), -1);
  EXPECT_EQ(BulkOf({"GETEX", "k"}), "v");
  EXPECT_EQ(Error({"GETEX", "k", "EX", "5", "PERSIST"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"GETEX", "k", "EX", "0"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Integer({"TTL", "k"}), -1);
}

TEST_F(ExecutorTest, GetDelAppendStrLen) {
  EXPECT_EQ(Integer({"APPEND", "k", "ab"}), 2);
  EXPECT_EQ(Integer({"APPEND", "k", "cde"}), 5);
  EXPECT_EQ(Integer({"APPEND", "k", ""}), 5);
  EXPECT_EQ(Integer({"STRLEN", "k"}), 5);
  EXPECT_EQ(Integer({"STRLEN", "missing"}), 0);
  EXPECT_EQ(BulkOf({"GETDEL", "k"}), "abcde");
  EXPECT_TRUE(IsNil({"GETDEL", "k"}));
  EXPECT_EQ(Integer({"HSET", "h", "f", "v"}), 1);
  EXPECT_EQ(Error({"APPEND", "h", "x"}), v1::WRONGTYPE);
  EXPECT_EQ(Error({"STRLEN", "h"}), v1::WRONGTYPE);
  EXPECT_EQ(Error({"GETDEL", "h"}), v1::WRONGTYPE);
  EXPECT_EQ(Integer({"HLEN", "h"}), 1);
}

TEST_F(ExecutorTest, AppendKeepsTtl) {
  EXPECT_TRUE(IsOk({"SET", "k", "a", "EX", "100"}));
  EXPECT_EQ(Integer({"APPEND", "k", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}),
            39);
  EXPECT_EQ(Integer({"TTL", "k"}), 100);
}

TEST_F(ExecutorTest, DelUnlinkExistsType) {
  EXPECT_TRUE(IsOk({"MSET", "a", "1", "b", "2"}));
  EXPECT_EQ(Integer({"EXISTS", "a", "b", "c", "a"}), 3);
  EXPECT_EQ(Integer({"DEL", "a", "c"}), 1);
  EXPECT_EQ(Integer({"UNLINK", "b"}), 1);
  EXPECT_EQ(Integer({"EXISTS", "a", "b"}), 0);
  EXPECT_TRUE(IsOk({"SET", "s", "v"}));
  EXPECT_EQ(Integer({"HSET", "h", "f", "v"}), 1);
  EXPECT_EQ(Run({"TYPE", "s"}).value().status(), "string");
  EXPECT_EQ(Run({"TYPE", "h"}).value().status(), "hash");
  EXPECT_EQ(Run({"TYPE", "none"}).value().status(), "none");
}

TEST_F(ExecutorTest, ExpireFamily) {
  EXPECT_EQ(Integer({"EXPIRE", "missing", "10"}), 0);
  EXPECT_TRUE(IsOk({"SET", "k", "v"}));
  EXPECT_EQ(Integer({"EXPIRE", "k", "10"}), 1);
  EXPECT_EQ(Integer({"TTL", "k"}), 10);
  EXPECT_EQ(Integer({"PEXPIRE", "k", "5000"}), 1);
  EXPECT_EQ(Integer({"PTTL", "k"}), 5000);
  const int64_t now_s = absl::ToUnixSeconds(clock_.Now());
  EXPECT_EQ(Integer({"EXPIREAT", "k", std::to_string(now_s + 50)}), 1);
  EXPECT_EQ(Integer({"TTL", "k"}), 50);
  EXPECT_EQ(Integer({"PEXPIREAT", "k", std::to_string(now_s * 1000 + 700)}), 1);
  EXPECT_EQ(Integer({"PTTL", "k"}), 700);
  EXPECT_EQ(Integer({"TTL", "k"}), 1);  // Rounded like Redis.
  EXPECT_EQ(Integer({"PERSIST", "k"}), 1);
  EXPECT_EQ(Integer({"PERSIST", "k"}), 0);
  EXPECT_EQ(Integer({"TTL", "k"}), -1);
  EXPECT_EQ(Error({"EXPIRE", "k", "ten"}), v1::OUT_OF_RANGE);
  EXPECT_EQ(Error({"EXPIRE", "k", "10", "BOGUS"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"EXPIRE", "k", "9223372036854775807"}),
            v1::INVALID_ARGUMENT);
  // A non-positive TTL deletes.
  EXPECT_EQ(Integer({"EXPIRE", "k", "-1"}), 1);
  EXPECT_EQ(Integer({"EXISTS", "k"}), 0);
}

TEST_F(ExecutorTest, ExpireConditions) {
  EXPECT_TRUE(IsOk({"SET", "k", "v"}));
  EXPECT_EQ(Integer({"EXPIRE", "k", "100", "XX"}), 0);
  EXPECT_EQ(Integer({"EXPIRE", "k", "100", "GT"}), 0);  // none = infinite
  EXPECT_EQ(Integer({"EXPIRE", "k", "100", "XX", "LT"}), 0);
  EXPECT_EQ(Integer({"EXPIRE", "k", "100", "NX"}), 1);
  EXPECT_EQ(Integer({"EXPIRE", "k", "50", "NX"}), 0);
  EXPECT_EQ(Integer({"EXPIRE", "k", "50", "GT"}), 0);
  EXPECT_EQ(Integer({"EXPIRE", "k", "200", "GT"}), 1);
  EXPECT_EQ(Integer({"EXPIRE", "k", "300", "LT"}), 0);
  EXPECT_EQ(Integer({"EXPIRE", "k", "150", "LT"}), 1);
  EXPECT_EQ(Integer({"EXPIRE", "k", "120", "XX"}), 1);
  EXPECT_EQ(Integer({"TTL", "k"}), 120);
  EXPECT_EQ(Error({"EXPIRE", "k", "1", "NX", "XX"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"EXPIRE", "k", "1", "GT", "LT"}), v1::INVALID_ARGUMENT);
}

TEST_F(ExecutorTest, MGetMSet) {
  EXPECT_TRUE(IsOk({"MSET", "a", "1", "b", "2", "a", "3"}));
  EXPECT_EQ(Integer({"HSET", "h", "f", "v"}), 1);
  v1::Reply r = Run({"MGET", "a", "b", "missing", "h"});
  ASSERT_EQ(r.value().array().values_size(), 4);
  EXPECT_EQ(r.value().array().values(0).bulk(), "3");
  EXPECT_EQ(r.value().array().values(1).bulk(), "2");
  EXPECT_TRUE(r.value().array().values(2).nil());
  EXPECT_TRUE(r.value().array().values(3).nil());
}

TEST_F(ExecutorTest, IncrFamily) {
  EXPECT_EQ(Integer({"INCR", "n"}), 1);
  EXPECT_EQ(Integer({"INCRBY", "n", "10"}), 11);
  EXPECT_EQ(Integer({"DECR", "n"}), 10);
  EXPECT_EQ(Integer({"DECRBY", "n", "-5"}), 15);
  EXPECT_EQ(BulkOf({"GET", "n"}), "15");
  EXPECT_TRUE(IsOk({"SET", "n", "9223372036854775806"}));
  EXPECT_EQ(Integer({"INCR", "n"}), 9223372036854775807);
  EXPECT_EQ(Error({"INCR", "n"}), v1::OUT_OF_RANGE);
  EXPECT_EQ(BulkOf({"GET", "n"}), "9223372036854775807");
  EXPECT_TRUE(IsOk({"SET", "m", "-9223372036854775808"}));
  EXPECT_EQ(Error({"DECR", "m"}), v1::OUT_OF_RANGE);
  EXPECT_EQ(Error({"DECRBY", "x", "-9223372036854775808"}), v1::OUT_OF_RANGE);
  for (const char* bad : {"abc", " 1", "1 ", "01", "1.0", "+1", "", "-0"}) {
    EXPECT_TRUE(IsOk({"SET", "s", bad}));
    EXPECT_EQ(Error({"INCR", "s"}), v1::OUT_OF_RANGE) << bad;
    EXPECT_EQ(BulkOf({"GET", "s"}), bad);
  }
  EXPECT_EQ(Error({"INCRBY", "n", "x"}), v1::OUT_OF_RANGE);
  EXPECT_EQ(Integer({"HSET", "h", "f", "1"}), 1);
  EXPECT_EQ(Error({"INCR", "h"}), v1::WRONGTYPE);
}

TEST_F(ExecutorTest, IncrKeepsTtl) {
  EXPECT_TRUE(IsOk({"SET", "n", "5", "EX", "100"}));
  EXPECT_EQ(Integer({"INCRBY", "n", "100000"}), 100005);
  EXPECT_EQ(Integer({"TTL", "n"}), 100);
}

TEST_F(ExecutorTest, IncrByFloat) {
  EXPECT_EQ(BulkOf({"INCRBYFLOAT", "f", "10.5"}), "10.5");
  EXPECT_EQ(BulkOf({"INCRBYFLOAT", "f", "0.1"}), "10.6");
  EXPECT_EQ(BulkOf({"INCRBYFLOAT", "f", "-5"}), "5.6");
  // Redis's own reply for this sequence (17 decimals of a long double).
  EXPECT_EQ(BulkOf({"INCRBYFLOAT", "f", "5e3"}), "5005.60000000000000009");
  EXPECT_TRUE(IsOk({"SET", "i", "3"}));
  EXPECT_EQ(BulkOf({"INCRBYFLOAT", "i", "1"}), "4");
  EXPECT_EQ(Error({"INCRBYFLOAT", "f", "abc"}), v1::OUT_OF_RANGE);
  EXPECT_EQ(Error({"INCRBYFLOAT", "f", "nan"}), v1::OUT_OF_RANGE);
  EXPECT_EQ(Error({"INCRBYFLOAT", "f", "inf"}), v1::OUT_OF_RANGE);
  EXPECT_TRUE(IsOk({"SET", "t", "text"}));
  EXPECT_EQ(Error({"INCRBYFLOAT", "t", "1"}), v1::OUT_OF_RANGE);
  EXPECT_TRUE(IsOk({"SET", "big", "1e5000"}));  // Too big for long double.
  EXPECT_EQ(Error({"INCRBYFLOAT", "big", "1"}), v1::OUT_OF_RANGE);
}

TEST_F(ExecutorTest, Hashes) {
  EXPECT_EQ(Integer({"HSET", "h", "a", "1", "b", "2"}), 2);
  EXPECT_EQ(Integer({"HSET", "h", "a", "10", "c", "3"}), 1);
  EXPECT_EQ(BulkOf({"HGET", "h", "a"}), "10");
  EXPECT_TRUE(IsNil({"HGET", "h", "zzz"}));
  EXPECT_TRUE(IsNil({"HGET", "missing", "a"}));
  EXPECT_EQ(Integer({"HLEN", "h"}), 3);
  EXPECT_EQ(Integer({"HLEN", "missing"}), 0);
  EXPECT_EQ(Integer({"HEXISTS", "h", "b"}), 1);
  EXPECT_EQ(Integer({"HEXISTS", "h", "zzz"}), 0);
  v1::Reply r = Run({"HMGET", "h", "a", "zzz", "c"});
  ASSERT_EQ(r.value().array().values_size(), 3);
  EXPECT_EQ(r.value().array().values(0).bulk(), "10");
  EXPECT_TRUE(r.value().array().values(1).nil());
  EXPECT_EQ(r.value().array().values(2).bulk(), "3");
  r = Run({"HGETALL", "h"});
  EXPECT_EQ(r.value().array().values_size(), 6);
  EXPECT_EQ(Integer({"HINCRBY", "h", "a", "5"}), 15);
  EXPECT_EQ(Integer({"HINCRBY", "h", "new", "-2"}), -2);
  EXPECT_EQ(Error({"HINCRBY", "h", "a", "x"}), v1::OUT_OF_RANGE);
  EXPECT_EQ(Integer({"HSET", "h", "big", "9223372036854775807"}), 1);
  EXPECT_EQ(Error({"HINCRBY", "h", "big", "1"}), v1::OUT_OF_RANGE);
  EXPECT_EQ(Integer({"HSET", "h", "txt", "abc"}), 1);
  EXPECT_EQ(Error({"HINCRBY", "h", "txt", "1"}), v1::OUT_OF_RANGE);
  EXPECT_EQ(Integer({"HDEL", "h", "a", "zzz", "b", "c", "new", "big"}), 5);
  EXPECT_EQ(Integer({"HDEL", "h", "txt"}), 1);
  EXPECT_EQ(Integer({"EXISTS", "h"}), 0);  // Empty hashes disappear.
  EXPECT_EQ(Run({"HGETALL", "h"}).value().array().values_size(), 0);
}

TEST_F(ExecutorTest, HashCommandsOnStringsAreWrongTypeAndChangeNothing) {
  EXPECT_TRUE(IsOk({"SET", "s", "v"}));
  for (const auto& words : std::vector<std::vector<std::string>>{
           {"HSET", "s", "f", "v"},
           {"HGET", "s", "f"},
           {"HMGET", "s", "f"},
           {"HDEL", "s", "f"},
           {"HGETALL", "s"},
           {"HINCRBY", "s", "f", "1"},
           {"HLEN", "s"},
           {"HEXISTS", "s", "f"},
       }) {
    EXPECT_EQ(Error(words), v1::WRONGTYPE) << words[0];
  }
  EXPECT_EQ(BulkOf({"GET", "s"}), "v");
  EXPECT_EQ(Integer({"HSET", "h", "f", "v"}), 1);
  EXPECT_EQ(Error({"GET", "h"}), v1::WRONGTYPE);
  EXPECT_EQ(Error({"GETEX", "h", "EX", "10"}), v1::WRONGTYPE);
  EXPECT_EQ(Integer({"TTL", "h"}), -1);
}

TEST_F(ExecutorTest, SetOverwritesAHash) {
  EXPECT_EQ(Integer({"HSET", "h", "f", "v"}), 1);
  EXPECT_TRUE(IsOk({"SET", "h", "now a string"}));
  EXPECT_EQ(BulkOf({"GET", "h"}), "now a string");
}

TEST_F(ExecutorTest, DbSizeFlushAllRandomKey) {
  EXPECT_TRUE(IsNil({"RANDOMKEY"}));
  EXPECT_TRUE(IsOk({"MSET", "a", "1", "b", "2"}));
  EXPECT_EQ(Integer({"DBSIZE"}), 2);
  const std::string k = BulkOf({"RANDOMKEY"});
  EXPECT_TRUE(k == "a" || k == "b") << k;
  EXPECT_EQ(Error({"FLUSHALL", "NOW"}), v1::INVALID_ARGUMENT);
  EXPECT_TRUE(IsOk({"FLUSHALL", "ASYNC"}));
  EXPECT_EQ(Integer({"DBSIZE"}), 0);
  EXPECT_TRUE(IsOk({"FLUSHALL"}));
}

TEST_F(ExecutorTest, ScanWithMatchAndCount) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(IsOk({"SET", "user:" + std::to_string(i), "v"}));
    ASSERT_TRUE(IsOk({"SET", "other:" + std::to_string(i), "v"}));
  }
  std::set<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    v1::Reply r = Run({"SCAN", cursor, "MATCH", "user:*", "COUNT", "7"});
    ASSERT_FALSE(r.has_error()) << r.DebugString();
    ASSERT_EQ(r.value().array().values_size(), 2);
    cursor = r.value().array().values(0).bulk();
    for (const auto& k : r.value().array().values(1).array().values()) {
      EXPECT_EQ(k.bulk().rfind("user:", 0), 0u) << k.bulk();
      seen.insert(k.bulk());
    }
    ASSERT_LT(++calls, 100000);
  } while (cursor != "0");
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(Error({"SCAN", "abc"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"SCAN", "-1"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"SCAN", "0", "COUNT", "0"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"SCAN", "0", "MATCH"}), v1::INVALID_ARGUMENT);
  EXPECT_EQ(Error({"SCAN", "0", "TYPE", "string"}), v1::INVALID_ARGUMENT);
}

TEST(ExecutorOomTest,
     FullStoreRefusesGrowingWritesWithOomButServesReadsAndDeletes) {
  storage::StoreOptions o;
  o.maxmemory_bytes = 4096;
  o.eviction_policy = storage::EvictionPolicy::kNoEviction;
  storage::Store store(o);
  CommandExecutor executor(&store);
  auto run = [&](std::vector<std::string> words) {
    v1::Command c;
    c.set_name(words[0]);
    for (size_t i = 1; i < words.size(); ++i) c.add_args(words[i]);
    v1::Reply reply;
    executor.Execute(c, &reply);
    return reply;
  };
  int i = 0;
  while (store.UsedMemory() <= 4096) {
    ASSERT_FALSE(run({"SET", "k" + std::to_string(i++), "value"}).has_error());
  }
  v1::Reply refused = run({"SET", "one-more", "v"});
  EXPECT_EQ(refused.error().code(), v1::OOM);
  EXPECT_NE(refused.error().message().find("maxmemory"), std::string::npos);
  EXPECT_EQ(run({"HSET", "h", "f", "v"}).error().code(), v1::OOM);
  EXPECT_EQ(run({"INCR", "n"}).error().code(), v1::OOM);
  EXPECT_EQ(run({"GET", "k0"}).value().bulk(), "value");
  EXPECT_EQ(run({"EXPIRE", "k0", "100"}).value().integer(), 1);
  EXPECT_EQ(run({"DEL", "k0", "k1"}).value().integer(), 2);
  EXPECT_EQ(run({"SET", "one-more", "v"}).value().status(), "OK");
}

TEST_F(ExecutorTest, Ping) {
  EXPECT_EQ(Run({"PING"}).value().status(), "PONG");
  EXPECT_EQ(BulkOf({"PING", "hi"}), "hi");
}

}  // namespace
}  // namespace slotcache::node
