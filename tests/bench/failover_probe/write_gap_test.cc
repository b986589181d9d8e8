#include "tests/bench/failover_probe/write_gap.h"

#include "gtest/gtest.h"

namespace slotcache::bench {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);
absl::Time At(int ms) { return kT0 + absl::Milliseconds(ms); }

TEST(WriteGapTrackerTest, GapRunsFromLastAckBeforeKillToFirstAckAfter) {
  WriteGapTracker gaps;
  gaps.Record(At(0), At(2), true);
  gaps.Record(At(2), At(4), true);
  gaps.MarkKill(At(5));
  gaps.Record(At(5), At(105), false);
  gaps.Record(At(110), At(700), false);
  gaps.Record(At(700), At(704), true);
  gaps.Record(At(704), At(706), true);  // Later successes change nothing.
  ASSERT_TRUE(gaps.Gap().has_value());
  EXPECT_EQ(*gaps.Gap(), absl::Milliseconds(700));
  EXPECT_EQ(gaps.ok_before_kill(), 2);
  EXPECT_EQ(gaps.failed_after_kill(), 2);
  EXPECT_TRUE(gaps.recovered());
}

TEST(WriteGapTrackerTest, AckOfWriteIssuedBeforeKillDoesNotEndTheGap) {
  WriteGapTracker gaps;
  gaps.Record(At(0), At(3), true);
  gaps.MarkKill(At(4));
  // Issued before the kill, acked after: the old primary's last word.
  gaps.Record(At(3), At(6), true);
  EXPECT_FALSE(gaps.recovered());
  EXPECT_FALSE(gaps.Gap().has_value());
  gaps.Record(At(6), At(500), true);
  EXPECT_EQ(gaps.straddling(), 1);
  EXPECT_EQ(*gaps.Gap(), absl::Milliseconds(497));
}

TEST(WriteGapTrackerTest, FailuresBeforeKillAreNotPartOfTheGap) {
  WriteGapTracker gaps;
  gaps.Record(At(0), At(50), false);
  gaps.Record(At(50), At(52), true);
  gaps.MarkKill(At(60));
  gaps.Record(At(60), At(80), true);
  EXPECT_EQ(*gaps.Gap(), absl::Milliseconds(28));
  EXPECT_EQ(gaps.failed_after_kill(), 0);
}

TEST(WriteGapTrackerTest, NoGapWithoutSuccessBeforeKill) {
  WriteGapTracker gaps;
  gaps.Record(At(0), At(5), false);
  gaps.MarkKill(At(6));
  gaps.Record(At(6), At(9), true);
  EXPECT_TRUE(gaps.recovered());
  EXPECT_FALSE(gaps.Gap().has_value());
}

TEST(WriteGapTrackerTest, NoGapWhileNothingSucceededAfterKill) {
  WriteGapTracker gaps;
  gaps.Record(At(0), At(1), true);
  gaps.MarkKill(At(2));
  gaps.Record(At(2), At(3000), false);
  EXPECT_TRUE(gaps.killed());
  EXPECT_FALSE(gaps.recovered());
  EXPECT_FALSE(gaps.Gap().has_value());
}

}  // namespace
}  // namespace slotcache::bench
