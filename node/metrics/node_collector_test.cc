// NodeCollector over a real store and a standalone ClusterState.
#include "node/metrics/node_collector.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/cluster/cluster_state.h"
#include "node/storage/store.h"
#include "prometheus/text_serializer.h"

namespace slotcache::node::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(NodeCollectorTest, ReportsKeyspaceSlotsAndRoleAtScrapeTime) {
  storage::Store store;
  ClusterState cluster({"n1", "127.0.0.1:1", "az-a"}, {});
  NodeCollectorSources sources;
  sources.store = &store;
  sources.cluster = &cluster;
  NodeCollector collector(sources);

  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store.Set(absl::StrCat("{big}", i), "v").ok());
  }
  ASSERT_TRUE(store.Set("alone", "v").ok());
  const std::string text =
      prometheus::TextSerializer().Serialize(collector.Collect());
  EXPECT_THAT(text, HasSubstr("slotcache_keys 4"));
  EXPECT_THAT(text, HasSubstr("slotcache_slots_with_keys 2"));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("slotcache_slot_keys{slot=\"",
                                           KeySlot("big"), "\"} 3")));
  EXPECT_THAT(text, HasSubstr("slotcache_memory_used_bytes "));
  EXPECT_THAT(text, HasSubstr("slotcache_cluster_map_version 0"));
  EXPECT_THAT(text, HasSubstr("slotcache_role{role=\"primary\"} 1"));
  // Sources not given are left out, not reported as zeros.
  EXPECT_THAT(text, Not(HasSubstr("slotcache_connected_clients")));
  EXPECT_THAT(text, Not(HasSubstr("slotcache_replication_offset")));
}

}  // namespace
}  // namespace slotcache::node::metrics
