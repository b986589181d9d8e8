#include "node/resp/command_handler.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "gtest/gtest.h"
#include "node/cluster/cluster_state.h"
#include "node/commands/executor.h"
#include "node/resp/cluster_commands.h"
#include "node/server/dispatcher.h"
#include "node/storage/store.h"

namespace slotcache::node::resp {
namespace {

// Two shards: s1 (slots 0..8191, primary node-a = this node, replica
// node-c) and s2 (8192..16383, primary node-b), with RESP addresses.
v1::ClusterMap TwoShardMap() {
  v1::ClusterMap map;
  map.set_version(1);
  const char* const nodes[][3] = {{"node-a", "10.0.0.1:7001", "10.0.0.1:6379"},
                                  {"node-b", "10.0.0.2:7001", "10.0.0.2:6379"},
                                  {"node-c", "10.0.0.3:7001", "10.0.0.3:6379"}};
  for (const auto& n : nodes) {
    v1::NodeInfo* info = map.add_nodes();
    info->set_node_id(n[0]);
    info->set_address(n[1]);
    info->set_resp_address(n[2]);
  }
  v1::ShardInfo* s1 = map.add_shards();
  s1->set_shard_id("s1");
  s1->add_slots()->set_end(8191);
  s1->set_primary_node_id("node-a");
  s1->add_replica_node_ids("node-c");
  s1->set_config_epoch(3);
  v1::ShardInfo* s2 = map.add_shards();
  s2->set_shard_id("s2");
  v1::SlotRange* r = s2->add_slots();
  r->set_start(8192);
  r->set_end(16383);
  s2->set_primary_node_id("node-b");
  s2->set_config_epoch(7);
  return map;
}

class CommandHandlerTest : public ::testing::Test {
 protected:
  explicit CommandHandlerTest(bool cluster_mode = false)
      : executor_(&store_),
        cluster_({"node-a", "10.0.0.1:7001", "az-a"}, {}),
        dispatcher_(&executor_, RequestLimits()),
        handler_(Options(cluster_mode)),
        round_(&cluster_) {
    session_.client.id = 7;
  }

  HandlerOptions Options(bool cluster_mode) {
    HandlerOptions options;
    options.dispatcher = &dispatcher_;
    options.cluster = &cluster_;
    options.store = &store_;
    options.clients = &clients_;
    options.cluster_mode = cluster_mode;
    return options;
  }

  // Runs one command; returns what goes on the wire.
  std::string Run(std::vector<std::string> words,
                  CommandHandler::Outcome* outcome = nullptr) {
    std::vector<absl::string_view> args(words.begin(), words.end());
    std::string out;
    ReplyWriter writer(&out, session_.client.protocol);
    CommandHandler::WaitRequest wait;
    round_.BeginRound();
    CommandHandler::Outcome o =
        handler_.Handle(args, &session_, &round_, &writer, &wait);
    if (outcome != nullptr) *outcome = o;
    return out;
  }

