// The failover probe's loop: write continuously to keys of one shard's
// slots, kill that shard's primary, keep writing until a write issued after
// the kill succeeds (or a recovery timeout passes), and report the
// client-visible write gap (write_gap.h).
//
// The loop is the same for both systems; only the KeyWriter differs:
// SdkKeyWriter goes through the slotcache C++ SDK, RespKeyWriter through
// RespClusterClient (resp_cluster_client.h). Writes are sequential (one in
// flight), each with its own short deadline inside which the client follows
// redirects and retries with backoff; a failed call is counted and the loop
// goes straight on with the next one.
//
// Thread-safety: RunProbe owns its writer for the duration of the call.
#ifndef SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_PROBE_H_
#define SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_PROBE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/sdk/client.h"
#include "tests/bench/failover_probe/resp_cluster_client.h"

namespace slotcache::bench {

// One write of the probe.
class KeyWriter {
 public:
  virtual ~KeyWriter() = default;
  virtual absl::Status Set(const std::string& key, const std::string& value,
                           absl::Duration timeout) = 0;
};

class SdkKeyWriter : public KeyWriter {
 public:
  explicit SdkKeyWriter(std::unique_ptr<Client> client)
      : client_(std::move(client)) {}
  absl::Status Set(const std::string& key, const std::string& value,
                   absl::Duration timeout) override;

 private:
  std::unique_ptr<Client> client_;
};

class RespKeyWriter : public KeyWriter {
 public:
  explicit RespKeyWriter(std::unique_ptr<RespClusterClient> client)
      : client_(std::move(client)) {}
  absl::Status Set(const std::string& key, const std::string& value,
                   absl::Duration timeout) override;

 private:
  std::unique_ptr<RespClusterClient> client_;
};

// `count` distinct keys whose hash slots lie in [first_slot, last_slot].
std::vector<std::string> KeysInSlots(uint32_t first_slot, uint32_t last_slot,
                                     int count);

struct ProbeOptions {
  std::vector<std::string> keys;
  // Deadline of each write.
  absl::Duration call_timeout = absl::Milliseconds(250);
  // How long to write before the kill (at least one write must succeed).
  absl::Duration warmup = absl::Seconds(1);
  // How long to wait for a successful write after the kill.
  absl::Duration recovery_timeout = absl::Seconds(15);
  // Causes the failure (e.g. SIGKILLs the primary).
  std::function<absl::Status()> kill;
};

struct ProbeResult {
  bool recovered = false;
  // Set when recovered.
  std::optional<absl::Duration> gap;
  int64_t ok_before_kill = 0;
  int64_t failed_after_kill = 0;
  int64_t straddling = 0;
  // The last error seen after the kill (empty when none).
  std::string last_error;
};

// FAILED_PRECONDITION when no write succeeded during the warm-up (plus the
// recovery timeout): the cluster was not serving, so there is nothing to
// measure. Errors of `kill` are returned as they are.
absl::StatusOr<ProbeResult> RunProbe(KeyWriter* writer,
                                     const ProbeOptions& options);

}  // namespace slotcache::bench

#endif  // SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_PROBE_H_
