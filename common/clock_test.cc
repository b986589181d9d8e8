#include "common/clock.h"

#include "gtest/gtest.h"

namespace slotcache {
namespace {

TEST(FakeClockTest, MovesOnlyWhenTold) {
  FakeClock clock;
  absl::Time start = clock.Now();
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Seconds(3));
  EXPECT_EQ(clock.Now(), start + absl::Seconds(3));
  clock.Set(absl::FromUnixSeconds(42));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(42));
}

TEST(RealClockTest, IsMonotonicEnoughForTimestamps) {
  absl::Time a = Clock::Real()->Now();
  absl::Time b = Clock::Real()->Now();
  EXPECT_LE(a, b);
  EXPECT_GT(a, absl::FromUnixSeconds(1600000000));
}

}  // namespace
}  // namespace slotcache