  storage::Store store_;
  CommandExecutor executor_;
  ClusterState cluster_;
  Dispatcher dispatcher_;
  ClientRegistry clients_;
  CommandHandler handler_;
  RoundContext round_;
  Session session_;
};

class ClusterModeTest : public CommandHandlerTest {
 protected:
  ClusterModeTest() : CommandHandlerTest(/*cluster_mode=*/true) {
    EXPECT_TRUE(cluster_.Apply(TwoShardMap()).ok());
  }
};

TEST_F(CommandHandlerTest, KeyspaceCommandsGoThroughTheDispatcher) {
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK\r\n");
  EXPECT_EQ(Run({"get", "k"}), "$1\r\nv\r\n");
  EXPECT_EQ(Run({"GET", "missing"}), "$-1\r\n");
  EXPECT_EQ(Run({"INCR", "k"}).substr(0, 44),
            "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"HSET", "h", "f", "1"}), ":1\r\n");
  EXPECT_EQ(Run({"GET", "h"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of "
            "value\r\n");
  EXPECT_EQ(Run({"NOSUCH"}).substr(0, 21), "-ERR unknown command ");
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
}

TEST_F(CommandHandlerTest, HelloThreeSwitchesToResp3Maps) {
  Run({"HSET", "h", "f", "v"});
  EXPECT_EQ(Run({"HGETALL", "h"}), "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
  const std::string hello = Run({"HELLO", "3"});
  EXPECT_EQ(hello.substr(0, 3), "%7\r");
  EXPECT_NE(hello.find("$4\r\nmode\r\n$10\r\nstandalone\r\n"),
            std::string::npos);
  EXPECT_EQ(session_.client.protocol, 3);
  EXPECT_EQ(Run({"HGETALL", "h"}), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
  EXPECT_EQ(Run({"GET", "nope"}), "_\r\n");
  EXPECT_EQ(Run({"HELLO", "4"}), "-NOPROTO unsupported protocol version\r\n");
  EXPECT_EQ(Run({"RESET"}), "+RESET\r\n");
  EXPECT_EQ(session_.client.protocol, 2);
}

TEST_F(CommandHandlerTest, HelloSetsTheClientName) {
  Run({"HELLO", "2", "AUTH", "default", "pw", "SETNAME", "app"});
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), "$3\r\napp\r\n");
}

TEST_F(CommandHandlerTest, ConnectionCommands) {
  EXPECT_EQ(Run({"ECHO", "hi"}), "$2\r\nhi\r\n");
  EXPECT_EQ(Run({"SELECT", "0"}), "+OK\r\n");
  EXPECT_EQ(Run({"SELECT", "1"}), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), "$-1\r\n");
  EXPECT_EQ(Run({"CLIENT", "SETNAME", "worker-1"}), "+OK\r\n");
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), "$8\r\nworker-1\r\n");
  EXPECT_EQ(Run({"CLIENT", "SETNAME", "a b"}).substr(0, 30),
            "-ERR Client names cannot conta");
  EXPECT_EQ(Run({"CLIENT", "ID"}), ":7\r\n");
  EXPECT_EQ(Run({"CLIENT", "NO-EVICT", "on"}), "+OK\r\n");
  EXPECT_EQ(Run({"ECHO"}),
            "-ERR wrong number of arguments for 'echo' command\r\n");
  CommandHandler::Outcome outcome;
  EXPECT_EQ(Run({"QUIT"}, &outcome), "+OK\r\n");
  EXPECT_EQ(outcome, CommandHandler::Outcome::kClose);
}

TEST_F(CommandHandlerTest, CommandDescribesBothTables) {
  EXPECT_EQ(Run({"COMMAND", "INFO", "get", "nosuch"}),
            "*2\r\n*6\r\n$3\r\nget\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:"
            "1\r\n$-1\r\n");
  const std::string mset = Run({"COMMAND", "INFO", "MSET"});
  EXPECT_NE(mset.find(":-3\r\n"), std::string::npos) << mset;
  EXPECT_NE(mset.find(":1\r\n:-1\r\n:2\r\n"), std::string::npos) << mset;
  const std::string count = Run({"COMMAND", "COUNT"});
  int64_t n = 0;
  ASSERT_TRUE(absl::SimpleAtoi(count.substr(1, count.size() - 3), &n)) << count;
  EXPECT_GT(n, 40);
  // Every command is documented (a map of name -> doc: 2 entries each).
  const std::string docs = Run({"COMMAND", "DOCS"});
  EXPECT_EQ(docs.substr(0, docs.find('\r')), absl::StrCat("*", 2 * n)) << n;
  const std::string get = Run({"COMMAND", "DOCS", "get", "nosuch"});
  EXPECT_TRUE(absl::StartsWith(get, "*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary"))
      << get;
  EXPECT_EQ(Run({"COMMAND", "DOCS", "nosuch"}), "*0\r\n");
}

TEST_F(CommandHandlerTest, StandaloneRefusesClusterCommands) {
  const std::string disabled =
      "-ERR This instance has cluster support disabled\r\n";
  EXPECT_EQ(Run({"CLUSTER", "SLOTS"}), disabled);
  EXPECT_EQ(Run({"READONLY"}), disabled);
  EXPECT_EQ(Run({"ASKING"}), disabled);
  EXPECT_NE(Run({"INFO", "cluster"}).find("cluster_enabled:0"),
            std::string::npos);
}

TEST_F(CommandHandlerTest, ConfigGetAndSetMaxmemory) {
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory", "10mb", "maxmemory-policy",
                 "allkeys-lru"}),
            "+OK\r\n");
  EXPECT_EQ(store_.Stats().maxmemory_bytes, 10u << 20);
  EXPECT_EQ(Run({"CONFIG", "GET", "maxmemory*"}),
            "*4\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"
            "$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n");
  // A bad pair changes nothing, also not the valid pair before it.
  EXPECT_EQ(
      Run({"CONFIG", "SET", "maxmemory", "1mb", "maxmemory-policy", "bogus"})
          .substr(0, 20),
      "-ERR CONFIG SET fail");
  EXPECT_EQ(store_.Stats().maxmemory_bytes, 10u << 20);
}

