// slotcache::Client against in-process fake nodes: routing, redirects,
// retries, batching, multi-key splitting, read policy, async calls and the
// pattern helpers.
#include "client/sdk/client.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/sdk/fake_node.h"
#include "client/sdk/patterns.h"
#include "common/slot.h"
#include "common/status.h"
#include "gtest/gtest.h"

namespace slotcache {
namespace {

using testing::EvenMap;
using testing::FakeNode;
using testing::RedirectTo;

// A key whose slot is in [lo, hi].
std::string KeyInSlots(uint32_t lo, uint32_t hi, int n = 0) {
  for (int i = 0;; ++i) {
    std::string key = absl::StrCat("key-", i);
    uint32_t slot = KeySlot(key);
    if (slot >= lo && slot <= hi && n-- == 0) return key;
  }
}

std::unique_ptr<Client> ConnectTo(const std::string& seed,
                                  ClientOptions options = {}) {
  options.seeds = {seed};
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

TEST(ClientTest, StandaloneNodeServesEveryKey) {
  auto node = FakeNode::Start();
  auto client = ConnectTo(node->address());
  ASSERT_TRUE(*client->Set("a", "1"));
  EXPECT_EQ(**client->Get("a"), "1");
  EXPECT_EQ(*client->Get("missing"), std::nullopt);
  EXPECT_EQ(*client->Del("a"), 1);
  EXPECT_EQ(*client->Del("a"), 0);
}

TEST(ClientTest, SetNxReportsWhetherItWrote) {
  auto node = FakeNode::Start();
  auto client = ConnectTo(node->address());
  SetOptions nx;
  nx.condition = SetOptions::Condition::kIfNotExists;
  EXPECT_TRUE(*client->Set("k", "1", nx));
  EXPECT_FALSE(*client->Set("k", "2", nx));
  EXPECT_EQ(**client->Get("k"), "1");
}

TEST(ClientTest, RoutesEachKeyToItsSlotsOwner) {
  auto a = FakeNode::Start();
  auto b = FakeNode::Start();
  v1::ClusterMap map = EvenMap({a->address(), b->address()}, 1);
  a->SetClusterMap(map);
  auto client = ConnectTo(a->address());
  const std::string low = KeyInSlots(0, 8191);
  const std::string high = KeyInSlots(8192, 16383);
  ASSERT_TRUE(client->Set(low, "x").ok());
  ASSERT_TRUE(client->Set(high, "y").ok());
  EXPECT_TRUE(a->HasKey(low));
  EXPECT_FALSE(a->HasKey(high));
  EXPECT_TRUE(b->HasKey(high));
  EXPECT_EQ(client->stats().moved_redirects, 0u);
}

TEST(ClientTest, FollowsMovedAndLearnsTheNewOwner) {
  auto a = FakeNode::Start();
  auto b = FakeNode::Start();
  a->SetClusterMap(EvenMap({a->address()}, 1));
  v1::ClusterMap split = EvenMap({a->address(), b->address()}, 2, 2);
  b->SetClusterMap(split);
  const std::string b_address = b->address();
  a->SetInterceptor([b_address](const v1::Command& c) {
    uint32_t slot = KeySlot(c.args(0));
    return slot >= 8192 ? RedirectTo(v1::MOVED, slot, b_address, 2)
                        : v1::Error();
  });
  auto client = ConnectTo(a->address());
  const std::string high = KeyInSlots(8192, 16383);
  ASSERT_TRUE(client->Set(high, "v").ok());
  EXPECT_TRUE(b->HasKey(high));
  EXPECT_EQ(client->stats().moved_redirects, 1u);
  EXPECT_EQ(client->routing()->PrimaryFor(KeySlot(high)), b->address());
  // The map fetched from b (version 2) also moves other keys of b.
  ASSERT_TRUE(testing::PollUntilTrue(
      [&] { return client->routing()->version() == 2; }, absl::Seconds(10)));
  ASSERT_TRUE(client->Set(KeyInSlots(8192, 16383, 1), "w").ok());
  EXPECT_EQ(client->stats().moved_redirects, 1u);
}

TEST(ClientTest, GivesUpAfterBoundedRedirects) {
  auto a = FakeNode::Start();
  auto b = FakeNode::Start();
  const std::string a_address = a->address(), b_address = b->address();
  a->SetInterceptor([b_address](const v1::Command& c) {
    return RedirectTo(v1::MOVED, KeySlot(c.args(0)), b_address, 1);
  });
  b->SetInterceptor([a_address](const v1::Command& c) {
    return RedirectTo(v1::MOVED, KeySlot(c.args(0)), a_address, 1);
  });
  ClientOptions options;
  options.max_redirects = 3;
  auto client = ConnectTo(a->address(), options);
  absl::StatusOr<std::optional<std::string>> got = client->Get("ping-pong");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(ErrorCodeOf(got.status()), v1::MOVED);
  EXPECT_NE(got.status().message().find("gave up after 3 redirects"),
            std::string::npos)
      << got.status();
  EXPECT_EQ(client->stats().moved_redirects, 3u);
}

TEST(ClientTest, AskRedirectsOneRequestAndKeepsTheMap) {
  auto a = FakeNode::Start();
  auto b = FakeNode::Start();
  const std::string b_address = b->address();
  a->SetInterceptor([b_address](const v1::Command& c) {
    return c.args(0) == "migrating"
               ? RedirectTo(v1::ASK, KeySlot(c.args(0)), b_address, 1)
               : v1::Error();
  });
  auto client = ConnectTo(a->address());
  ASSERT_TRUE(client->Set("migrating", "v").ok());
  EXPECT_TRUE(b->HasKey("migrating"));
  EXPECT_EQ(client->stats().ask_redirects, 1u);
  EXPECT_EQ(client->routing()->PrimaryFor(KeySlot("migrating")), a->address());
  ASSERT_TRUE(client->Set("other", "v").ok());
  EXPECT_TRUE(a->HasKey("other"));
}

TEST(ClientTest, ReadOnlySendsTheWriteToTheNamedPrimaryOnce) {
  auto replica = FakeNode::Start();
  auto primary = FakeNode::Start();
  const std::string primary_address = primary->address();
  replica->SetInterceptor([primary_address](const v1::Command& c) {
    return c.name() == "SET" ? RedirectTo(v1::READONLY, KeySlot(c.args(0)),
                                          primary_address, 1)
                             : v1::Error();
  });
  auto client = ConnectTo(replica->address());
  ASSERT_TRUE(client->Set("k", "v").ok());
  EXPECT_TRUE(primary->HasKey("k"));
  EXPECT_FALSE(replica->HasKey("k"));
  EXPECT_EQ(client->stats().moved_redirects, 1u);
}

TEST(ClientTest, RetriesTryAgainThenSucceeds) {
  auto node = FakeNode::Start();
  auto failures = std::make_shared<std::atomic<int>>(3);
  node->SetInterceptor([failures](const v1::Command&) {
    v1::Error e;
    if (failures->fetch_sub(1) > 0) {
      e.set_code(v1::TRYAGAIN);
      e.set_message("slot paused");
      e.set_retry_after_ms(1);
    }
    return e;
  });
  auto client = ConnectTo(node->address());
  ASSERT_TRUE(client->Set("k", "v").ok());
  EXPECT_EQ(client->stats().retries, 3u);
}

TEST(ClientTest, TransientErrorsUntilTheDeadlineReturnTheLastError) {
  auto node = FakeNode::Start();
  node->SetInterceptor([](const v1::Command&) {
    v1::Error e;
    e.set_code(v1::CLUSTERDOWN);
    e.set_message("no lease");
    return e;
  });
  auto client = ConnectTo(node->address());
  CallOptions call;
  call.timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::Value> got =
      client->Execute(MakeCommand("GET", {"k"}), call);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(ErrorCodeOf(got.status()), v1::CLUSTERDOWN) << got.status();
  EXPECT_GT(client->stats().retries, 1u);
}

TEST(ClientTest, UnreachableNodeFailsWithUnavailableAtTheDeadline) {
  auto a = FakeNode::Start();
  // Slots 8192.. belong to a node nobody listens on.
  a->SetClusterMap(EvenMap({a->address(), "127.0.0.1:1"}, 1));
  ClientOptions options;
  options.default_timeout = absl::Milliseconds(400);
  auto client = ConnectTo(a->address(), options);
  absl::StatusOr<std::optional<std::string>> got =
      client->Get(KeyInSlots(8192, 16383));
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(absl::IsUnavailable(got.status()) ||
              absl::IsDeadlineExceeded(got.status()))
      << got.status();
  EXPECT_TRUE(client->Set(KeyInSlots(0, 8191), "fine").ok());
}

TEST(ClientTest, TypedErrorsAreReturnedNotRetried) {
  auto node = FakeNode::Start();
  node->SetInterceptor([](const v1::Command& c) {
    v1::Error e;
    if (c.args(0) == "hash") {
      e.set_code(v1::WRONGTYPE);
      e.set_message("WRONGTYPE");
    }
    return e;
  });
  auto client = ConnectTo(node->address());
  absl::StatusOr<std::optional<std::string>> got = client->Get("hash");
  EXPECT_EQ(ErrorCodeOf(got.status()), v1::WRONGTYPE);
  EXPECT_EQ(client->stats().retries, 0u);
  EXPECT_EQ(ErrorCodeOf(client->IncrBy("hash", 1).status()), v1::WRONGTYPE);
}

TEST(ClientTest, ConnectNamesTheSeedsWhenNoneAnswers) {
  ClientOptions options;
  options.seeds = {"127.0.0.1:1"};
  options.default_timeout = absl::Milliseconds(300);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(absl::IsUnavailable(client.status()));
  EXPECT_NE(client.status().message().find("127.0.0.1:1"), std::string::npos);
  EXPECT_FALSE(Client::Connect(ClientOptions()).ok());
}

TEST(ClientTest, ConcurrentCallsShareBatchRpcs) {
  auto node = FakeNode::Start();
  ClientOptions options;
  options.batching.max_outstanding_batches = 1;
  auto client = ConnectTo(node->address(), options);
  // The first call's batch is held at the node; everything submitted
  // meanwhile queues and must travel together in the next batch.
  node->HoldNextBatch();
  auto first = client->SetAsync("first", "v");
  ASSERT_TRUE(testing::PollUntilTrue([&] { return node->holding(); },
                                     absl::Seconds(10)));
  constexpr int kCalls = 100;
  std::vector<std::future<absl::StatusOr<bool>>> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(client->SetAsync(absl::StrCat("k", i), "v"));
  }
  node->Release();
  EXPECT_TRUE(*first.get());
  for (auto& call : calls) EXPECT_TRUE(*call.get());
  ClientStats stats = client->stats();
  EXPECT_EQ(stats.commands_sent, kCalls + 1u);
  EXPECT_EQ(stats.rpcs_sent, 2u);
  EXPECT_EQ(node->batches(), 2);
}

CallOptions WithReplicaAcks(int n) {
  CallOptions options;
  options.min_replica_acks = n;
  options.replica_ack_timeout = absl::Milliseconds(250);
  return options;
}

TEST(ClientTest, MinReplicaAcksTravelsWithWritesOnly) {
  auto node = FakeNode::Start();
  node->SetReplicaAcks(1);
  auto client = ConnectTo(node->address());
  ASSERT_TRUE(
      client->Execute(MakeCommand("SET", {"acked", "v"}), WithReplicaAcks(1))
          .ok());
  const v1::RequestOptions seen = node->OptionsSeenFor("acked");
  EXPECT_EQ(seen.min_replica_acks(), 1u);
  EXPECT_EQ(seen.replica_ack_timeout_ms(), 250u);
  // A read has nothing to wait for.
  ASSERT_TRUE(
      client->Execute(MakeCommand("GET", {"acked"}), WithReplicaAcks(1)).ok());
  EXPECT_EQ(node->OptionsSeenFor("acked").min_replica_acks(), 0u);
  ASSERT_TRUE(client->Set("plain", "v").ok());
  EXPECT_EQ(node->OptionsSeenFor("plain").min_replica_acks(), 0u);
}

TEST(ClientTest, FewerReplicaAcksThanAskedIsATypedErrorAndNotRetried) {
  auto node = FakeNode::Start();
  node->SetReplicaAcks(1);
  auto client = ConnectTo(node->address());
  absl::StatusOr<v1::Value> short_of_acks =
      client->Execute(MakeCommand("SET", {"k", "v"}), WithReplicaAcks(2));
  ASSERT_FALSE(short_of_acks.ok());
  EXPECT_EQ(ErrorCodeOf(short_of_acks.status()), v1::NOT_ENOUGH_REPLICA_ACKS);
  EXPECT_TRUE(absl::IsDeadlineExceeded(short_of_acks.status()));
  EXPECT_NE(short_of_acks.status().message().find("only 1 of the 2"),
            std::string::npos)
      << short_of_acks.status();
  // Applied once on the primary, not retried.
  EXPECT_EQ(node->commands(), 1);
  EXPECT_TRUE(node->HasKey("k"));
  EXPECT_TRUE(
      client->Execute(MakeCommand("SET", {"k", "v"}), WithReplicaAcks(1)).ok());
}

TEST(ClientTest, CallsWithDifferentAckRequirementsDoNotShareABatch) {
  auto node = FakeNode::Start();
  node->SetReplicaAcks(1);
  ClientOptions options;
  options.batching.max_outstanding_batches = 1;
  auto client = ConnectTo(node->address(), options);
  node->HoldNextBatch();
  auto first = client->SetAsync("first", "v");
  ASSERT_TRUE(testing::PollUntilTrue([&] { return node->holding(); },
                                     absl::Seconds(10)));
  // Queued meanwhile: plain, acked, plain runs.
  constexpr int kRun = 5;
  std::vector<std::future<absl::StatusOr<v1::Value>>> calls;
  for (const auto& [prefix, acks] : std::vector<std::pair<std::string, int>>{
           {"plain-a", 0}, {"acked", 1}, {"plain-b", 0}}) {
    for (int i = 0; i < kRun; ++i) {
      calls.push_back(client->ExecuteAsync(
          MakeCommand("SET", {absl::StrCat(prefix, i), "v"}),
          WithReplicaAcks(acks)));
    }
  }
  node->Release();
  EXPECT_TRUE(*first.get());
  for (auto& call : calls) EXPECT_TRUE(call.get().ok());
  for (int i = 0; i < kRun; ++i) {
    EXPECT_EQ(
        node->OptionsSeenFor(absl::StrCat("plain-a", i)).min_replica_acks(),
        0u);
    EXPECT_EQ(node->OptionsSeenFor(absl::StrCat("acked", i)).min_replica_acks(),
              1u);
    EXPECT_EQ(
        node->OptionsSeenFor(absl::StrCat("plain-b", i)).min_replica_acks(),
        0u);
  }
  // One batch per run: they still batch among themselves.
  EXPECT_EQ(node->batches(), 4);
}

TEST(ClientTest, BatchesTakeTurnsOverTheNodesConnections) {
  for (int connections : {1, 3}) {
    auto node = FakeNode::Start();
    ClientOptions options;
    options.batching.connections_per_node = connections;
    auto client = ConnectTo(node->address(), options);
    // One call at a time: one batch each, in turn over the connections.
    for (int i = 0; i < 6; ++i) {
      ASSERT_TRUE(client->Set(absl::StrCat("k", i), "v").ok());
    }
    EXPECT_EQ(node->batches(), 6);
    EXPECT_EQ(node->batch_peers(), connections);
  }
}

TEST(ClientTest, MultiKeyCallsAreSplitPerSlotAndMergedInOrder) {
  auto a = FakeNode::Start();
  auto b = FakeNode::Start();
  a->SetClusterMap(EvenMap({a->address(), b->address()}, 1));
  auto client = ConnectTo(a->address());
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) {
    keys.push_back(absl::StrCat("m", i));
    if (i % 3 != 0) pairs.emplace_back(keys.back(), absl::StrCat("v", i));
  }
  ASSERT_TRUE(client->MSet(pairs).ok());
  absl::StatusOr<std::vector<std::optional<std::string>>> got =
      client->MGet(keys);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), keys.size());
  for (int i = 0; i < 20; ++i) {
    if (i % 3 == 0) {
      EXPECT_EQ((*got)[i], std::nullopt) << i;
    } else {
      EXPECT_EQ((*got)[i], absl::StrCat("v", i)) << i;
    }
  }
  EXPECT_EQ(*client->Exists(keys), static_cast<int64_t>(pairs.size()));
  EXPECT_EQ(*client->Del(keys), static_cast<int64_t>(pairs.size()));
  EXPECT_GT(a->commands(), 0);
  EXPECT_GT(b->commands(), 0);
}

