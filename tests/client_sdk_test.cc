// The SDK against a real slotcache-node: every typed operation, the error
// paths (WRONGTYPE, OUT_OF_RANGE, OOM, size limits), multi-key splitting,
// async calls, automatic batching and the pattern helpers.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/sdk/client.h"
#include "client/sdk/patterns.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"

namespace slotcache {
namespace {

using testing::RunfilePath;
using testing::ServerProcess;
using testing::StartServer;

ServerProcess StartNode(const std::vector<std::string>& flags) {
  absl::StatusOr<ServerProcess> node =
      StartServer(RunfilePath("node/slotcache-node"), flags);
  EXPECT_TRUE(node.ok()) << node.status();
  return node.ok() ? std::move(*node) : ServerProcess();
}

std::unique_ptr<Client> Connect(const std::string& address) {
  ClientOptions options;
  options.seeds = {address};
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

// One node (with a small value limit) shared by the tests of this suite;
// each test uses its own keys.
class ClientSdkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_ = new ServerProcess(StartNode({"--max_value_bytes=1kb"}));
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(node_->address.empty());
    client_ = Connect(node_->address);
    ASSERT_NE(client_, nullptr);
  }

  static ServerProcess* node_;
  std::unique_ptr<Client> client_;
};

ServerProcess* ClientSdkTest::node_ = nullptr;

TEST_F(ClientSdkTest, StringsSetGetDelExistsWithOptions) {
  Client& c = *client_;
  EXPECT_EQ(*c.Get("s:missing"), std::nullopt);
  EXPECT_TRUE(*c.Set("s:a", "1"));
  EXPECT_EQ(**c.Get("s:a"), "1");

  SetOptions nx;
  nx.condition = SetOptions::Condition::kIfNotExists;
  EXPECT_FALSE(*c.Set("s:a", "2", nx));
  SetOptions xx;
  xx.condition = SetOptions::Condition::kIfExists;
  EXPECT_FALSE(*c.Set("s:none", "2", xx));
  EXPECT_TRUE(*c.Set("s:a", "3", xx));
  EXPECT_EQ(**c.Get("s:a"), "3");

  EXPECT_EQ(*c.Exists({"s:a", "s:none", "s:a"}), 2);
  EXPECT_EQ(*c.Del("s:a"), 1);
  EXPECT_EQ(*c.Del("s:a"), 0);
  EXPECT_EQ(*c.Get("s:a"), std::nullopt);
}

TEST_F(ClientSdkTest, TtlExpireAndKeepTtl) {
  Client& c = *client_;
  EXPECT_EQ(*c.Ttl("t:none"), -2);
  ASSERT_TRUE(*c.Set("t:k", "v"));
  EXPECT_EQ(*c.Ttl("t:k"), -1);
  EXPECT_TRUE(*c.Expire("t:k", absl::Seconds(100)));
  EXPECT_GT(*c.Ttl("t:k"), 90);
  SetOptions keep;
  keep.keep_ttl = true;
  ASSERT_TRUE(*c.Set("t:k", "w", keep));
  EXPECT_GT(*c.Ttl("t:k"), 90);
  ASSERT_TRUE(*c.Set("t:k", "x", SetOptions::WithTtl(absl::Seconds(50))));
  EXPECT_LE(*c.Ttl("t:k"), 50);
  EXPECT_FALSE(*c.Expire("t:none", absl::Seconds(5)));
  // A sub-second TTL expires for real.
  ASSERT_TRUE(
      *c.Set("t:short", "v", SetOptions::WithTtl(absl::Milliseconds(50))));
  ASSERT_TRUE(
      testing::PollUntil([&] { return *c.Get("t:short") == std::nullopt; },
                         absl::Seconds(10), "t:short to expire")
          .ok());
}

TEST_F(ClientSdkTest, CountersAndTheirErrors) {
  Client& c = *client_;
  EXPECT_EQ(*c.Incr("c:n"), 1);
  EXPECT_EQ(*c.IncrBy("c:n", 10), 11);
  EXPECT_EQ(*c.DecrBy("c:n", 5), 6);
  absl::StatusOr<double> f = c.IncrByFloat("c:f", 1.5);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_DOUBLE_EQ(*f, 1.5);
  ASSERT_TRUE(*c.Set("c:text", "abc"));
  EXPECT_EQ(ErrorCodeOf(c.Incr("c:text").status()), v1::OUT_OF_RANGE);
  ASSERT_TRUE(*c.Set("c:max", "9223372036854775807"));
  EXPECT_EQ(ErrorCodeOf(c.Incr("c:max").status()), v1::OUT_OF_RANGE);
}

TEST_F(ClientSdkTest, HashesAllOperations) {
  Client& c = *client_;
  EXPECT_EQ(*c.HSet("h:k", "a", "1"), 1);
  EXPECT_EQ(*c.HSet("h:k", {{"b", "2"}, {"c", "3"}, {"a", "9"}}), 2);
  EXPECT_EQ(**c.HGet("h:k", "a"), "9");
  EXPECT_EQ(*c.HGet("h:k", "zz"), std::nullopt);
  EXPECT_EQ(*c.HLen("h:k"), 3);
  absl::StatusOr<std::vector<std::optional<std::string>>> m =
      c.HMGet("h:k", {"b", "nope", "c"});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m,
            (std::vector<std::optional<std::string>>{"2", std::nullopt, "3"}));
  EXPECT_EQ(*c.HIncrBy("h:k", "n", 5), 5);
  EXPECT_EQ(*c.HDel("h:k", {"a", "nope"}), 1);
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> all =
      c.HGetAll("h:k");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)["n"], "5");
  EXPECT_TRUE(c.HGetAll("h:none")->empty());
}

