// ReplicationManager: the node's replication, assembled. It owns the
// primary side (ReplicationServiceImpl, ReplicaTracker) and the replica side
// (ReplicaAgent), and decides which one is active from the node's role in
// the cluster map: a replica of shard X follows X's primary; a primary (or
// a standalone node) serves its replicas. With `replicaof` (standalone
// setups and tests) it installs a one-shard map of version 1 that makes
// this node a replica of that address, so routing (READONLY, replica
// reads) works as in a coordinated cluster.
//
// The role is re-read from ClusterState every kRoleCheckInterval by a small
// watcher thread (one RoutingView per round), so the manager needs no hook
// in the map's apply paths.
//
// Thread-safety: Start/Stop from one thread; everything else from any.
#ifndef SLOTCACHE_NODE_REPLICATION_REPLICATION_MANAGER_H_
#define SLOTCACHE_NODE_REPLICATION_REPLICATION_MANAGER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/stop_signal.h"
#include "node/cluster/cluster_state.h"
#include "node/replication/replica_ack_waiter.h"
#include "node/replication/replica_agent.h"
#include "node/replication/replica_tracker.h"
#include "node/replication/replication_log.h"
#include "node/replication/replication_service.h"
#include "node/storage/store.h"
#include "proto/admin.pb.h"
#include "proto/coordinator.pb.h"

namespace slotcache::node {

class ReplicationManager final : public ReplicaAckWaiter {
 public:
  // Not owned; all must outlive the manager.
  ReplicationManager(ReplicationLog* log, storage::Store* store,
                     ClusterState* cluster, Clock* clock);
  ~ReplicationManager() override;

  ReplicationManager(const ReplicationManager&) = delete;
  ReplicationManager& operator=(const ReplicationManager&) = delete;

  grpc::Service* service() { return &service_; }

  // Once the server is bound. `replicaof` (host:port, may be empty) makes
  // a standalone node a replica of that primary.
  absl::Status Start(const std::string& replicaof);
  // Ends the replica stream, the primary's streams and the threads.
  void Stop();

  // ReplicaAckWaiter.
  void WaitForReplicas(int needed, absl::Duration timeout,
                       std::function<void(int)> done) override;

  // True when this node follows a primary and its store is a complete copy
  // of the primary's history (a full sync completed and none is loading,
  // or it continues its own history after a demotion): a snapshot of it
  // is exact (node/persistence).
  bool ReplicaSynced() const { return agent_->status().synced; }

  // Adds the replication fields of NodeStatus / HeartbeatRequest.
  void FillStatus(v1::NodeStatus* status) const;
  void FillHeartbeat(v1::HeartbeatRequest* heartbeat) const;

 private:
  void WatchRoles();
  // The primary this node should follow by `table` ("" for none).
  static std::string PrimaryToFollow(const RoutingTable& table);

  // Constant after construction.
  ReplicationLog* const log_;
  ClusterState* const cluster_;
  Clock* const clock_;

  ReplicaTracker tracker_;
  ReplicationServiceImpl service_;
  // Built with the manager (idle until Start makes it follow someone), so
  // RPC threads reading it need no lock.
  const std::unique_ptr<ReplicaAgent> agent_;

  StopSignal stop_;
  std::thread watcher_;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_REPLICATION_REPLICATION_MANAGER_H_