TEST(ClientTest, ReadPolicySendsReadsToReplicasAndWritesToPrimary) {
  auto primary = FakeNode::Start();
  auto replica = FakeNode::Start();
  v1::ClusterMap map = EvenMap({primary->address()}, 1);
  v1::NodeInfo* r = map.add_nodes();
  r->set_node_id("r");
  r->set_address(replica->address());
  r->set_az("az-b");
  r->set_role(v1::REPLICA);
  map.mutable_shards(0)->add_replica_node_ids("r");
  primary->SetClusterMap(map);

  ClientOptions options;
  options.read_policy = ReadPolicy::kSameAzReplica;
  options.az = "az-b";
  auto client = ConnectTo(primary->address(), options);
  ASSERT_TRUE(client->Set("k", "v").ok());
  EXPECT_TRUE(primary->HasKey("k"));
  EXPECT_FALSE(primary->last_allow_replica_read());
  EXPECT_EQ(*client->Get("k"), std::nullopt);  // the replica has no data
  EXPECT_TRUE(replica->last_allow_replica_read());
  const int replica_commands = replica->commands();

  CallOptions primary_read;
  primary_read.read_policy = ReadPolicy::kPrimary;
  absl::StatusOr<v1::Value> v =
      client->Execute(MakeCommand("GET", {"k"}), primary_read);
  EXPECT_EQ(v->bulk(), "v");
  EXPECT_EQ(replica->commands(), replica_commands);
}

