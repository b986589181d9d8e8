#include "client/sdk/retry.h"

#include <set>

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace slotcache {
namespace {

TEST(RetryTest, OnlyTransientKindsAreRetryable) {
  EXPECT_TRUE(IsRetryable(v1::TRYAGAIN));
  EXPECT_TRUE(IsRetryable(v1::CLUSTERDOWN));
  EXPECT_TRUE(IsRetryable(v1::UNAVAILABLE));
  EXPECT_FALSE(IsRetryable(v1::WRONGTYPE));
  EXPECT_FALSE(IsRetryable(v1::OOM));
  EXPECT_FALSE(IsRetryable(v1::MOVED));
}

TEST(RetryTest, DelayGrowsExponentiallyUpToTheCapWithoutJitter) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(10);
  policy.max_backoff = absl::Milliseconds(100);
  policy.jitter = 0;
  absl::BitGen gen;
  EXPECT_EQ(BackoffDelay(policy, 1, absl::ZeroDuration(), gen),
            absl::Milliseconds(10));
  EXPECT_EQ(BackoffDelay(policy, 2, absl::ZeroDuration(), gen),
            absl::Milliseconds(20));
  EXPECT_EQ(BackoffDelay(policy, 4, absl::ZeroDuration(), gen),
            absl::Milliseconds(80));
  EXPECT_EQ(BackoffDelay(policy, 5, absl::ZeroDuration(), gen),
            absl::Milliseconds(100));
  EXPECT_EQ(BackoffDelay(policy, 1000, absl::ZeroDuration(), gen),
            absl::Milliseconds(100));
}

TEST(RetryTest, JitterStaysWithinItsBandAndVaries) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(100);
  policy.jitter = 0.5;
  absl::BitGen gen;
  std::set<int64_t> seen;
  for (int i = 0; i < 100; ++i) {
    absl::Duration d = BackoffDelay(policy, 1, absl::ZeroDuration(), gen);
    EXPECT_GE(d, absl::Milliseconds(50));
    EXPECT_LE(d, absl::Milliseconds(150));
    seen.insert(absl::ToInt64Microseconds(d));
  }
  EXPECT_GT(seen.size(), 10u);
}

TEST(RetryTest, ServerHintIsALowerBound) {
  RetryPolicy policy;
  policy.jitter = 0;
  absl::BitGen gen;
  EXPECT_EQ(BackoffDelay(policy, 1, absl::Milliseconds(250), gen),
            absl::Milliseconds(250));
}

}  // namespace
}  // namespace slotcache
