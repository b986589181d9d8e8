// The SDK watches the coordinator's cluster map (CoordinatorMapSource):
// a real coordinator and real nodes; a primary crashes and comes back on a
// new port, the coordinator publishes the new address, and the client's
// routing follows without a single MOVED (or any call at all).
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/sdk/client.h"
#include "client/sdk/coordinator_map_source.h"
#include "common/slot.h"
#include "gtest/gtest.h"
#include "tests/cluster_harness.h"
#include "tests/harness/process.h"

namespace slotcache {
namespace {

using testing::TestCluster;

TEST(ClientMapWatchTest, RoutingFollowsTheCoordinatorsMapWithoutRedirects) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator().ok());
  ASSERT_TRUE(cluster.StartNodes(2).ok());
  absl::Status created = cluster.CreateCluster(2, 0);
  ASSERT_TRUE(created.ok()) << created;

  ClientOptions options;
  options.map_source =
      std::make_shared<CoordinatorMapSource>(cluster.coordinator_address());
  absl::StatusOr<std::unique_ptr<Client>> connected = Client::Connect(options);
  ASSERT_TRUE(connected.ok()) << connected.status();
  Client& client = **connected;

  // A key of node 0's shard.
  const std::string old_address = cluster.node_address(0);
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    std::string candidate = absl::StrCat("key:", i);
    if (client.routing()->PrimaryFor(KeySlot(candidate)) == old_address) {
      key = candidate;
    }
  }
  ASSERT_TRUE(client.Set(key, "before").ok());
  const uint64_t version_before = client.routing()->version();

  // The primary crashes and comes back on another port: the coordinator
  // publishes its new address.
  cluster.KillNode(0);
  ASSERT_TRUE(cluster.StartNode(0).ok());
  const std::string new_address = cluster.node_address(0);
  ASSERT_NE(new_address, old_address);

  // The client learns it from the watch alone: no call is made meanwhile.
  ASSERT_TRUE(testing::PollUntil(
                  [&] {
                    return client.routing()->PrimaryFor(KeySlot(key)) ==
                           new_address;
                  },
                  absl::Seconds(20), "the client to route to the new address")
                  .ok());
  EXPECT_GT(client.routing()->version(), version_before);
  EXPECT_GT(client.stats().watched_maps, 0u);

  // The restarted node lost its data (no persistence); writes reach it
  // directly (retried while it waits for its lease, never redirected).
  ASSERT_TRUE(testing::PollUntil([&] { return client.Set(key, "after").ok(); },
                                 absl::Seconds(20),
                                 "a write to the restarted primary")
                  .ok());
  EXPECT_EQ(client.Get(key)->value_or("<missing>"), "after");
  EXPECT_EQ(client.stats().moved_redirects, 0u);
  EXPECT_EQ(client.stats().ask_redirects, 0u);
}

}  // namespace
}  // namespace slotcache
