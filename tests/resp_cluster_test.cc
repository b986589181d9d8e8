// Redis Cluster clients against a real 3 x (1+1) slotcache cluster (a
// coordinator and 6 nodes, each with a RESP port): redis-cli -c follows
// MOVED to the nodes' RESP addresses from any entry node, CLUSTER SLOTS /
// NODES describe the cluster with RESP addresses, `redis-cli --cluster
// check` passes, `redis-benchmark --cluster` runs without errors, and
// replicas serve reads after READONLY.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "gtest/gtest.h"
#include "tests/cluster_harness.h"
#include "tests/resp_client.h"

namespace slotcache::testing {
namespace {

class RespClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new TestCluster();
    absl::Status created = cluster_->StartAndCreate(6, 3, 1);
    ASSERT_TRUE(created.ok()) << created;
    absl::StatusOr<v1::ClusterMap> map = cluster_->Describe();
    ASSERT_TRUE(map.ok()) << map.status();
    map_ = new v1::ClusterMap(*map);
  }
  static void TearDownTestSuite() {
    delete map_;
    delete cluster_;
  }

  void SetUp() override {
    ASSERT_EQ(access(kRedisCli, X_OK), 0)
        << kRedisCli << " is missing: run deploy/setup.sh (redis-tools)";
    ASSERT_NE(map_, nullptr);
  }

  static const v1::NodeInfo* Node(const std::string& id) {
    for (const v1::NodeInfo& n : map_->nodes()) {
      if (n.node_id() == id) return &n;
    }
    return nullptr;
  }
  // The RESP address of the primary owning `slot`.
  static std::string OwnerOf(uint32_t slot) {
    for (const v1::ShardInfo& s : map_->shards()) {
      for (const v1::SlotRange& r : s.slots()) {
        if (slot >= r.start() && slot <= r.end()) {
          return Node(s.primary_node_id())->resp_address();
        }
      }
    }
    return "";
  }

  static std::string Trimmed(absl::StatusOr<std::string> out) {
    EXPECT_TRUE(out.ok()) << out.status();
    std::string s = out.ok() ? *out : "";
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  static TestCluster* cluster_;
  static v1::ClusterMap* map_;
};

TestCluster* RespClusterTest::cluster_ = nullptr;
v1::ClusterMap* RespClusterTest::map_ = nullptr;

TEST_F(RespClusterTest, EveryNodeRegisteredItsRespAddress) {
  std::set<std::string> want;
  for (int i = 0; i < cluster_->node_count(); ++i) {
    want.insert(cluster_->node_resp_address(i));
  }
  std::set<std::string> got;
  for (const v1::NodeInfo& n : map_->nodes()) got.insert(n.resp_address());
  EXPECT_EQ(got, want);
}

TEST_F(RespClusterTest, EveryKeyIsReadableFromAnyEntryNode) {
  constexpr int kKeys = 60;
  const std::string dir = NewTempDir("resp-cluster");
  {
    std::ofstream sets(dir + "/set.txt");
    for (int i = 0; i < kKeys; ++i)
      sets << "SET key:" << i << " v" << i << "\n";
    std::ofstream gets(dir + "/get.txt");
    for (int i = 0; i < kKeys; ++i) gets << "GET key:" << i << "\n";
  }
  std::string want_gets;
  for (int i = 0; i < kKeys; ++i) absl::StrAppend(&want_gets, "v", i, "\n");
  // redis-cli -c reading commands from a file; its "-> Redirected to slot
  // [N] located at host:port" notes (one per MOVED it followed) are
  // dropped, the replies kept.
  auto cli = [&](int entry, const std::string& file) {
    const std::string resp = cluster_->node_resp_address(entry);
    const size_t colon = resp.rfind(':');
    return Shell(absl::StrCat(kRedisCli, " -c -h ", resp.substr(0, colon),
                              " -p ", resp.substr(colon + 1), " < ", dir, "/",
                              file,
                              " 2>&1 | grep -v '^-> Redirected to slot'"));
  };
  absl::StatusOr<std::string> set = cli(0, "set.txt");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(
      *set, std::string() + [&] {
        std::string s;
        for (int i = 0; i < kKeys; ++i) s += "OK\n";
        return s;
      }());
  for (int entry = 0; entry < cluster_->node_count(); ++entry) {
    absl::StatusOr<std::string> got = cli(entry, "get.txt");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want_gets) << "entry node " << entry;
  }
}

TEST_F(RespClusterTest, MovedNamesTheOwnersRespAddress) {
  auto c = RawConnection::Connect(cluster_->node_resp_address(0));
  ASSERT_TRUE(c.ok()) << c.status();
  int moved = 0;
  for (int i = 0; i < 30; ++i) {
    const std::string key = absl::StrCat("probe:", i);
    ASSERT_TRUE((*c)->Send(Multibulk({"GET", key})).ok());
    const std::string owner = OwnerOf(KeySlot(key));
    const std::string line =
        absl::StrCat("-MOVED ", KeySlot(key), " ", owner, "\r\n");
    const std::string reply = (*c)->ReadExactly(5);
    if (reply == "$-1\r\n") continue;  // Served here.
    EXPECT_EQ(reply + (*c)->ReadExactly(line.size() - 5), line);
    ++moved;
  }
  EXPECT_GT(moved, 0);
}

