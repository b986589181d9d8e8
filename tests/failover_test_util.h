// Helpers for the failover tests (tests/failover_*_test.cc): a writer that
// keeps writing to every shard with min_replica_acks=1 while nodes die,
// counts what was acknowledged and checks afterwards that none of it was
// lost; plus direct calls to one node.
//
// The writer is an application on the SDK (slotcache::Client with
// CoordinatorMapSource: it follows the coordinator's pushed maps, plus
// MOVED/CLUSTERDOWN retries within each call's deadline), writing with
// CallOptions::min_replica_acks=1, and retries the same key until it is
// acknowledged, so a shard's longest gap between two acknowledged writes is
// the write unavailability a client sees during a failover.
//
// Thread-safety: AckedWriter's methods may be called from any thread; the
// free functions are stateless.
#ifndef SLOTCACHE_TESTS_FAILOVER_TEST_UTIL_H_
#define SLOTCACHE_TESTS_FAILOVER_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/sdk/client.h"
#include "proto/cache.pb.h"
#include "proto/common.pb.h"
#include "proto/replication.pb.h"
#include "tests/cluster_harness.h"

namespace slotcache::testing {

// One Execute on the node at `address`.
absl::StatusOr<v1::ExecuteResponse> ExecuteOn(
    const std::string& address, const v1::Command& command,
    const v1::RequestOptions& options = {},
    absl::Duration deadline = absl::Seconds(5));
absl::StatusOr<v1::DigestResponse> DigestOf(const std::string& address);

// The node id of the primary of `shard_id` in `map` ("" when unknown).
std::string PrimaryOf(const v1::ClusterMap& map, const std::string& shard_id);

// Sets `key` to `value` on its slot's primary (the coordinator's map) with
// min_replica_acks=1, retrying until a replica acknowledged it.
absl::Status WriteAcked(const TestCluster& cluster, const std::string& key,
                        const std::string& value,
                        absl::Duration timeout = absl::Seconds(30));

// Reads every key back from its slot's current primary; returns how many
// are missing or hold another value.
absl::StatusOr<int> CountMissing(
    const TestCluster& cluster,
    const std::vector<std::pair<std::string, std::string>>& expected);

class AckedWriter {
 public:
  // Each attempt's deadline (an application's call timeout; a call to a
  // hung primary costs this much).
  static constexpr absl::Duration kAttemptDeadline = absl::Milliseconds(1500);

  struct ShardStats {
    uint64_t acked = 0;
    // Failed calls (any error the SDK returned, NOT_ENOUGH_REPLICA_ACKS
    // included).
    uint64_t errors = 0;
    std::string last_error;
    // Longest time between two acknowledged writes.
    absl::Duration longest_gap;
  };

  // `cluster` is not owned and must outlive the writer.
  explicit AckedWriter(const TestCluster* cluster) : cluster_(cluster) {}
  ~AckedWriter();

  // Connects the SDK client and starts one writing thread per shard of the
  // current map.
  absl::Status Start();
  // Stops and joins the threads. Idempotent.
  void Stop();

  ShardStats Stats(const std::string& shard_id) const;
  // Waits until `shard_id` has at least `acked` acknowledged writes.
  absl::Status WaitForAcks(const std::string& shard_id, uint64_t acked,
                           absl::Duration timeout = absl::Seconds(30)) const;
  // After Stop(): reads every acknowledged key back from its shard's
  // current primary; returns how many are missing or wrong.
  absl::StatusOr<int> CountLost() const;
  // The SDK client's counters (e.g. watched_maps, moved_redirects).
  ClientStats SdkStats() const;

 private:
  struct Shard {
    std::string shard_id;
    // A hash tag whose slot this shard owns: every key is "{tag}.N".
    std::string tag;
    ShardStats stats;
    // Acknowledged (key, value) pairs.
    std::vector<std::pair<std::string, std::string>> acked;
    absl::Time last_ack;
  };
  void Run(int shard);

  const TestCluster* const cluster_;
  // Set by Start() before the threads start.
  std::unique_ptr<Client> client_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Shard> shards_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace slotcache::testing

#endif  // SLOTCACHE_TESTS_FAILOVER_TEST_UTIL_H_
