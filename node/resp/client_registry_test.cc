#include "node/resp/client_registry.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace slotcache::node::resp {
namespace {

TEST(ClientRegistryTest, CountsLookupsAndBlockedClients) {
  ClientRegistry registry;
  registry.CountLookups(3, 2);
  registry.CountLookups(0, 1);
  EXPECT_EQ(registry.keyspace_hits(), 3u);
  EXPECT_EQ(registry.keyspace_misses(), 3u);
  registry.CountBlocked(1);
  registry.CountBlocked(1);
  registry.CountBlocked(-1);
  EXPECT_EQ(registry.blocked(), 1);
}

// Steady traffic for a bit over a second (no fixed sleep: a busy loop
// with a deadline) gives a positive rate no larger than what was counted.
TEST(ClientRegistryTest, InstantaneousOpsPerSecFollowsTraffic) {
  ClientRegistry registry;
  EXPECT_EQ(registry.InstantaneousOpsPerSec(), 0);
  const absl::Time end = absl::Now() + absl::Milliseconds(1200);
  uint64_t counted = 0;
  while (absl::Now() < end) {
    registry.CountCommands(10);
    counted += 10;
  }
  const int64_t rate = registry.InstantaneousOpsPerSec();
  EXPECT_GT(rate, 0);
  EXPECT_LE(static_cast<uint64_t>(rate), counted);
  EXPECT_EQ(registry.commands_processed(), counted);
}

}  // namespace
}  // namespace slotcache::node::resp
