#include "common/metrics/families.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace slotcache::metrics {
namespace {

using ::testing::HasSubstr;

std::string Text(const std::vector<prometheus::MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

TEST(FamiliesTest, GaugesAndCountersSerializeWithTypeAndLabels) {
  std::vector<prometheus::MetricFamily> out;
  AddGauge(&out, "slotcache_keys", "Keys held.", 42);
  AddCounter(&out, "slotcache_expired_keys_total", "Keys expired.", 7);
  prometheus::MetricFamily& f = AddFamily(
      &out, "slotcache_slot_keys", "Per slot.", prometheus::MetricType::Gauge);
  AddSample(f, 3, {{"slot", "12"}});
  const std::string text = Text(out);
  EXPECT_THAT(text,
              HasSubstr("# TYPE slotcache_keys gauge\nslotcache_keys 42"));
  EXPECT_THAT(text, HasSubstr("# TYPE slotcache_expired_keys_total counter\n"
                              "slotcache_expired_keys_total 7"));
  EXPECT_THAT(text, HasSubstr("slotcache_slot_keys{slot=\"12\"} 3"));
}

TEST(FamiliesTest, HistogramBucketsAreCumulativeWithInf) {
  std::vector<prometheus::MetricFamily> out;
  prometheus::MetricFamily& f =
      AddFamily(&out, "slotcache_command_duration_seconds", "Latency.",
                prometheus::MetricType::Histogram);
  const double bounds[] = {0.001, 0.01};
  const uint64_t counts[] = {2, 3, 1};
  AddHistogram(f, bounds, counts, 0.5, {{"command", "GET"}});
  const std::string text = Text(out);
  EXPECT_THAT(text, HasSubstr("slotcache_command_duration_seconds_bucket{"
                              "command=\"GET\",le=\"0.001\"} 2"));
  EXPECT_THAT(text, HasSubstr("le=\"0.01\"} 5"));
  EXPECT_THAT(text, HasSubstr("le=\"+Inf\"} 6"));
  EXPECT_THAT(
      text,
      HasSubstr("slotcache_command_duration_seconds_count{command=\"GET\"} 6"));
  EXPECT_THAT(
      text,
      HasSubstr("slotcache_command_duration_seconds_sum{command=\"GET\"} 0.5"));
}

}  // namespace
}  // namespace slotcache::metrics
