// Client side of the standard gRPC health check (grpc.health.v1).
//
// Thread-safety: safe from any thread.
#ifndef SLOTCACHE_COMMON_HEALTH_H_
#define SLOTCACHE_COMMON_HEALTH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace slotcache {

// OK when the server at `address` answers SERVING for `service` ("" = the
// whole server) within `timeout`; UNAVAILABLE with the reason otherwise.
absl::Status CheckHealth(absl::string_view address, absl::Duration timeout,
                         const std::string& service = "");

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_HEALTH_H_