TEST(ClientTest, AsyncCallsCompleteThroughCallbacksAndFutures) {
  auto node = FakeNode::Start();
  auto client = ConnectTo(node->address());
  absl::Notification done;
  absl::StatusOr<bool> set_result = false;
  client->SetAsync("k", "v", SetOptions(), [&](absl::StatusOr<bool> r) {
    set_result = r;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(*set_result);
  EXPECT_EQ(**client->GetAsync("k").get(), "v");
  EXPECT_EQ(*client->IncrByAsync("n", 5).get(), 5);
  EXPECT_EQ(*client->DelAsync("k").get(), 1);
  absl::Notification got;
  client->GetAsync("k", [&](absl::StatusOr<std::optional<std::string>> r) {
    EXPECT_EQ(*r, std::nullopt);
    got.Notify();
  });
  ASSERT_TRUE(got.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST(ClientTest, DestroyingTheClientCancelsPendingRetries) {
  auto node = FakeNode::Start();
  node->SetInterceptor([](const v1::Command&) {
    v1::Error e;
    e.set_code(v1::TRYAGAIN);
    e.set_retry_after_ms(200);
    return e;
  });
  auto client = ConnectTo(node->address());
  auto pending = client->GetAsync("k");
  ASSERT_TRUE(testing::PollUntilTrue(
      [&] { return client->stats().retries > 0; }, absl::Seconds(10)));
  client.reset();
  absl::StatusOr<std::optional<std::string>> r = pending.get();
  EXPECT_TRUE(absl::IsCancelled(r.status())) << r.status();
}

// ---- Patterns.

TEST(CacheAsideTest, ConcurrentMissesCallTheLoaderOnce) {
  auto node = FakeNode::Start();
  auto client = ConnectTo(node->address());
  CacheAside cache(client.get());
  std::atomic<int> loads{0};
  std::vector<std::thread> threads;
  std::atomic<int> correct{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<std::string> v = cache.GetOrLoad(
          "user:1",
          [&]() -> absl::StatusOr<std::string> {
            ++loads;
            absl::SleepFor(absl::Milliseconds(20));  // a slow database
            return std::string("alice");
          },
          absl::Minutes(1));
      correct += v.ok() && *v == "alice";
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads.load(), 1);
  EXPECT_EQ(cache.loads(), 1u);
  EXPECT_EQ(correct.load(), 16);
  EXPECT_TRUE(node->HasKey("user:1"));
}

TEST(CacheAsideTest, LoaderErrorsReachAllWaitersAndAreNotCached) {
  auto node = FakeNode::Start();
  auto client = ConnectTo(node->address());
  CacheAside cache(client.get());
  auto failing = []() -> absl::StatusOr<std::string> {
    return absl::UnavailableError("database down");
  };
  EXPECT_TRUE(absl::IsUnavailable(
      cache.GetOrLoad("k", failing, absl::Minutes(1)).status()));
  EXPECT_FALSE(node->HasKey("k"));
  absl::StatusOr<std::string> v = cache.GetOrLoad(
      "k", [] { return absl::StatusOr<std::string>("ok"); }, absl::Minutes(1));
  EXPECT_EQ(*v, "ok");
  EXPECT_EQ(cache.loads(), 2u);
}

TEST(WriteThroughTest, StoreFailureLeavesTheCacheUntouched) {
  auto node = FakeNode::Start();
  auto client = ConnectTo(node->address());
  ASSERT_TRUE(client->Set("k", "old").ok());
  WriteThrough writer(client.get());
  absl::Status s = writer.Put(
      "k", "new", [] { return absl::InternalError("disk full"); },
      absl::Minutes(1));
  EXPECT_EQ(s.message(), "disk full");
  EXPECT_EQ(**client->Get("k"), "old");
}

TEST(WriteThroughTest, CacheFailureAfterStoreDeletesTheKeyAndReports) {
  auto node = FakeNode::Start();
  auto client = ConnectTo(node->address());
  ASSERT_TRUE(client->Set("k", "old").ok());
  node->SetInterceptor([](const v1::Command& c) {
    v1::Error e;
    if (c.name() == "SET") {
      e.set_code(v1::OOM);
      e.set_message("OOM command not allowed");
    }
    return e;
  });
  WriteThrough writer(client.get());
  bool stored = false;
  absl::Status s = writer.Put(
      "k", "new",
      [&] {
        stored = true;
        return absl::OkStatus();
      },
      absl::Minutes(1));
  EXPECT_TRUE(stored);
  EXPECT_EQ(ErrorCodeOf(s), v1::OOM);
  EXPECT_NE(s.message().find("cache key was deleted"), std::string::npos) << s;
  EXPECT_FALSE(node->HasKey("k"));
}

TEST(SessionStoreTest, LifecycleWithSlidingTtl) {
  auto node = FakeNode::Start();
  auto client = ConnectTo(node->address());
  SessionStore sessions(client.get(), absl::Minutes(30));
  EXPECT_EQ(sessions.KeyOf("abc"), "session:{abc}");
  ASSERT_TRUE(sessions.Create("abc", {{"user", "alice"}}).ok());
  ASSERT_TRUE(sessions.Set("abc", "cart", "3 items").ok());
  absl::StatusOr<std::optional<SessionStore::Fields>> got = sessions.Get("abc");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_EQ((**got)["user"], "alice");
  EXPECT_EQ((**got)["cart"], "3 items");
  EXPECT_EQ(**sessions.GetField("abc", "user"), "alice");
  EXPECT_TRUE(*sessions.Touch("abc"));
  EXPECT_TRUE(*sessions.Destroy("abc"));
  EXPECT_EQ(*sessions.Get("abc"), std::nullopt);
  EXPECT_FALSE(*sessions.Touch("abc"));
  EXPECT_EQ(ErrorCodeOf(sessions.Set("abc", "f", "v")), v1::NO_SUCH_KEY);
  EXPECT_FALSE(node->HasKey("session:{abc}"));
}

}  // namespace
}  // namespace slotcache
