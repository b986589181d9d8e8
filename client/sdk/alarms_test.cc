#include "client/sdk/alarms.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace slotcache {
namespace {

TEST(AlarmSetTest, RunsTheCallbackOnceItsTimeComes) {
  AlarmSet alarms;
  absl::Notification done;
  bool fired = false;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(alarms.RunAt(start + absl::Milliseconds(20), [&](bool f) {
    fired = f;
    done.Notify();
  }));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(fired);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(20));
}

TEST(AlarmSetTest, APastTimeRunsAtOnce) {
  AlarmSet alarms;
  absl::Notification done;
  ASSERT_TRUE(alarms.RunAt(absl::InfinitePast(), [&](bool) { done.Notify(); }));
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST(AlarmSetTest, ShutdownCancelsPendingAlarmsAndWaitsForTheirCallbacks) {
  AlarmSet alarms;
  std::atomic<int> cancelled{0};
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(alarms.RunAt(absl::Now() + absl::Hours(1), [&](bool fired) {
      if (!fired) ++cancelled;
    }));
  }
  const absl::Time start = absl::Now();
  alarms.Shutdown();
  // Every callback has returned by now, long before the hour.
  EXPECT_EQ(cancelled.load(), 10);
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  EXPECT_FALSE(alarms.RunAt(absl::Now(), [](bool) { FAIL() << "ran"; }));
  alarms.Shutdown();  // Idempotent.
}

TEST(AlarmSetTest, CallbacksMaySetFurtherAlarms) {
  AlarmSet alarms;
  absl::Notification second;
  ASSERT_TRUE(alarms.RunAt(absl::Now(), [&](bool) {
    alarms.RunAt(absl::Now(), [&](bool) { second.Notify(); });
  }));
  EXPECT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

}  // namespace
}  // namespace slotcache
