// Helpers for the cluster integration tests (tests/cluster_*_test.cc): a
// real slotcache-coordinator and real slotcache-node processes on loopback,
// nodes spread over AZs az-a/az-b/az-c, each with its own data folder so
// they can be restarted with their identity; plus slotctl runs.
//
// Heartbeats are fast (50 ms, node_timeout and primary lease 500 ms) so
// tests, failovers included, stay short.
//
// Thread-safety: not thread-safe; use from the test's main thread.
#ifndef SLOTCACHE_TESTS_CLUSTER_HARNESS_H_
#define SLOTCACHE_TESTS_CLUSTER_HARNESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/admin.pb.h"
#include "proto/common.pb.h"
#include "tests/harness/process.h"

namespace slotcache::testing {

class TestCluster {
 public:
  TestCluster();
  ~TestCluster();

  // Starts the coordinator: on a free port the first time, on the same
  // address (and data folder) after StopCoordinator().
  absl::Status StartCoordinator();
  // SIGTERM, and waits for a clean exit.
  absl::Status StopCoordinator();
  // SIGKILL (a crash) the coordinator.
  void KillCoordinator();
  const std::string& coordinator_address() const { return coordinator_; }

  // Flags added to every node started from now on (e.g. a test's
  // --migration_max_bytes_per_sec).
  void set_extra_node_flags(std::vector<std::string> flags) {
    extra_node_flags_ = std::move(flags);
  }

  // Flags added to the coordinator's (after the harness' own, so they
  // override them), from its next start on.
  void set_extra_coordinator_flags(std::vector<std::string> flags) {
    extra_coordinator_flags_ = std::move(flags);
  }
  // This cluster's own folder (removed with it).
  const std::string& dir() const { return dir_; }

  // Starts `n` more nodes (node i in AZ "az-" + 'a' + i % 3).
  absl::Status StartNodes(int n);
  // (Re)starts node `i` with its data folder, on a new free port.
  absl::Status StartNode(int i);
  // SIGKILL (a crash) node `i`.
  void KillNode(int i);
  // SIGSTOP / SIGCONT node `i` (a hung process, or one cut off).
  absl::Status PauseNode(int i);
  absl::Status ResumeNode(int i);
  std::string node_address(int i) const { return nodes_[i].address; }
  // Node i's Redis protocol (RESP) address; every node has a RESP port.
  std::string node_resp_address(int i) const { return resp_addresses_[i]; }
  int node_count() const { return static_cast<int>(nodes_.size()); }

  // The coordinator's DescribeCluster.
  absl::StatusOr<v1::ClusterMap> Describe() const;
  // Waits until `condition` holds for the coordinator's map.
  absl::Status WaitForMap(
      const std::function<bool(const v1::ClusterMap&)>& condition,
      const std::string& what,
      absl::Duration timeout = absl::Seconds(20)) const;

  // Runs client/slotctl --coordinator=<this coordinator> `args`; returns
  // its exit code and puts its output in `output`.
  absl::StatusOr<int> Slotctl(const std::vector<std::string>& args,
                              std::string* output) const;

  // Creates a `shards` x (1 + `replicas`) cluster with slotctl once all
  // started nodes registered, then waits until `slotctl cluster check`
  // passes and every node applied the final map.
  absl::Status CreateCluster(int shards, int replicas);
  // The usual start of a cluster test: StartCoordinator, StartNodes(`nodes`)
  // and CreateCluster(`shards`, `replicas`); the first failure, if any.
  absl::Status StartAndCreate(int nodes, int shards, int replicas);

  // Waits until every replica in the map is linked to its primary, has
  // completed a sync (so it is eligible for promotion), and has told the
  // coordinator so in a heartbeat.
  absl::Status WaitReplicasSynced(
      absl::Duration timeout = absl::Seconds(20)) const;

  // The cluster map version node `i` serves with (NodeAdmin status).
  absl::StatusOr<uint64_t> NodeMapVersion(int i) const;
  // Node `i`'s NodeAdmin status.
  absl::StatusOr<v1::NodeStatus> NodeStatus(int i) const;
  // The index of the node `map` lists as `node_id` (matched by address),
  // or -1.
  int NodeIndex(const v1::ClusterMap& map, const std::string& node_id) const;

 private:
  std::string dir_;
  std::string coordinator_;
  std::unique_ptr<ChildProcess> coordinator_process_;
  std::vector<ServerProcess> nodes_;
  std::vector<std::string> resp_addresses_;
  std::vector<std::string> extra_node_flags_;
  std::vector<std::string> extra_coordinator_flags_;
};

}  // namespace slotcache::testing

#endif  // SLOTCACHE_TESTS_CLUSTER_HARNESS_H_
