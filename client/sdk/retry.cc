#include "client/sdk/retry.h"

#include <algorithm>
#include <cmath>

#include "absl/random/distributions.h"

namespace slotcache {

bool IsRetryable(v1::ErrorCode code) {
  return code == v1::TRYAGAIN || code == v1::CLUSTERDOWN ||
         code == v1::UNAVAILABLE;
}

absl::Duration BackoffDelay(const RetryPolicy& policy, int attempt,
                            absl::Duration server_hint, absl::BitGenRef gen) {
  const int exponent = std::max(0, std::min(attempt - 1, 30));
  absl::Duration base =
      policy.initial_backoff * std::pow(policy.multiplier, exponent);
  base = std::min(base, policy.max_backoff);
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  const double factor =
      jitter == 0.0 ? 1.0
                    : absl::Uniform<double>(gen, 1.0 - jitter, 1.0 + jitter);
  return std::max(base * factor, server_hint);
}

}  // namespace slotcache
