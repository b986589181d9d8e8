#include "client/sdk/single_flight.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace slotcache {
namespace {

// Waits (polling, bounded) until `n` callers wait on `key`.
bool WaitForWaiters(const SingleFlight<int>& flights, const std::string& key,
                    int n) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (flights.Waiters(key) < n) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

TEST(SingleFlightTest, ConcurrentCallersShareOneRun) {
  SingleFlight<int> flights;
  absl::Notification release;
  std::atomic<int> runs{0};
  constexpr int kCallers = 8;
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<int>> results(kCallers, absl::UnknownError(""));
  std::atomic<int> shared_count{0};
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      bool shared = false;
      results[i] = flights.Do(
          "k",
          [&]() -> absl::StatusOr<int> {
            ++runs;
            release.WaitForNotification();
            return 42;
          },
          &shared);
      shared_count += shared;
    });
  }
  ASSERT_TRUE(WaitForWaiters(flights, "k", kCallers - 1));
  release.Notify();
  for (auto& t : threads) t.join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(shared_count.load(), kCallers - 1);
  for (const auto& r : results) EXPECT_EQ(*r, 42);
  EXPECT_EQ(flights.InFlight(), 0u);
}

TEST(SingleFlightTest, ErrorsReachEveryWaiterAndAreNotKept) {
  SingleFlight<int> flights;
  absl::Notification release;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<int> r = flights.Do("k", [&]() -> absl::StatusOr<int> {
        release.WaitForNotification();
        return absl::UnavailableError("database down");
      });
      errors += absl::IsUnavailable(r.status());
    });
  }
  ASSERT_TRUE(WaitForWaiters(flights, "k", 3));
  release.Notify();
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 4);
  // The next call runs again.
  EXPECT_EQ(*flights.Do("k", [] { return absl::StatusOr<int>(7); }), 7);
}

TEST(SingleFlightTest, DifferentKeysRunIndependently) {
  SingleFlight<int> flights;
  EXPECT_EQ(*flights.Do("a", [] { return absl::StatusOr<int>(1); }), 1);
  EXPECT_EQ(*flights.Do("b", [] { return absl::StatusOr<int>(2); }), 2);
}

}  // namespace
}  // namespace slotcache
