#include "coordinator/coordinator_metrics.h"

#include <string>

#include "coordinator/coordinator_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace slotcache::coordinator {
namespace {

using ::testing::HasSubstr;

class CoordinatorMetricsTest : public CoordinatorTest {
 protected:
  std::string Scrape(const CoordinatorCollector& collector) {
    return prometheus::TextSerializer().Serialize(collector.Collect());
  }
};

TEST_F(CoordinatorMetricsTest, ReportsShardsNodesOperationsAndEvents) {
  RegisterNine();
  const v1::ClusterMap map = Create(3, 2);
  CoordinatorCollector collector(coordinator_.get());
  const std::string text = Scrape(collector);
  EXPECT_THAT(text,
              HasSubstr(absl::StrCat("slotcache_cluster_map_version ",
                                     coordinator_->CurrentMap()->version())));
  EXPECT_THAT(text, HasSubstr("slotcache_coordinator_shards 3"));
  const v1::ShardInfo& shard = map.shards(0);
  EXPECT_THAT(text, HasSubstr(absl::StrCat(
                        "slotcache_shard_config_epoch{shard=\"",
                        shard.shard_id(), "\"} ", shard.config_epoch())));
  EXPECT_THAT(text,
              HasSubstr(absl::StrCat("slotcache_shard_primary{node=\"",
                                     shard.primary_node_id(), "\",shard=\"",
                                     shard.shard_id(), "\"} 1")));
  EXPECT_THAT(text,
              HasSubstr("slotcache_operations_total{kind=\"create_cluster\","
                        "state=\"succeeded\"} 1"));
  EXPECT_THAT(text, HasSubstr("slotcache_coordinator_events_total{kind=\""));
  // A second scrape reads only new events and keeps the totals.
  const std::string again = Scrape(collector);
  EXPECT_THAT(again, HasSubstr("slotcache_coordinator_events_total{kind=\""));
  auto line = [](const std::string& t, const std::string& prefix) {
    size_t at = t.find(prefix);
    return at == std::string::npos ? "" : t.substr(at, t.find('\n', at) - at);
  };
  EXPECT_EQ(
      line(text, "slotcache_coordinator_events_total{kind=\"cluster_created\""),
      line(again,
           "slotcache_coordinator_events_total{kind=\"cluster_created\""));
}

}  // namespace
}  // namespace slotcache::coordinator
