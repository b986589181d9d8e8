// SnapshotService (proto/persistence.proto): takes a snapshot of the node's
// shard into a directory on the node, consistent at an exact replication
// offset, while the node keeps serving (node/persistence/snapshot_writer.h),
// and loads shard snapshots into the node for a cluster restore
// (node/persistence/snapshot_restore.h).
//
// The shard's slot ranges and config_epoch come from the node's cluster
// map; a node is asked only about its own shard. A snapshot is taken on a
// primary, a standalone node, or a replica that holds a complete copy of
// its primary (options.replica_synced; the manifest then records the
// primary's history as the replica applied it). Only a primary loads.
// Snapshots and loads run on a thread of their own (they take seconds for
// millions of keys; gRPC's callback threads must not block), one at a time
// per node; the RPC returns when the job finished.
//
// Thread-safety: called by gRPC from many threads at once. The destructor
// stops a running load and waits for a running job to finish.
#ifndef SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_SERVICE_H_
#define SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "grpcpp/support/server_callback.h"
#include "node/cluster/cluster_state.h"
#include "node/persistence/snapshot_writer.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"
#include "proto/persistence.grpc.pb.h"

namespace slotcache::node::persistence {

struct SnapshotServiceOptions {
  // On a replica: true when its store is a complete copy of its primary's
  // history (a full sync completed, or it continues its own history after
  // a demotion) and no full sync is loading. Unset: replicas refuse
  // CreateSnapshot.
  std::function<bool()> replica_synced;
  // LoadSnapshots' throttle (snapshot_restore.h): the offsets the shard's
  // replicas acknowledged. Unset: no throttle.
  std::function<std::vector<uint64_t>()> replica_acked_offsets;
  uint64_t max_replica_lag_bytes = 16ull << 20;
  absl::Duration throttle_poll = absl::Milliseconds(5);
};

class SnapshotServiceImpl final : public v1::SnapshotService::CallbackService {
 public:
  // Not owned; all must outlive the service.
  SnapshotServiceImpl(storage::Store* store, ReplicationLog* log,
                      ClusterState* cluster,
                      SnapshotWriterOptions options = SnapshotWriterOptions(),
                      SnapshotServiceOptions service_options = {});
  ~SnapshotServiceImpl() override;

  SnapshotServiceImpl(const SnapshotServiceImpl&) = delete;
  SnapshotServiceImpl& operator=(const SnapshotServiceImpl&) = delete;

  // INVALID_ARGUMENT for a relative or empty directory, FAILED_PRECONDITION
  // when another snapshot or load runs, the node is a replica without a
  // complete copy of its primary, is in no shard or in another one than
  // asked, or the directory is not empty; then the writer's errors.
  grpc::ServerUnaryReactor* CreateSnapshot(
      grpc::CallbackServerContext* context,
      const v1::CreateSnapshotRequest* request,
      v1::SnapshotManifest* response) override;

  // FAILED_PRECONDITION when another snapshot or load runs, or this node
  // is not the primary of every requested slot in its map; then
  // RestoreSnapshots' errors.
  grpc::ServerUnaryReactor* LoadSnapshots(
      grpc::CallbackServerContext* context,
      const v1::LoadSnapshotsRequest* request,
      v1::LoadSnapshotsResponse* response) override;

  // What the request asks for, resolved against the node's map.
  absl::StatusOr<SnapshotTarget> ResolveTarget(
      const v1::CreateSnapshotRequest& request) const;

 private:
  // Constant after construction.
  storage::Store* const store_;
  ReplicationLog* const log_;
  ClusterState* const cluster_;
  const SnapshotWriterOptions options_;
  const SnapshotServiceOptions service_options_;

  // Runs `job` on the worker thread and finishes `reactor` with its
  // status, unless a job runs (then FAILED_PRECONDITION naming `what`).
  void StartJob(grpc::ServerUnaryReactor* reactor, const char* what,
                std::function<grpc::Status()> job);
  // Checks a LoadSnapshots request against the node's map.
  absl::Status CheckLoad(const v1::LoadSnapshotsRequest& request) const;

  // Set by the destructor: a running load stops.
  std::atomic<bool> stopping_{false};
  Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  // The last job's thread (joined before the next one starts, and by the
  // destructor).
  std::thread worker_ ABSL_GUARDED_BY(mu_);
};

}  // namespace slotcache::node::persistence

#endif  // SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_SERVICE_H_