TEST_F(CommandHandlerTest, WaitWithoutReplicasAnswersZero) {
  EXPECT_EQ(Run({"WAIT", "1", "100"}), ":0\r\n");
  EXPECT_EQ(Run({"WAIT", "x", "100"}),
            "-ERR value is not an integer or out of range\r\n");
}

TEST_F(CommandHandlerTest, InfoHasRedisFieldNames) {
  Run({"SET", "k", "v"});
  const std::string info = Run({"INFO"});
  for (const char* field :
       {"redis_version:", "connected_clients:", "used_memory:",
        "maxmemory_policy:", "total_commands_processed:", "role:master",
        "db0:keys=1,expires=0"}) {
    EXPECT_NE(info.find(field), std::string::npos) << field;
  }
}

TEST_F(ClusterModeTest, MovedNamesTheOwnersRespAddress) {
  ASSERT_GE(KeySlot("foo"), 8192u);  // Owned by s2.
  EXPECT_EQ(Run({"GET", "foo"}),
            absl::StrCat("-MOVED ", KeySlot("foo"), " 10.0.0.2:6379\r\n"));
  ASSERT_LT(KeySlot("bar"), 8192u);
  EXPECT_EQ(Run({"SET", "bar", "1"}), "+OK\r\n");
  EXPECT_EQ(Run({"MGET", "foo", "bar"}),
            "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
}

// This node as the replica of s2 instead (node-c moved there).
class ClusterReplicaTest : public CommandHandlerTest {
 protected:
  ClusterReplicaTest() : CommandHandlerTest(/*cluster_mode=*/true) {
    v1::ClusterMap map = TwoShardMap();
    map.mutable_shards(0)->set_primary_node_id("node-c");
    map.mutable_shards(0)->clear_replica_node_ids();
    map.mutable_shards(1)->add_replica_node_ids("node-a");
    EXPECT_TRUE(cluster_.Apply(map).ok());
  }
};

TEST_F(ClusterReplicaTest, WritesAreMovedToThePrimaryLikeARedisReplica) {
  EXPECT_EQ(Run({"SET", "foo", "1"}),
            absl::StrCat("-MOVED ", KeySlot("foo"), " 10.0.0.2:6379\r\n"));
  // Reads too, until the client says READONLY; then they are served here.
  EXPECT_EQ(Run({"GET", "foo"}),
            absl::StrCat("-MOVED ", KeySlot("foo"), " 10.0.0.2:6379\r\n"));
  EXPECT_EQ(Run({"READONLY"}), "+OK\r\n");
  EXPECT_EQ(Run({"GET", "foo"}), "$-1\r\n");
  EXPECT_EQ(Run({"FLUSHALL"}),
            "-READONLY You can't write against a read only replica.\r\n");
}

TEST_F(ClusterModeTest, ReadOnlyAndReadWriteAreServed) {
  EXPECT_EQ(Run({"READONLY"}), "+OK\r\n");
  EXPECT_TRUE(session_.client.readonly);
  EXPECT_EQ(Run({"READWRITE"}), "+OK\r\n");
  EXPECT_FALSE(session_.client.readonly);
  EXPECT_EQ(Run({"ASKING"}), "+OK\r\n");
}

TEST_F(ClusterModeTest, ClusterCommandsDescribeTheMap) {
  EXPECT_EQ(Run({"CLUSTER", "KEYSLOT", "{user42}.cart"}),
            absl::StrCat(":", KeySlot("user42"), "\r\n"));
  EXPECT_EQ(Run({"CLUSTER", "MYID"}),
            "$40\r\n" + RedisNodeId("node-a") + "\r\n");
  const std::string slots = Run({"CLUSTER", "SLOTS"});
  EXPECT_EQ(slots.substr(0, 4), "*2\r\n");
  EXPECT_NE(slots.find("$8\r\n10.0.0.2\r\n:6379\r\n"), std::string::npos);
  EXPECT_NE(Run({"CLUSTER", "INFO"}).find("cluster_state:ok"),
            std::string::npos);
  Run({"SET", "bar", "1"});
  EXPECT_EQ(Run({"CLUSTER", "COUNTKEYSINSLOT", absl::StrCat(KeySlot("bar"))}),
            ":1\r\n");
  EXPECT_EQ(
      Run({"CLUSTER", "GETKEYSINSLOT", absl::StrCat(KeySlot("bar")), "10"}),
      "*1\r\n$3\r\nbar\r\n");
  EXPECT_EQ(Run({"CLUSTER", "COUNTKEYSINSLOT", "16384"}),
            "-ERR Invalid slot\r\n");
  EXPECT_EQ(Run({"SELECT", "1"}),
            "-ERR SELECT is not allowed in cluster mode\r\n");
}

}  // namespace
}  // namespace slotcache::node::resp
