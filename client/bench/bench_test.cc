#include "client/bench/bench.h"

#include "client/sdk/fake_node.h"
#include "gtest/gtest.h"

namespace slotcache::bench {
namespace {

class BenchModeTest : public ::testing::TestWithParam<Mode> {};

TEST_P(BenchModeTest, RunsTheRequestedCommandsWithoutErrors) {
  auto node = testing::FakeNode::Start();
  BenchConfig config;
  config.seeds = {node->address()};
  config.mode = GetParam();
  config.clients = 4;
  config.pipeline = 8;
  config.requests = 2000;
  config.keyspace = 100;
  config.set_weight = 1;
  config.get_weight = 1;
  absl::StatusOr<BenchResult> result = RunBench(config);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->commands, 2000);
  EXPECT_EQ(result->errors, 0) << result->first_error;
  EXPECT_GT(result->sets, 0);
  EXPECT_GT(result->gets, 0);
  EXPECT_GT(result->ops_per_sec, 0);
  EXPECT_LE(result->p50_ms, result->p99_ms);
  EXPECT_LE(result->p99_ms, result->max_ms);
  EXPECT_EQ(node->commands(), 2000);
  const std::string json = FormatJson(config, *result);
  EXPECT_NE(json.find("\"ops_per_sec\":"), std::string::npos) << json;
  EXPECT_NE(FormatText(config, *result).find("p99.9"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(AllModes, BenchModeTest,
                         ::testing::Values(Mode::kUnary, Mode::kBatch,
                                           Mode::kPipeline, Mode::kSdk),
                         [](const ::testing::TestParamInfo<Mode>& info) {
                           return ModeName(info.param);
                         });

TEST(BenchTest, DurationModeStopsOnTime) {
  auto node = testing::FakeNode::Start();
  BenchConfig config;
  config.seeds = {node->address()};
  config.clients = 2;
  config.duration = absl::Milliseconds(300);
  absl::StatusOr<BenchResult> result = RunBench(config);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->commands, 0);
  EXPECT_LT(result->seconds, 5);
}

TEST(BenchTest, ParsesRatiosAndModes) {
  int s = 0, g = 0;
  ASSERT_TRUE(ParseRatio("1:10", &s, &g).ok());
  EXPECT_EQ(s, 1);
  EXPECT_EQ(g, 10);
  EXPECT_FALSE(ParseRatio("0:0", &s, &g).ok());
  EXPECT_FALSE(ParseRatio("x", &s, &g).ok());
  EXPECT_EQ(*ParseMode("Batch"), Mode::kBatch);
  EXPECT_FALSE(ParseMode("bogus").ok());
}

TEST(BenchTest, UnreachableNodeIsAClearError) {
  BenchConfig config;
  config.seeds = {"127.0.0.1:1"};
  config.timeout = absl::Milliseconds(300);
  absl::StatusOr<BenchResult> result = RunBench(config);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace slotcache::bench
