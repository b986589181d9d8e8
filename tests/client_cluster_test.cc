// The SDK follows the cluster: two standalone slotcache-nodes are given
// maps through NodeAdminService.ApplyClusterMap; when the map changes under
// the client, MOVED redirects lead it to the new owner and it learns the
// new map.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/sdk/client.h"
#include "common/rpc.h"
#include "common/slot.h"
#include "common/status.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"
#include "tests/harness/process.h"

namespace slotcache {
namespace {

using testing::RunfilePath;
using testing::ServerProcess;
using testing::StartServer;

std::string KeyInSlots(uint32_t start, uint32_t end, int skip = 0) {
  for (int i = 0;; ++i) {
    std::string key = absl::StrCat("ck", i);
    uint32_t slot = KeySlot(key);
    if (slot >= start && slot <= end && skip-- == 0) return key;
  }
}

// n1 owns slots [0, split) and n2 the rest (split == kNumSlots: n1 owns
// everything and n2 is in the map without slots).
v1::ClusterMap Map(uint64_t version, uint32_t split, uint64_t epoch,
                   const std::string& n1, const std::string& n2) {
  v1::ClusterMap map;
  map.set_cluster_id("client-test");
  map.set_version(version);
  for (auto [id, address] : {std::pair{"n1", n1}, std::pair{"n2", n2}}) {
    v1::NodeInfo* node = map.add_nodes();
    node->set_node_id(id);
    node->set_address(address);
    node->set_role(v1::PRIMARY);
  }
  v1::ShardInfo* s1 = map.add_shards();
  s1->set_shard_id("s1");
  s1->set_primary_node_id("n1");
  s1->set_config_epoch(epoch);
  v1::SlotRange* r1 = s1->add_slots();
  r1->set_end(split - 1);
  if (split < kNumSlots) {
    v1::ShardInfo* s2 = map.add_shards();
    s2->set_shard_id("s2");
    s2->set_primary_node_id("n2");
    s2->set_config_epoch(epoch);
    v1::SlotRange* r2 = s2->add_slots();
    r2->set_start(split);
    r2->set_end(kNumSlots - 1);
  }
  return map;
}

absl::Status Apply(const std::string& address, const v1::ClusterMap& map) {
  auto admin = v1::NodeAdminService::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(20)));
  context.set_wait_for_ready(true);  // the machine may be slow to connect
  v1::ApplyClusterMapResponse response;
  return FromGrpcStatus(admin->ApplyClusterMap(&context, map, &response));
}

class ClientClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"n1", "n2"}) {
      absl::StatusOr<ServerProcess> node = StartServer(
          RunfilePath("node/slotcache-node"), {absl::StrCat("--node_id=", id)});
      ASSERT_TRUE(node.ok()) << node.status();
      nodes_.push_back(std::move(*node));
    }
  }
  const std::string& n1() const { return nodes_[0].address; }
  const std::string& n2() const { return nodes_[1].address; }
  absl::Status ApplyToBoth(const v1::ClusterMap& map) {
    absl::Status s = Apply(n1(), map);
    if (!s.ok()) return s;
    return Apply(n2(), map);
  }
  std::unique_ptr<Client> Connect(std::vector<std::string> seeds) {
    ClientOptions options;
    options.seeds = std::move(seeds);
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }
  // GET straight from one node, bypassing routing (nullopt on MOVED).
  std::optional<std::string> RawGet(const std::string& address,
                                    const std::string& key) {
    auto stub = v1::CacheService::NewStub(MakeChannel(address));
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(10)));
    v1::ExecuteRequest request;
    *request.mutable_command() = MakeCommand("GET", {key});
    v1::ExecuteResponse response;
    grpc::Status status = stub->Execute(&context, request, &response);
    if (!status.ok() || response.reply().has_error() ||
        !response.reply().value().has_bulk()) {
      return std::nullopt;
    }
    return response.reply().value().bulk();
  }

  std::vector<ServerProcess> nodes_;
};

