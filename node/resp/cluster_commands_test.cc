#include "node/resp/cluster_commands.h"

#include <string>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace slotcache::node::resp {
namespace {

v1::ClusterMap OneShardWithReplica() {
  v1::ClusterMap map;
  map.set_version(2);
  v1::NodeInfo* p = map.add_nodes();
  p->set_node_id("aaaa");
  p->set_address("127.0.0.1:7001");
  p->set_resp_address("127.0.0.1:6379");
  v1::NodeInfo* r = map.add_nodes();
  r->set_node_id("bbbb");
  r->set_address("127.0.0.1:7002");  // No RESP address: gRPC one is shown.
  v1::ShardInfo* s = map.add_shards();
  s->set_shard_id("s1");
  s->add_slots()->set_end(16383);
  s->set_primary_node_id("aaaa");
  s->add_replica_node_ids("bbbb");
  s->set_config_epoch(4);
  return map;
}

TEST(RedisNodeIdTest, FortyHexDigitsStableAcrossCalls) {
  EXPECT_EQ(RedisNodeId("00ab"), std::string(36, '0') + "00ab");
  const std::string hashed = RedisNodeId("node-a");
  EXPECT_EQ(hashed.size(), 40u);
  EXPECT_EQ(hashed, RedisNodeId("node-a"));
  EXPECT_NE(hashed, RedisNodeId("node-b"));
  EXPECT_EQ(hashed.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(ClusterNodesTest, OneLinePerNodeWithRolesAndSlots) {
  const v1::ClusterMap map = OneShardWithReplica();
  ClusterContext ctx{&map, "aaaa", nullptr};
  std::vector<std::string> lines =
      absl::StrSplit(ClusterNodesText(ctx), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], RedisNodeId("aaaa") +
                          " 127.0.0.1:6379@7001 myself,master - 0 0 4 "
                          "connected 0-16383");
  EXPECT_EQ(lines[1], RedisNodeId("bbbb") + " 127.0.0.1:7002@7002 slave " +
                          RedisNodeId("aaaa") + " 0 0 4 connected");
}

TEST(HandleClusterTest, ShardsListsSlotsAndNodes) {
  const v1::ClusterMap map = OneShardWithReplica();
  ClusterContext ctx{&map, "aaaa", nullptr};
  std::string out;
  ReplyWriter w(&out, 3);
  absl::string_view args[] = {"CLUSTER", "SHARDS"};
  HandleCluster(args, ctx, &w);
  EXPECT_EQ(out.substr(0, 35),
            "*1\r\n%2\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n");
  EXPECT_NE(out.find("$4\r\nrole\r\n$7\r\nreplica\r\n"), std::string::npos);
}

TEST(HandleClusterTest, UnknownSubcommand) {
  const v1::ClusterMap map = OneShardWithReplica();
  ClusterContext ctx{&map, "aaaa", nullptr};
  std::string out;
  ReplyWriter w(&out, 2);
  absl::string_view args[] = {"CLUSTER", "FROB"};
  HandleCluster(args, ctx, &w);
  EXPECT_EQ(out.substr(0, 20), "-ERR unknown subcomm");
}

}  // namespace
}  // namespace slotcache::node::resp
