// Helpers for the resharding tests (tests/migration_*_test.cc): a model
// workload that writes through the SDK while slots move and checks the
// final state against a model of its writes, plus calls to the
// coordinator's resharding RPCs and to the nodes' slot statistics.
//
// The workload: `threads` writers, each owning the keys i with
// i % threads == its index (so the order of writes to one key is the
// order its writer issued them, and the model is exact). Each write is one
// of APPEND (string keys), INCRBY (counter keys) or HSET of a new field
// (hash keys), chosen by the key's number; every write is synchronous and
// counted in the model only once the SDK acknowledged it. The SDK retries
// TRYAGAIN and MOVED by itself; any error it returns is counted as an
// error (the tests expect none) and the write is not in the model, so the
// key is then left out of the comparison (its state is unknown).
//
// Thread-safety: ModelWorkload's methods may be called from any thread;
// the free functions are stateless.
#ifndef SLOTCACHE_TESTS_MIGRATION_TEST_UTIL_H_
#define SLOTCACHE_TESTS_MIGRATION_TEST_UTIL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/sdk/client.h"
#include "proto/coordinator.pb.h"
#include "tests/cluster_harness.h"

namespace slotcache::testing {

// ---- Coordinator calls ----
absl::StatusOr<v1::Operation> MigrateSlots(const TestCluster& cluster,
                                           const v1::MigrateSlotsRequest& req);
absl::StatusOr<v1::Operation> GetOperation(const TestCluster& cluster,
                                           const std::string& id);
absl::StatusOr<v1::Operation> CancelOperation(const TestCluster& cluster,
                                              const std::string& id);
// Polls the operation until it is no longer RUNNING.
absl::StatusOr<v1::Operation> WaitOperationDone(
    const TestCluster& cluster, const std::string& id,
    absl::Duration timeout = absl::Seconds(120));
// Polls (every ~1 ms) until `condition` holds for the RUNNING operation;
// FAILED_PRECONDITION when it finished first.
absl::StatusOr<v1::Operation> WaitOperation(
    const TestCluster& cluster, const std::string& id,
    const std::function<bool(const v1::Operation&)>& condition,
    const std::string& what, absl::Duration timeout = absl::Seconds(60));

// `count` slots of `shard_id` in `map` (its highest-numbered ones).
std::vector<uint32_t> SlotsOf(const v1::ClusterMap& map,
                              const std::string& shard_id, uint32_t count);
// The shard that owns `slot` in `map` ("" when none).
std::string OwnerOf(const v1::ClusterMap& map, uint32_t slot);
// Keys per slot on the node at `address` (NodeAdmin GetSlotStats), for
// the given slots only.
absl::StatusOr<uint64_t> KeysInSlots(const std::string& address,
                                     const std::vector<uint32_t>& slots);

// Checks that every slot has exactly one owner in the coordinator's map
// and that, for `slots`, only the owning shard's primary (and its
// replicas, once caught up) hold keys: polls until the non-owners dropped
// theirs. Returns the keys found on the owners' primaries.
absl::StatusOr<uint64_t> CheckSingleOwner(const TestCluster& cluster,
                                          const std::vector<uint32_t>& slots,
                                          absl::Duration timeout =
                                              absl::Seconds(30));

class ModelWorkload {
 public:
  struct Options {
    int threads = 8;
    int keys = 50000;
    // Stop after this many acknowledged writes in total (0: until Stop).
    uint64_t writes = 200000;
    // Keys are "<prefix><n>" or "{<tag>}<n>" when hash_tag is set (all
    // in one slot).
    std::string prefix = "m:";
    std::string hash_tag;
  };

  ModelWorkload(const TestCluster* cluster, Options options);
  ~ModelWorkload();

  absl::Status Start();
  // Waits until the workload acknowledged `writes` writes in total.
  absl::Status WaitForWrites(uint64_t writes,
                             absl::Duration timeout = absl::Seconds(120));
  // Waits until the target number of writes is reached, or stops now when
  // it has none. Joins the threads. Idempotent.
  void Stop();
  // Stops early, whatever the target.
  void Abort();

  uint64_t acked() const { return acked_.load(); }
  uint64_t errors() const;
  std::string first_error() const;
  // After Stop(): reads every key through a fresh SDK client and compares
  // it with the model. Returns the number of keys that differ (missing,
  // wrong, duplicated appends, reordered appends); logs the first few.
  absl::StatusOr<int> CountMismatches(uint64_t* keys_checked) const;

 private:
  struct Key {
    // String: the appended text; counter: the sum; hash: field count.
    std::string text;
    int64_t sum = 0;
    int64_t fields = 0;
    bool unknown = false;  // A write failed: state not known.
  };
  void Run(int thread);
  std::string KeyName(int n) const;

  const TestCluster* const cluster_;
  const Options options_;
  std::unique_ptr<Client> client_;
  std::atomic<uint64_t> acked_{0};
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  uint64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
  // Index = key number; each writer touches only its own keys, and the
  // vector is sized before the threads start.
  std::vector<Key> model_;
  std::vector<std::thread> threads_;
};

}  // namespace slotcache::testing

#endif  // SLOTCACHE_TESTS_MIGRATION_TEST_UTIL_H_
