// Restarts in a real 3 x (1+2) cluster: the coordinator restarts with the
// same map and epochs while nodes keep serving, and a crashed node comes
// back with its persisted identity.
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "client/sdk/client.h"
#include "client/slotctl/coordinator_map_source.h"
#include "gtest/gtest.h"
#include "tests/cluster_harness.h"
#include "tests/harness/process.h"

namespace slotcache {
namespace {

using testing::TestCluster;

const v1::NodeInfo* FindNode(const v1::ClusterMap& map, const std::string& id) {
  for (const v1::NodeInfo& node : map.nodes()) {
    if (node.node_id() == id) return &node;
  }
  return nullptr;
}

class ClusterRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status created = cluster_.StartAndCreate(9, 3, 2);
    ASSERT_TRUE(created.ok()) << created;
  }

  // A client that learns the map from the nodes (works without the
  // coordinator).
  std::unique_ptr<Client> NodeSeededClient() {
    ClientOptions options;
    for (int i = 0; i < cluster_.node_count(); ++i) {
      options.seeds.push_back(cluster_.node_address(i));
    }
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  TestCluster cluster_;
};

TEST_F(ClusterRestartTest, NodesServeWhileCoordinatorIsDownAndMapSurvives) {
  absl::StatusOr<v1::ClusterMap> before = cluster_.Describe();
  ASSERT_TRUE(before.ok());
  std::unique_ptr<Client> client = NodeSeededClient();
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(client->Set(absl::StrCat("k", i), absl::StrCat("v", i)).ok());
  }

  ASSERT_TRUE(cluster_.StopCoordinator().ok());
  // docs/ARCHITECTURE.md §2.1: reads keep working with the last map, on every
  // shard.
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<std::optional<std::string>> value =
        client->Get(absl::StrCat("k", i));
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(value->value_or("<missing>"), absl::StrCat("v", i));
  }
  for (int i = 0; i < cluster_.node_count(); ++i) {
    absl::StatusOr<uint64_t> version = cluster_.NodeMapVersion(i);
    ASSERT_TRUE(version.ok());
    EXPECT_GE(*version, before->version()) << "node " << i << " kept its map";
  }

  ASSERT_TRUE(cluster_.StartCoordinator().ok());
  absl::StatusOr<v1::ClusterMap> after = cluster_.Describe();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->cluster_id(), before->cluster_id());
  EXPECT_GE(after->version(), before->version()) << "never goes backwards";
  ASSERT_EQ(after->shards_size(), before->shards_size());
  for (int s = 0; s < before->shards_size(); ++s) {
    EXPECT_EQ(after->shards(s).SerializeAsString(),
              before->shards(s).SerializeAsString())
        << "same slots, members and config_epoch for "
        << before->shards(s).shard_id();
  }
  // Nodes reconnect and the cluster is whole again; writes flow.
  std::string output;
  ASSERT_TRUE(testing::PollUntil(
                  [&] {
                    auto code = cluster_.Slotctl({"cluster", "check"}, &output);
                    return code.ok() && *code == 0;
                  },
                  absl::Seconds(20), "cluster check after the restart")
                  .ok())
      << output;
  EXPECT_EQ(cluster_.Describe()->nodes_size(), 9) << "no node registered twice";
  ASSERT_TRUE(testing::PollUntil(
                  [&] { return client->Set("after-restart", "x").ok(); },
                  absl::Seconds(10), "writes after the coordinator restart")
                  .ok());
}

TEST_F(ClusterRestartTest, CrashedNodeRejoinsWithItsIdentity) {
  absl::StatusOr<v1::ClusterMap> before = cluster_.Describe();
  ASSERT_TRUE(before.ok());
  // Node 4: find its id by its address.
  std::string id;
  for (const v1::NodeInfo& node : before->nodes()) {
    if (node.address() == cluster_.node_address(4)) id = node.node_id();
  }
  ASSERT_FALSE(id.empty());
  const v1::NodeInfo old = *FindNode(*before, id);

  cluster_.KillNode(4);
  ASSERT_TRUE(cluster_
                  .WaitForMap(
                      [&](const v1::ClusterMap& map) {
                        return FindNode(map, id)->health() == v1::FAILED;
                      },
                      "the killed node to be marked FAILED")
                  .ok());

  ASSERT_TRUE(cluster_.StartNode(4).ok());
  ASSERT_NE(cluster_.node_address(4), old.address()) << "new port";
  ASSERT_TRUE(cluster_
                  .WaitForMap(
                      [&](const v1::ClusterMap& map) {
                        const v1::NodeInfo* node = FindNode(map, id);
                        return node->health() == v1::HEALTHY &&
                               node->address() == cluster_.node_address(4);
                      },
                      "the node to rejoin under its old id")
                  .ok());
  absl::StatusOr<v1::ClusterMap> after = cluster_.Describe();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->nodes_size(), 9);
  const v1::NodeInfo* node = FindNode(*after, id);
  EXPECT_EQ(node->shard_id(), old.shard_id());
  // A primary is failed over while it is down (docs/FAILOVER.md) and
  // rejoins as a replica; a replica keeps its role.
  EXPECT_EQ(node->role(), v1::REPLICA);
  EXPECT_EQ(node->az(), old.az());
  // The failover may still be finishing: wait for a passing check.
  std::string output;
  absl::Status checked = testing::PollUntil(
      [&] {
        absl::StatusOr<int> code =
            cluster_.Slotctl({"cluster", "check"}, &output);
        return code.ok() && *code == 0;
      },
      absl::Seconds(20), "slotctl cluster check to pass");
  EXPECT_TRUE(checked.ok()) << checked << "\n" << output;
}

}  // namespace
}  // namespace slotcache
