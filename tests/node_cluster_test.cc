// A real slotcache-node routes by the cluster map it is given: MOVED (with
// the owner's address, id and epoch) for slots of other shards, READONLY
// for writes on a replica, replica reads only when the client allows them.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/slot.h"
#include "common/status.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/node_test_client.h"

namespace slotcache {
namespace {

using testing::Cmd;
using testing::NodeUnderTest;
using testing::Path;
using testing::ReplyText;

constexpr Path kAllPaths[] = {Path::kExecute, Path::kBatch, Path::kPipeline};

// A key whose slot is in [start, end].
std::string KeyInSlots(uint32_t start, uint32_t end) {
  for (int i = 0;; ++i) {
    std::string key = absl::StrCat("key", i);
    uint32_t slot = KeySlot(key);
    if (slot >= start && slot <= end) return key;
  }
}

std::unique_ptr<NodeUnderTest> StartNode(const std::string& node_id) {
  absl::StatusOr<std::unique_ptr<NodeUnderTest>> node =
      NodeUnderTest::Start({"--node_id=" + node_id, "--az=az-a"});
  EXPECT_TRUE(node.ok()) << node.status();
  return node.ok() ? *std::move(node) : nullptr;
}

void AddNode(v1::ClusterMap* map, const std::string& id,
             const std::string& address) {
  v1::NodeInfo* node = map->add_nodes();
  node->set_node_id(id);
  node->set_address(address);
}

// s1: slots 0..8191, primary n1, replica n3; s2: 8192..16383, primary n2
// (at `n2_address`), config_epoch 9.
v1::ClusterMap TwoShards(uint64_t version, const std::string& n1_address,
                         const std::string& n2_address) {
  v1::ClusterMap map;
  map.set_cluster_id("test");
  map.set_version(version);
  AddNode(&map, "n1", n1_address);
  AddNode(&map, "n2", n2_address);
  AddNode(&map, "n3", "127.0.0.1:3");
  v1::ShardInfo* s1 = map.add_shards();
  s1->set_shard_id("s1");
  s1->add_slots()->set_end(8191);
  s1->set_primary_node_id("n1");
  s1->add_replica_node_ids("n3");
  s1->set_config_epoch(4);
  v1::ShardInfo* s2 = map.add_shards();
  s2->set_shard_id("s2");
  v1::SlotRange* range = s2->add_slots();
  range->set_start(8192);
  range->set_end(kNumSlots - 1);
  s2->set_primary_node_id("n2");
  s2->set_config_epoch(9);
  return map;
}

absl::StatusOr<uint64_t> Apply(NodeUnderTest* node, const v1::ClusterMap& map) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  v1::ApplyClusterMapResponse response;
  grpc::Status status =
      node->admin()->ApplyClusterMap(&context, map, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response.cluster_map_version();
}

v1::ClusterMap GetMap(NodeUnderTest* node) {
  grpc::ClientContext context;
  v1::ClusterMap map;
  EXPECT_TRUE(node->cache()
                  ->GetClusterMap(&context, v1::GetClusterMapRequest(), &map)
                  .ok());
  return map;
}

v1::NodeStatus GetStatus(NodeUnderTest* node) {
  grpc::ClientContext context;
  v1::NodeStatus status;
  EXPECT_TRUE(node->admin()
                  ->GetNodeStatus(&context, v1::GetNodeStatusRequest(), &status)
                  .ok());
  return status;
}

TEST(NodeClusterTest, StandaloneNodeReportsAOneShardMapNamingItself) {
  auto node = StartNode("n1");
  ASSERT_NE(node, nullptr);
  v1::ClusterMap map = GetMap(node.get());
  EXPECT_EQ(map.version(), 0u);
  ASSERT_EQ(map.shards_size(), 1);
  EXPECT_EQ(map.shards(0).slots(0).end(), kNumSlots - 1);
  ASSERT_EQ(map.nodes_size(), 1);
  EXPECT_EQ(map.nodes(0).node_id(), "n1");
  EXPECT_EQ(map.nodes(0).address(), node->address());
  EXPECT_EQ(map.nodes(0).az(), "az-a");
  v1::NodeStatus status = GetStatus(node.get());
  EXPECT_EQ(status.node_id(), "n1");
  EXPECT_EQ(status.address(), node->address());
  EXPECT_EQ(status.role(), v1::PRIMARY);
  EXPECT_EQ(status.cluster_map_version(), 0u);
}

TEST(NodeClusterTest, SlotsGivenToAnotherNodeAnswerMovedWithOwnerAndEpoch) {
  auto node = StartNode("n1");
  ASSERT_NE(node, nullptr);
  std::string ours = KeyInSlots(0, 8191);
  std::string theirs = KeyInSlots(8192, kNumSlots - 1);
  ASSERT_EQ(node->Run1(Path::kExecute, Cmd({"SET", theirs, "before"}))
                .value()
                .status(),
            "OK");

  absl::StatusOr<uint64_t> applied =
      Apply(node.get(), TwoShards(1, node->address(), "127.0.0.1:2"));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 1u);

