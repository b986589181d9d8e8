// RespClusterClient: the smallest Redis Cluster client the failover probe
// needs — SET only, over plain TCP, speaking RESP2 itself so that the Redis
// side of the benchmark does not depend on a client library whose retry
// behaviour we do not control.
//
// It mirrors what the slotcache SDK does for a write (client/sdk/client.h),
// so the two probe loops differ only where the systems do:
// - routing by CRC16 slot from a slot table learnt with CLUSTER SLOTS;
// - -MOVED patches the table and resends, -ASK resends once with ASKING,
//   at most `max_redirects` per call;
// - any other failure (connection refused or reset, timeout, -CLUSTERDOWN,
//   -TRYAGAIN, ...) is retried after the SDK's jittered backoff
//   (client/sdk/retry.h, same RetryPolicy) until the call's deadline, and
//   the slot table is fetched again before the retry (the SDK refreshes its
//   map on MOVED and on unreachable nodes; Redis clients such as redis-py
//   and Jedis refresh CLUSTER SLOTS on connection errors the same way).
//
// Thread-safety: not thread-safe; one probe loop owns a client.
#ifndef SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_RESP_CLUSTER_CLIENT_H_
#define SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_RESP_CLUSTER_CLIENT_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/sdk/retry.h"
#include "tests/bench/failover_probe/resp.h"

namespace slotcache::bench {

class RespClusterClient {
 public:
  // `seeds`: host:port of one or more cluster nodes.
  RespClusterClient(std::vector<std::string> seeds, RetryPolicy retry,
                    int max_redirects = 5);
  RespClusterClient(const RespClusterClient&) = delete;
  RespClusterClient& operator=(const RespClusterClient&) = delete;
  ~RespClusterClient();

  // Learns the slot table; UNAVAILABLE when no seed answers by `deadline`.
  absl::Status Connect(absl::Time deadline);

  // SET key value, with the redirects and retries described above; the
  // last error when the deadline comes first.
  absl::Status Set(const std::string& key, const std::string& value,
                   absl::Time deadline);

 private:
  struct Connection {
    int fd = -1;
    std::string buffer;  // Bytes read but not yet parsed.
  };

  // One command, one reply, on the cached connection to `address` (opened
  // on demand; dropped on any I/O or protocol error).
  absl::StatusOr<RespValue> Call(const std::string& address,
                                 const std::vector<std::string>& words,
                                 absl::Time deadline);
  absl::StatusOr<Connection*> ConnectionTo(const std::string& address,
                                           absl::Time deadline);
  void Drop(const std::string& address);
  // CLUSTER SLOTS from the first node (seeds, then known owners) that
  // answers.
  absl::Status RefreshSlots(absl::Time deadline);

  // Constant after construction.
  const std::vector<std::string> seeds_;
  const RetryPolicy retry_;
  const int max_redirects_;

  // slot -> primary host:port; empty when unknown.
  std::vector<std::string> owner_;
  absl::flat_hash_map<std::string, Connection> connections_;
  absl::BitGen gen_;
};

}  // namespace slotcache::bench

#endif  // SLOTCACHE_TESTS_BENCH_FAILOVER_PROBE_RESP_CLUSTER_CLIENT_H_
