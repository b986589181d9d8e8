// When and how long the SDK waits before retrying a request.
//
// Retryable kinds are the transient ones: TRYAGAIN (a slot is briefly
// paused), CLUSTERDOWN (the node has no valid lease or map yet) and
// UNAVAILABLE (the node is down, restarting or overloaded). Everything else
// is the caller's answer. Delays grow exponentially from `initial_backoff`
// up to `max_backoff`, each multiplied by a random factor in
// [1 - jitter, 1 + jitter] so that clients retrying after the same event do
// not come back in lockstep. A retry never goes past the call's deadline.
//
// Thread-safety: RetryPolicy is a value; BackoffDelay is safe from any
// thread when each thread uses its own generator (absl::BitGen is not
// thread-safe).
#ifndef SLOTCACHE_CLIENT_SDK_RETRY_H_
#define SLOTCACHE_CLIENT_SDK_RETRY_H_

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"
#include "proto/common.pb.h"

namespace slotcache {

struct RetryPolicy {
  absl::Duration initial_backoff = absl::Milliseconds(5);
  absl::Duration max_backoff = absl::Milliseconds(500);
  double multiplier = 2.0;
  // Fraction of the delay that is random, in [0, 1].
  double jitter = 0.5;
};

// True for the error kinds worth retrying (see the file comment).
bool IsRetryable(v1::ErrorCode code);

// The wait before retry number `attempt` (1 = the first retry). A server
// hint (TRYAGAIN's retry_after_ms) is a lower bound.
absl::Duration BackoffDelay(const RetryPolicy& policy, int attempt,
                            absl::Duration server_hint, absl::BitGenRef gen);

}  // namespace slotcache

#endif  // SLOTCACHE_CLIENT_SDK_RETRY_H_