TEST_F(ClientClusterTest, RoutesKeysToTheirShardsFromOneSeed) {
  absl::Status applied = ApplyToBoth(Map(1, 8192, 1, n1(), n2()));
  ASSERT_TRUE(applied.ok()) << applied;
  auto client = Connect({n1()});
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->routing()->version(), 1u);
  const std::string low = KeyInSlots(0, 8191);
  const std::string high = KeyInSlots(8192, kNumSlots - 1);
  ASSERT_TRUE(client->Set(low, "low").ok());
  ASSERT_TRUE(client->Set(high, "high").ok());
  EXPECT_EQ(RawGet(n1(), low), "low");
  EXPECT_EQ(RawGet(n2(), high), "high");
  EXPECT_EQ(client->stats().moved_redirects, 0u);
  // Multi-key calls spanning both nodes are split and merged.
  std::vector<std::string> keys;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 40; ++i) {
    keys.push_back(absl::StrCat("multi", i));
    pairs.emplace_back(keys.back(), absl::StrCat(i));
  }
  ASSERT_TRUE(client->MSet(pairs).ok());
  auto got = client->MGet(keys);
  ASSERT_TRUE(got.ok()) << got.status();
  for (int i = 0; i < 40; ++i) EXPECT_EQ((*got)[i], absl::StrCat(i));
  EXPECT_EQ(*client->Del(keys), 40);
}

TEST_F(ClientClusterTest, FollowsMovedAfterTheMapChangesUnderIt) {
  // Version 1: n1 owns everything. The client learns that.
  absl::Status applied = ApplyToBoth(Map(1, kNumSlots, 1, n1(), n2()));
  ASSERT_TRUE(applied.ok()) << applied;
  auto client = Connect({n1(), n2()});
  ASSERT_NE(client, nullptr);
  const std::string high = KeyInSlots(8192, kNumSlots - 1);
  ASSERT_TRUE(client->Set(high, "v1").ok());
  EXPECT_EQ(RawGet(n1(), high), "v1");

  // Version 2 hands the upper half to n2 (with a higher epoch). The
  // client's map is now stale: n1 answers MOVED.
  applied = ApplyToBoth(Map(2, 8192, 2, n1(), n2()));
  ASSERT_TRUE(applied.ok()) << applied;
  ASSERT_TRUE(client->Set(high, "v2").ok());
  EXPECT_EQ(RawGet(n2(), high), "v2");
  EXPECT_GE(client->stats().moved_redirects, 1u);
  EXPECT_EQ(client->routing()->PrimaryFor(KeySlot(high)), n2());
  // The full map is fetched from the redirecting node in the background.
  ASSERT_TRUE(
      testing::PollUntil([&] { return client->routing()->version() == 2; },
                         absl::Seconds(10), "client to learn map version 2")
          .ok());
  const uint64_t moved = client->stats().moved_redirects;
  ASSERT_TRUE(client->Set(KeyInSlots(8192, kNumSlots - 1, 1), "x").ok());
  EXPECT_EQ(client->stats().moved_redirects, moved);
}

TEST_F(ClientClusterTest, UnservedSlotsAreRetriedUntilTheDeadline) {
  // A map where no shard serves the upper half: CLUSTERDOWN, retried.
  v1::ClusterMap map = Map(1, kNumSlots, 1, n1(), n2());
  map.mutable_shards(0)->mutable_slots(0)->set_end(8191);
  absl::Status applied = ApplyToBoth(map);
  ASSERT_TRUE(applied.ok()) << applied;
  auto client = Connect({n1()});
  ASSERT_NE(client, nullptr);
  CallOptions call;
  call.timeout = absl::Milliseconds(500);
  absl::StatusOr<v1::Value> got = client->Execute(
      MakeCommand("GET", {KeyInSlots(8192, kNumSlots - 1)}), call);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(ErrorCodeOf(got.status()), v1::CLUSTERDOWN) << got.status();
  EXPECT_GT(client->stats().retries, 0u);
}

}  // namespace
}  // namespace slotcache
