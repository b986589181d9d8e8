// CommandStats behind a real Dispatcher, executor and store.
#include "node/metrics/command_stats.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/cluster/cluster_state.h"
#include "node/commands/executor.h"
#include "node/server/dispatcher.h"
#include "node/storage/store.h"
#include "prometheus/text_serializer.h"

namespace slotcache::node::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::Command Cmd(std::initializer_list<std::string> words) {
  v1::Command command;
  auto it = words.begin();
  command.set_name(*it++);
  for (; it != words.end(); ++it) command.add_args(*it);
  return command;
}

class CommandStatsTest : public ::testing::Test {
 protected:
  CommandStatsTest()
      : executor_(&store_),
        cluster_({"n1", "127.0.0.1:1", "az-a"}, {}),
        dispatcher_(&executor_, RequestLimits(), &stats_) {}

  v1::Reply Run(const v1::Command& command) {
    v1::Reply reply;
    dispatcher_.Dispatch(command, cluster_.View(false), &reply);
    return reply;
  }
  std::string Text() const {
    std::vector<prometheus::MetricFamily> out;
    stats_.Collect(&out);
    return prometheus::TextSerializer().Serialize(out);
  }

  storage::Store store_;
  CommandExecutor executor_;
  ClusterState cluster_;
  CommandStats stats_;
  Dispatcher dispatcher_;
};

TEST_F(CommandStatsTest, CountsCommandsHitsMissesAndErrors) {
  Run(Cmd({"SET", "a", "1"}));
  Run(Cmd({"GET", "a"}));             // hit
  Run(Cmd({"GET", "nope"}));          // miss
  Run(Cmd({"MGET", "a", "x", "y"}));  // 1 hit, 2 misses
  Run(Cmd({"HSET", "h", "f", "v"}));
  Run(Cmd({"GET", "h"}));    // WRONGTYPE: an error, not a lookup
  Run(Cmd({"FROBNICATE"}));  // refused before running: not counted
  EXPECT_EQ(stats_.commands(CommandId::kGET), 3u);
  const std::string text = Text();
  EXPECT_THAT(text, HasSubstr("slotcache_commands_processed_total 6"));
  EXPECT_THAT(text, HasSubstr("slotcache_keyspace_hits_total 2"));
  EXPECT_THAT(text, HasSubstr("slotcache_keyspace_misses_total 3"));
  EXPECT_THAT(text, HasSubstr("slotcache_commands_total{command=\"get\"} 3"));
  EXPECT_THAT(text,
              HasSubstr("slotcache_command_errors_total{command=\"get\"} 1"));
  EXPECT_THAT(text, HasSubstr("slotcache_command_duration_seconds_count{"
                              "command=\"set\"} 1"));
  EXPECT_THAT(text, HasSubstr("command=\"set\",le=\"+Inf\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("command=\"del\"")));
}

TEST_F(CommandStatsTest, ListsTheHottestSlots) {
  for (int i = 0; i < 5; ++i) Run(Cmd({"SET", "{hot}k", "v"}));
  Run(Cmd({"SET", "cold", "v"}));
  EXPECT_EQ(stats_.slot_commands(KeySlot("{hot}k")), 5u);
  const std::string text = Text();
  EXPECT_THAT(text,
              HasSubstr(absl::StrCat("slotcache_slot_commands_total{slot=\"",
                                     KeySlot("hot"), "\"} 5")));
  EXPECT_THAT(text,
              HasSubstr(absl::StrCat("{slot=\"", KeySlot("cold"), "\"} 1")));
}

TEST_F(CommandStatsTest, ConcurrentThreadsLoseNoCounts) {
  constexpr int kThreads = 8, kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Run(Cmd({"SET", absl::StrCat("k", t, "-", i), "v"}));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(stats_.commands(CommandId::kSET),
            static_cast<uint64_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace slotcache::node::metrics
