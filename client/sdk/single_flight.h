// Single-flight: concurrent callers asking for the same key share one
// execution of the work.
//
// The first caller for a key runs `fn`; callers arriving while it runs wait
// and receive the same result (value or error). Once it finishes the key is
// forgotten, so nothing — in particular no error — is cached: the next
// caller runs `fn` again. This is what keeps a hot cache miss from sending
// a stampede of identical queries to the database.
//
// Thread-safety: safe from any number of threads. `fn` runs on the first
// caller's thread without any lock held; it must not call Do for the same
// key (that would wait for itself).
#ifndef SLOTCACHE_CLIENT_SDK_SINGLE_FLIGHT_H_
#define SLOTCACHE_CLIENT_SDK_SINGLE_FLIGHT_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace slotcache {

template <typename T>
class SingleFlight {
 public:
  SingleFlight() = default;
  SingleFlight(const SingleFlight&) = delete;
  SingleFlight& operator=(const SingleFlight&) = delete;

  // Runs `fn` for `key` unless a run is already in progress, in which case
  // waits for that run's result. `*shared` (if given) tells whether the
  // result came from another caller's run.
  absl::StatusOr<T> Do(absl::string_view key,
                       const std::function<absl::StatusOr<T>()>& fn,
                       bool* shared = nullptr) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      absl::MutexLock lock(&mu_);
      auto [it, inserted] = flights_.try_emplace(std::string(key));
      if (inserted) it->second = std::make_shared<Flight>();
      flight = it->second;
      leader = inserted;
      if (!leader) ++flight->waiters;
    }
    if (shared != nullptr) *shared = !leader;
    if (!leader) {
      flight->done.WaitForNotification();
      return flight->result;
    }
    flight->result = fn();
    {
      absl::MutexLock lock(&mu_);
      flights_.erase(std::string(key));
    }
    flight->done.Notify();
    return flight->result;
  }

  // Callers waiting for the run in progress for `key` (for tests).
  int Waiters(absl::string_view key) const {
    absl::MutexLock lock(&mu_);
    auto it = flights_.find(std::string(key));
    return it == flights_.end() ? 0 : it->second->waiters;
  }

  // Number of keys with a run in progress (for tests and stats).
  size_t InFlight() const {
    absl::MutexLock lock(&mu_);
    return flights_.size();
  }

 private:
  struct Flight {
    absl::Notification done;
    // Followers that joined this run; guarded by the SingleFlight's mu_.
    int waiters = 0;
    // Written by the leader before `done` is notified; read-only after.
    absl::StatusOr<T> result{absl::UnknownError("single-flight not done")};
  };

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace slotcache

#endif  // SLOTCACHE_CLIENT_SDK_SINGLE_FLIGHT_H_