  for (Path path : kAllPaths) {
    SCOPED_TRACE(testing::PathName(path));
    EXPECT_EQ(node->Run1(path, Cmd({"SET", ours, "v"})).value().status(), "OK");
    for (const v1::Command& command :
         {Cmd({"GET", theirs}), Cmd({"SET", theirs, "v"})}) {
      v1::Reply reply = node->Run1(path, command);
      ASSERT_TRUE(reply.has_error()) << ReplyText(reply);
      EXPECT_EQ(reply.error().code(), v1::MOVED);
      EXPECT_EQ(reply.error().redirect().slot(), KeySlot(theirs));
      EXPECT_EQ(reply.error().redirect().address(), "127.0.0.1:2");
      EXPECT_EQ(reply.error().redirect().node_id(), "n2");
      EXPECT_EQ(reply.error().redirect().config_epoch(), 9u);
    }
  }
  EXPECT_EQ(GetMap(node.get()).version(), 1u);
  v1::NodeStatus status = GetStatus(node.get());
  EXPECT_EQ(status.cluster_map_version(), 1u);
  EXPECT_EQ(status.shard_id(), "s1");
  EXPECT_EQ(status.role(), v1::PRIMARY);
}

TEST(NodeClusterTest, OlderMapsAreIgnoredAndMalformedOnesRefused) {
  auto node = StartNode("n1");
  ASSERT_NE(node, nullptr);
  ASSERT_EQ(*Apply(node.get(), TwoShards(5, node->address(), "127.0.0.1:2")),
            5u);
  EXPECT_EQ(*Apply(node.get(), TwoShards(4, "127.0.0.1:9", "127.0.0.1:9")), 5u);
  v1::ClusterMap overlapping = TwoShards(6, node->address(), "127.0.0.1:2");
  overlapping.mutable_shards(1)->mutable_slots(0)->set_start(100);
  absl::StatusOr<uint64_t> refused = Apply(node.get(), overlapping);
  EXPECT_EQ(ErrorCodeOf(refused.status()), v1::INVALID_ARGUMENT);
  EXPECT_NE(refused.status().message().find("exactly one owner"),
            std::string::npos)
      << refused.status();
  EXPECT_EQ(GetMap(node.get()).version(), 5u);
}

TEST(NodeClusterTest, ReplicaRefusesWritesAndServesReadsOnlyWhenAllowed) {
  auto node = StartNode("n3");
  ASSERT_NE(node, nullptr);
  ASSERT_TRUE(
      Apply(node.get(), TwoShards(1, "127.0.0.1:1", "127.0.0.1:2")).ok());
  std::string key = KeyInSlots(0, 8191);
  v1::RequestOptions replica_reads;
  replica_reads.set_allow_replica_read(true);
  for (Path path : kAllPaths) {
    SCOPED_TRACE(testing::PathName(path));
    v1::Reply write = node->Run1(path, Cmd({"SET", key, "v"}), replica_reads);
    EXPECT_EQ(write.error().code(), v1::READONLY) << ReplyText(write);
    EXPECT_EQ(write.error().redirect().address(), "127.0.0.1:1");

    v1::Reply read = node->Run1(path, Cmd({"GET", key}), replica_reads);
    EXPECT_FALSE(read.has_error()) << ReplyText(read);
    EXPECT_TRUE(read.value().nil());

    v1::Reply primary_read = node->Run1(path, Cmd({"GET", key}));
    EXPECT_EQ(primary_read.error().code(), v1::MOVED)
        << ReplyText(primary_read);
    EXPECT_EQ(primary_read.error().redirect().address(), "127.0.0.1:1");
    EXPECT_EQ(primary_read.error().redirect().config_epoch(), 4u);
  }
  EXPECT_EQ(node->Run1(Path::kExecute, Cmd({"FLUSHALL"})).error().code(),
            v1::READONLY);
  EXPECT_EQ(GetStatus(node.get()).role(), v1::REPLICA);
}

}  // namespace
}  // namespace slotcache