TEST_F(RespClusterTest, ClusterSlotsAndNodesReportRespAddresses) {
  const std::string entry = cluster_->node_resp_address(1);
  const std::string slots = Trimmed(RedisCli(entry, {"CLUSTER", "SLOTS"}));
  const std::string nodes = Trimmed(RedisCli(entry, {"CLUSTER", "NODES"}));
  for (int i = 0; i < cluster_->node_count(); ++i) {
    const std::string resp = cluster_->node_resp_address(i);
    EXPECT_TRUE(absl::StrContains(slots, resp.substr(resp.rfind(':') + 1)))
        << slots;
    EXPECT_TRUE(absl::StrContains(nodes, resp + "@")) << nodes;
  }
  EXPECT_EQ(std::count(nodes.begin(), nodes.end(), '\n') + 1, 6) << nodes;
  EXPECT_TRUE(absl::StrContains(nodes, "myself,")) << nodes;
  const std::string info = Trimmed(RedisCli(entry, {"CLUSTER", "INFO"}));
  EXPECT_TRUE(absl::StrContains(info, "cluster_state:ok")) << info;
  EXPECT_TRUE(absl::StrContains(info, "cluster_size:3")) << info;
}

TEST_F(RespClusterTest, RedisCliClusterCheckPasses) {
  const std::string entry = cluster_->node_resp_address(2);
  absl::StatusOr<std::string> out = Shell(
      absl::StrCat(kRedisCli, " --cluster check ", entry, "; echo exit=$?"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(absl::StrContains(*out,
                                "[OK] All nodes agree about slots "
                                "configuration."))
      << *out;
  EXPECT_TRUE(absl::StrContains(*out, "[OK] All 16384 slots covered.")) << *out;
  EXPECT_TRUE(absl::StrContains(*out, "exit=0")) << *out;
}

// redis-benchmark in cluster mode learns the slots from CLUSTER NODES and
// sends each key to its primary: every request must succeed.
TEST_F(RespClusterTest, RedisBenchmarkClusterModeRunsWithoutErrors) {
  ASSERT_EQ(access(kRedisBenchmark, X_OK), 0)
      << kRedisBenchmark << " is missing: run deploy/setup.sh (redis-tools)";
  const std::string entry = cluster_->node_resp_address(1);
  const size_t colon = entry.rfind(':');
  absl::StatusOr<std::string> out =
      Shell(absl::StrCat(
                kRedisBenchmark, " --cluster -h ", entry.substr(0, colon),
                " -p ", entry.substr(colon + 1),
                " -t set,get -n 4000 -c 8 -r 10000 --csv 2>&1; echo exit=$?"),
            absl::Seconds(60));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(absl::StrContains(*out, "\"SET\",")) << *out;
  EXPECT_TRUE(absl::StrContains(*out, "\"GET\",")) << *out;
  EXPECT_FALSE(absl::StrContains(*out, "rror")) << *out;
  EXPECT_TRUE(absl::StrContains(*out, "exit=0")) << *out;
  std::cerr << *out;
}

TEST_F(RespClusterTest, ReplicaServesReadsAfterReadonly) {
  // A shard's replica and a key of that shard.
  const v1::ShardInfo& shard = map_->shards(0);
  ASSERT_GT(shard.replica_node_ids_size(), 0);
  const std::string replica = Node(shard.replica_node_ids(0))->resp_address();
  const std::string primary = Node(shard.primary_node_id())->resp_address();
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    const std::string k = absl::StrCat("replicated:", i);
    if (OwnerOf(KeySlot(k)) == primary) key = k;
  }
  ASSERT_EQ(Trimmed(RedisCli(primary, {"SET", key, "hello"})), "OK");
  auto c = RawConnection::Connect(replica);
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string moved =
      absl::StrCat("-MOVED ", KeySlot(key), " ", primary, "\r\n");
  // Without READONLY a replica redirects reads and writes to its primary.
  ASSERT_TRUE((*c)->Send(Multibulk({"GET", key})).ok());
  EXPECT_EQ((*c)->ReadExactly(moved.size()), moved);
  ASSERT_TRUE((*c)->Send(Multibulk({"SET", key, "x"})).ok());
  EXPECT_EQ((*c)->ReadExactly(moved.size()), moved);
  ASSERT_TRUE((*c)->Send(Multibulk({"READONLY"})).ok());
  ASSERT_EQ((*c)->ReadExactly(5), "+OK\r\n");
  // Replication is asynchronous: poll until the replica has the write.
  absl::Status replicated = PollUntil(
      [&] {
        if (!(*c)->Send(Multibulk({"GET", key})).ok()) return false;
        const std::string head = (*c)->ReadExactly(4);
        if (head == "$5\r\n") return (*c)->ReadExactly(7) == "hello\r\n";
        (*c)->ReadExactly(1);  // The rest of "$-1\r\n".
        return false;
      },
      absl::Seconds(10), "the replica to serve the key");
  EXPECT_TRUE(replicated.ok()) << replicated;
}

// ioredis comes from the npm registry into a cache folder under the home
// directory, installed by the first run and reused by later ones. Skipped
// only when node/npm are missing (deploy/setup.sh installs them).
TEST_F(RespClusterTest, IoredisClusterClientWorks) {
  absl::StatusOr<std::string> modules = IoredisModules();
  if (absl::IsFailedPrecondition(modules.status())) {
    GTEST_SKIP() << modules.status();
  }
  ASSERT_TRUE(modules.ok()) << modules.status();
  absl::StatusOr<std::string> out =
      Shell(absl::StrCat("NODE_PATH=", *modules, " node ",
                         RunfilePath("tests/ioredis/cluster_smoke.js"), " ",
                         cluster_->node_resp_address(0), " 2>&1"),
            absl::Seconds(60));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "ok\n");
}

}  // namespace
}  // namespace slotcache::testing
