#include "node/replication/replica_tracker.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace slotcache::node {
namespace {

TEST(ReplicaTrackerTest, WaiterFiresWhenEnoughReplicasAck) {
  ReplicaTracker tracker;
  const uint64_t a = tracker.Add("a", "peer-a", false);
  const uint64_t b = tracker.Add("b", "peer-b", false);
  int got = -1;
  absl::Notification done;
  tracker.WaitForAcks(10, 2, absl::Seconds(30), [&](int n) {
    got = n;
    done.Notify();
  });
  tracker.Ack(a, 10);
  EXPECT_FALSE(done.HasBeenNotified());
  tracker.Ack(b, 12);
  ASSERT_TRUE(done.HasBeenNotified());
  EXPECT_EQ(got, 2);
}

TEST(ReplicaTrackerTest, WaiterReportsPartialCountAtTimeout) {
  ReplicaTracker tracker;
  const uint64_t a = tracker.Add("a", "peer-a", false);
  tracker.Ack(a, 5);
  absl::Notification done;
  std::atomic<int> got{-1};  // Set on the timer thread.
  tracker.WaitForAcks(5, 2, absl::Milliseconds(20), [&](int n) {
    got = n;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(got, 1);
}

TEST(ReplicaTrackerTest, ReplicaInFullSyncDoesNotCount) {
  ReplicaTracker tracker;
  const uint64_t a = tracker.Add("a", "peer-a", /*full_sync=*/true);
  tracker.Ack(a, 100);
  EXPECT_EQ(tracker.CountAcked(1), 0);
  tracker.SetFullSyncDone(a);
  EXPECT_EQ(tracker.CountAcked(1), 1);
  tracker.Remove(a);
  EXPECT_EQ(tracker.CountAcked(1), 0);
}

TEST(ReplicaTrackerTest, StopRunsPendingWaiters) {
  ReplicaTracker tracker;
  int got = -1;
  tracker.WaitForAcks(1, 1, absl::Hours(1), [&](int n) { got = n; });
  tracker.Stop();
  EXPECT_EQ(got, 0);
}

}  // namespace
}  // namespace slotcache::node