TEST_F(ClientSdkTest, WrongTypeIsATypedError) {
  Client& c = *client_;
  ASSERT_TRUE(c.HSet("w:hash", "f", "v").ok());
  EXPECT_EQ(ErrorCodeOf(c.Get("w:hash").status()), v1::WRONGTYPE);
  ASSERT_TRUE(*c.Set("w:string", "v"));
  EXPECT_EQ(ErrorCodeOf(c.HGet("w:string", "f").status()), v1::WRONGTYPE);
  EXPECT_EQ(ErrorCodeOf(c.HSet("w:string", "f", "v").status()), v1::WRONGTYPE);
  EXPECT_EQ(c.stats().retries, 0u);
}

TEST_F(ClientSdkTest, ValueOverTheNodeLimitIsRejectedAndChangesNothing) {
  Client& c = *client_;
  ASSERT_TRUE(*c.Set("l:k", "small"));
  absl::StatusOr<bool> big = c.Set("l:k", std::string(2000, 'x'));
  EXPECT_EQ(ErrorCodeOf(big.status()), v1::INVALID_ARGUMENT) << big.status();
  EXPECT_EQ(**c.Get("l:k"), "small");
}

TEST_F(ClientSdkTest, MultiKeyCallsSpanSlotsTransparently) {
  Client& c = *client_;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::string> keys;
  for (int i = 0; i < 50; ++i) {
    keys.push_back(absl::StrCat("mk:", i));
    if (i % 2 == 0) pairs.emplace_back(keys.back(), absl::StrCat("v", i));
  }
  ASSERT_TRUE(c.MSet(pairs).ok());
  absl::StatusOr<std::vector<std::optional<std::string>>> got = c.MGet(keys);
  ASSERT_TRUE(got.ok()) << got.status();
  for (int i = 0; i < 50; ++i) {
    if (i % 2 == 0) {
      EXPECT_EQ((*got)[i], absl::StrCat("v", i));
    } else {
      EXPECT_EQ((*got)[i], std::nullopt);
    }
  }
  EXPECT_EQ(*c.Exists(keys), 25);
  EXPECT_EQ(*c.Del(keys), 25);
  // The generic Execute splits too.
  absl::StatusOr<v1::Value> mget =
      c.Execute(MakeCommand("MGET", {"mk:0", "mk:1"}));
  ASSERT_TRUE(mget.ok()) << mget.status();
  EXPECT_EQ(mget->array().values_size(), 2);
}

