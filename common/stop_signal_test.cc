#include "common/stop_signal.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace slotcache {
namespace {

TEST(StopSignalTest, SleepReturnsTrueUntilStopped) {
  StopSignal stop;
  EXPECT_TRUE(stop.SleepFor(absl::Milliseconds(1)));
  stop.Stop();
  EXPECT_TRUE(stop.stopped());
  EXPECT_FALSE(stop.SleepFor(absl::Hours(1)));  // Does not sleep.
}

TEST(StopSignalTest, StopEndsALongSleep) {
  StopSignal stop;
  std::thread sleeper([&] { EXPECT_FALSE(stop.SleepFor(absl::Hours(1))); });
  stop.Stop();
  sleeper.join();
}

TEST(StopSignalTest, WakeEndsASleepWithoutStopping) {
  StopSignal stop;
  std::atomic<bool> returned{false};
  bool result = false;
  std::thread sleeper([&] {
    result = stop.SleepFor(absl::Hours(1));
    returned = true;
  });
  // The sleeper may not be asleep yet when the first Wake() comes: keep
  // waking until it has returned.
  while (!returned) {
    stop.Wake();
    std::this_thread::yield();
  }
  sleeper.join();
  EXPECT_TRUE(result);
  EXPECT_FALSE(stop.stopped());
}

TEST(StopSignalTest, AWakeBeforeTheSleepIsNotMissed) {
  StopSignal stop;
  const uint64_t seen = stop.wakes();
  stop.Wake();  // Lands between the caller's check and its sleep.
  EXPECT_TRUE(stop.SleepFor(absl::Hours(1), seen));  // Returns at once.
  EXPECT_EQ(stop.wakes(), seen + 1);
}

TEST(StopSignalTest, ResetRearms) {
  StopSignal stop;
  stop.Stop();
  stop.Reset();
  EXPECT_FALSE(stop.stopped());
  EXPECT_TRUE(stop.SleepFor(absl::ZeroDuration()));
}

}  // namespace
}  // namespace slotcache
