// Helpers for the replication integration tests (tests/replication_*_test.cc):
// content digests and replication status of real nodes, a random write
// workload, and a TCP proxy that can cut a replica's link to its primary.
//
// Thread-safety: not thread-safe except TcpProxy, whose methods may be
// called from any thread.
#ifndef SLOTCACHE_TESTS_REPLICATION_TEST_UTIL_H_
#define SLOTCACHE_TESTS_REPLICATION_TEST_UTIL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/admin.pb.h"
#include "proto/cache.pb.h"
#include "proto/replication.grpc.pb.h"
#include "tests/node_test_client.h"

namespace slotcache::testing {

absl::StatusOr<v1::DigestResponse> Digest(NodeUnderTest* node);
absl::StatusOr<v1::NodeStatus> Status(NodeUnderTest* node);

// Polls until the replica's digest and offset equal the primary's.
absl::Status WaitConverged(NodeUnderTest* primary, NodeUnderTest* replica,
                           absl::Duration timeout);

// A random batch of `n` writes over a keyspace of `keys` keys: SETs (some
// with TTLs from 100 ms to an hour), hashes, counters, INCRBYFLOAT,
// APPEND, EXPIRE/PERSIST, deletes.
std::vector<v1::Command> RandomWrites(absl::BitGen& gen, int n, int keys);

// Runs `commands` in Batch requests of `per_batch`; fails on RPC errors.
absl::Status RunBatches(NodeUnderTest* node,
                        const std::vector<v1::Command>& commands,
                        int per_batch = 500);

// Forwards TCP connections from a local port to `target`. Cut() closes
// every open connection; while blocked, new connections are refused
// (closed at once).
class TcpProxy {
 public:
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(
      const std::string& target);
  ~TcpProxy();

  std::string address() const;
  // Closes the open connections and refuses new ones until Unblock().
  void Block();
  void Unblock();

 private:
  TcpProxy(int listen_fd, int port, std::string target_host, int target_port);
  void AcceptLoop();
  void Pump(int a, int b);

  const int listen_fd_;
  const int port_;
  const std::string target_host_;
  const int target_port_;
  std::atomic<bool> stopping_{false};
  absl::Mutex mu_;
  bool blocked_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
  std::thread acceptor_;
};

}  // namespace slotcache::testing

#endif  // SLOTCACHE_TESTS_REPLICATION_TEST_UTIL_H_
