// A coordinator and 9 real nodes form a 3 x (1+2) cluster: placement over
// AZs, every key served by the shard that owns its slot (via the SDK, which
// follows MOVED), MOVED from every other primary, and slotctl on top.
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "client/sdk/client.h"
#include "client/slotctl/coordinator_map_source.h"
#include "common/rpc.h"
#include "common/slot.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "proto/cache.grpc.pb.h"
#include "tests/cluster_harness.h"

namespace slotcache {
namespace {

using testing::TestCluster;

class ClusterFormationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new TestCluster();
    absl::Status created = cluster_->StartAndCreate(9, 3, 2);
    ASSERT_TRUE(created.ok()) << created;
    absl::StatusOr<v1::ClusterMap> map = cluster_->Describe();
    ASSERT_TRUE(map.ok()) << map.status();
    map_ = new v1::ClusterMap(*map);
  }
  static void TearDownTestSuite() {
    delete map_;
    delete cluster_;
  }

  // The primary address that owns `slot`.
  static std::string OwnerOf(uint32_t slot) {
    absl::flat_hash_map<std::string, std::string> address;
    for (const v1::NodeInfo& node : map_->nodes()) {
      address[node.node_id()] = node.address();
    }
    for (const v1::ShardInfo& shard : map_->shards()) {
      for (const v1::SlotRange& r : shard.slots()) {
        if (slot >= r.start() && slot <= r.end()) {
          return address[shard.primary_node_id()];
        }
      }
    }
    return "";
  }

  static TestCluster* cluster_;
  static v1::ClusterMap* map_;
};

TestCluster* ClusterFormationTest::cluster_ = nullptr;
v1::ClusterMap* ClusterFormationTest::map_ = nullptr;

TEST_F(ClusterFormationTest, PlacementPutsShardMembersInDifferentAzs) {
  ASSERT_EQ(map_->shards_size(), 3);
  ASSERT_EQ(map_->nodes_size(), 9);
  absl::flat_hash_map<std::string, const v1::NodeInfo*> nodes;
  for (const v1::NodeInfo& node : map_->nodes()) nodes[node.node_id()] = &node;
  std::set<std::string> primary_azs;
  for (const v1::ShardInfo& shard : map_->shards()) {
    std::set<std::string> azs = {nodes.at(shard.primary_node_id())->az()};
    primary_azs.insert(nodes.at(shard.primary_node_id())->az());
    ASSERT_EQ(shard.replica_node_ids_size(), 2);
    for (const std::string& r : shard.replica_node_ids()) {
      azs.insert(nodes.at(r)->az());
      EXPECT_EQ(nodes.at(r)->role(), v1::REPLICA);
    }
    EXPECT_EQ(azs.size(), 3u) << shard.shard_id();
    EXPECT_GT(shard.config_epoch(), 0u);
  }
  EXPECT_EQ(primary_azs.size(), 3u) << "one primary per AZ";
}

TEST_F(ClusterFormationTest, SdkRoutesEveryKeyToItsShard) {
  ClientOptions options;
  options.map_source = std::make_shared<slotctl::CoordinatorMapSource>(
      cluster_->coordinator_address());
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 300; ++i) {
    const std::string key = absl::StrCat("key:", i);
    ASSERT_TRUE((*client)->Set(key, absl::StrCat("v", i)).ok()) << key;
  }
  for (int i = 0; i < 300; ++i) {
    const std::string key = absl::StrCat("key:", i);
    absl::StatusOr<std::optional<std::string>> value = (*client)->Get(key);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(value->value_or("<missing>"), absl::StrCat("v", i));
  }

  // Each key is held by its owner; every other primary answers MOVED to
  // the owner with the owning shard's epoch.
  std::vector<std::string> primaries;
  for (const v1::ShardInfo& shard : map_->shards()) {
    primaries.push_back(OwnerOf(shard.slots(0).start()));
  }
  for (int i = 0; i < 300; i += 7) {
    const std::string key = absl::StrCat("key:", i);
    const std::string owner = OwnerOf(KeySlot(key));
    for (const std::string& primary : primaries) {
      auto stub = v1::CacheService::NewStub(MakeChannel(primary));
      grpc::ClientContext context;
      context.set_deadline(DeadlineIn(absl::Seconds(5)));
      v1::ExecuteRequest request;
      request.mutable_command()->set_name("GET");
      request.mutable_command()->add_args(key);
      v1::ExecuteResponse response;
      grpc::Status status = stub->Execute(&context, request, &response);
      v1::Error error = status.ok() ? response.reply().error()
                                    : ErrorOf(FromGrpcStatus(status));
      if (primary == owner) {
        EXPECT_EQ(error.code(), v1::ERROR_CODE_UNSPECIFIED) << error.message();
        EXPECT_EQ(response.reply().value().bulk(), absl::StrCat("v", i));
      } else {
        EXPECT_EQ(error.code(), v1::MOVED) << key << " at " << primary;
        EXPECT_EQ(error.redirect().address(), owner);
        EXPECT_EQ(error.redirect().slot(), KeySlot(key));
      }
    }
  }
}

TEST_F(ClusterFormationTest, SlotctlStatusCheckAndKeyCommands) {
  std::string output;
  absl::StatusOr<int> code = cluster_->Slotctl({"cluster", "check"}, &output);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << output;
  EXPECT_NE(output.find("[OK] All 16384 slots covered exactly once."),
            std::string::npos)
      << output;

  code = cluster_->Slotctl({"cluster", "status"}, &output);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << output;
  EXPECT_NE(output.find("shard-3"), std::string::npos) << output;

  code = cluster_->Slotctl({"set", "{user42}.name", "alice"}, &output);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << output;
  code = cluster_->Slotctl({"get", "{user42}.name"}, &output);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << output;
  EXPECT_EQ(output, "alice\n");
  code = cluster_->Slotctl({"--output=json", "del", "{user42}.name"}, &output);
  ASSERT_TRUE(code.ok());
  EXPECT_NE(output.find("\"value\": 1"), std::string::npos) << output;

  code = cluster_->Slotctl({"cluster", "create"}, &output);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 1) << "a second create is refused";
  EXPECT_NE(output.find("already exists"), std::string::npos) << output;
}

}  // namespace
}  // namespace slotcache