TEST_F(ClientSdkTest, GenericExecuteForOtherCommands) {
  Client& c = *client_;
  absl::StatusOr<v1::Value> pong = c.Execute(MakeCommand("PING"));
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(c.Execute(MakeCommand("APPEND", {"g:k", "ab"}))->integer(), 2);
  EXPECT_EQ(c.Execute(MakeCommand("APPEND", {"g:k", "cd"}))->integer(), 4);
  EXPECT_EQ(c.Execute(MakeCommand("STRLEN", {"g:k"}))->integer(), 4);
  absl::StatusOr<v1::Value> bad = c.Execute(MakeCommand("NOSUCHCOMMAND"));
  EXPECT_EQ(ErrorCodeOf(bad.status()), v1::INVALID_ARGUMENT);
}

TEST_F(ClientSdkTest, AsyncCallsWithFuturesAndCallbacks) {
  Client& c = *client_;
  std::vector<std::future<absl::StatusOr<bool>>> sets;
  for (int i = 0; i < 20; ++i) {
    sets.push_back(c.SetAsync(absl::StrCat("a:", i), absl::StrCat(i)));
  }
  for (auto& s : sets) ASSERT_TRUE(*s.get());
  std::atomic<int> correct{0};
  absl::Mutex mu;
  int done = 0;
  for (int i = 0; i < 20; ++i) {
    c.GetAsync(absl::StrCat("a:", i),
               [&, i](absl::StatusOr<std::optional<std::string>> v) {
                 correct += v.ok() && *v == absl::StrCat(i);
                 absl::MutexLock lock(&mu);
                 ++done;
               });
  }
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                      +[](int* n) { return *n == 20; }, &done),
                                  absl::Seconds(10)));
  EXPECT_EQ(correct.load(), 20);
  EXPECT_EQ(*c.IncrByAsync("a:n", 3).get(), 3);
  EXPECT_EQ(*c.HGetAsync("a:none", "f").get(), std::nullopt);
  EXPECT_EQ(*c.DelAsync("a:0").get(), 1);
}

TEST_F(ClientSdkTest, ConcurrentCallsAreCoalescedIntoFewerRpcs) {
  Client& c = *client_;
  const ClientStats before = c.stats();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&c, t] {
      std::vector<std::future<absl::StatusOr<bool>>> calls;
      for (int i = 0; i < kPerThread; ++i) {
        calls.push_back(c.SetAsync(absl::StrCat("b:", t, ":", i), "v"));
      }
      for (auto& call : calls) EXPECT_TRUE(*call.get());
    });
  }
  for (auto& t : threads) t.join();
  const ClientStats after = c.stats();
  const uint64_t commands = after.commands_sent - before.commands_sent;
  const uint64_t rpcs = after.rpcs_sent - before.rpcs_sent;
  EXPECT_EQ(commands, kThreads * kPerThread);
  // Four batches in flight at most, so most commands shared an RPC.
  EXPECT_LT(rpcs, commands / 4) << rpcs << " RPCs for " << commands;
}

TEST_F(ClientSdkTest, CacheAsideLoadsOnceForConcurrentMisses) {
  CacheAside cache(client_.get());
  std::atomic<int> loads{0};
  std::atomic<int> correct{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<std::string> v = cache.GetOrLoad(
          "ca:user:1",
          [&]() -> absl::StatusOr<std::string> {
            ++loads;
            absl::SleepFor(absl::Milliseconds(50));  // a slow query
            return std::string("alice");
          },
          absl::Minutes(5));
      correct += v.ok() && *v == "alice";
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads.load(), 1);
  EXPECT_EQ(correct.load(), 20);
  EXPECT_EQ(**client_->Get("ca:user:1"), "alice");
  EXPECT_GT(*client_->Ttl("ca:user:1"), 200);

  // Errors reach the caller and are not cached.
  absl::StatusOr<std::string> failed = cache.GetOrLoad(
      "ca:user:2",
      [] {
        return absl::StatusOr<std::string>(absl::UnavailableError("db down"));
      },
      absl::Minutes(5));
  EXPECT_TRUE(absl::IsUnavailable(failed.status()));
  EXPECT_EQ(*client_->Get("ca:user:2"), std::nullopt);
}

TEST_F(ClientSdkTest, WriteThroughWritesStoreThenCache) {
  WriteThrough writer(client_.get());
  std::string store;
  ASSERT_TRUE(writer
                  .Put(
                      "wt:k", "v1",
                      [&] {
                        store = "v1";
                        return absl::OkStatus();
                      },
                      absl::Minutes(1))
                  .ok());
  EXPECT_EQ(store, "v1");
  EXPECT_EQ(**client_->Get("wt:k"), "v1");
  absl::Status failed = writer.Put(
      "wt:k", "v2", [] { return absl::UnavailableError("db down"); },
      absl::Minutes(1));
  EXPECT_TRUE(absl::IsUnavailable(failed));
  EXPECT_EQ(**client_->Get("wt:k"), "v1");
  // The cache refuses the value (over the node's limit) after the store
  // took it: the stale cache entry is removed and the error reported.
  absl::Status cache_failed = writer.Put(
      "wt:k", std::string(2000, 'x'), [] { return absl::OkStatus(); },
      absl::Minutes(1));
  EXPECT_EQ(ErrorCodeOf(cache_failed), v1::INVALID_ARGUMENT);
  EXPECT_EQ(*client_->Get("wt:k"), std::nullopt);
}

TEST_F(ClientSdkTest, SessionStoreWithSlidingTtl) {
  SessionStore sessions(client_.get(), absl::Seconds(100));
  ASSERT_TRUE(sessions.Create("s1", {{"user", "alice"}}).ok());
  const std::string key = sessions.KeyOf("s1");
  ASSERT_TRUE(client_->Expire(key, absl::Seconds(10)).ok());
  ASSERT_TRUE(sessions.Set("s1", "cart", "2 items").ok());
  EXPECT_GT(*client_->Ttl(key), 90);  // refreshed by the access
  ASSERT_TRUE(client_->Expire(key, absl::Seconds(10)).ok());
  absl::StatusOr<std::optional<SessionStore::Fields>> got = sessions.Get("s1");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_EQ((**got)["user"], "alice");
  EXPECT_EQ((**got)["cart"], "2 items");
  EXPECT_GT(*client_->Ttl(key), 90);
  EXPECT_EQ(**sessions.GetField("s1", "user"), "alice");
  EXPECT_TRUE(*sessions.Touch("s1"));
  EXPECT_TRUE(*sessions.Destroy("s1"));
  EXPECT_EQ(*sessions.Get("s1"), std::nullopt);
  EXPECT_EQ(ErrorCodeOf(sessions.Set("s1", "f", "v")), v1::NO_SUCH_KEY);
  EXPECT_EQ(*client_->Exists({key}), 0);
}

TEST(ClientOomTest, WritesFailWithOomUnderNoevictionWhileReadsWork) {
  ServerProcess node =
      StartNode({"--maxmemory=200kb", "--maxmemory_policy=noeviction"});
  ASSERT_FALSE(node.address.empty());
  auto client = Connect(node.address);
  ASSERT_NE(client, nullptr);
  const std::string value(512, 'v');
  absl::Status oom;
  int written = 0;
  for (int i = 0; i < 10000 && oom.ok(); ++i) {
    absl::StatusOr<bool> s = client->Set(absl::StrCat("oom:", i), value);
    if (s.ok()) {
      ++written;
    } else {
      oom = s.status();
    }
  }
  ASSERT_FALSE(oom.ok()) << "no OOM after 10000 writes of 512 bytes";
  EXPECT_EQ(ErrorCodeOf(oom), v1::OOM) << oom;
  EXPECT_GT(written, 0);
  EXPECT_EQ(**client->Get("oom:0"), value);
  EXPECT_EQ(*client->Del("oom:0"), 1);
}

}  // namespace
}  // namespace slotcache
