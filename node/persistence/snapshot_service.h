// SnapshotService (proto/persistence.proto): takes a snapshot of the node's
// shard into a directory on the node, consistent at an exact replication
// offset, while the node keeps serving (node/persistence/snapshot_writer.h).
//
// The shard's slot ranges and config_epoch come from the node's cluster
// map; a node is asked only about its own shard, and only a primary (or a
// standalone node) takes snapshots for now (see snapshot_service.cc). The
// snapshot runs on a thread of its own (it takes seconds for millions of keys;
// gRPC's callback threads must not block), one at a time per node.
//
// Thread-safety: called by gRPC from many threads at once. The destructor
// waits for a running snapshot to finish.
#ifndef SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_SERVICE_H_
#define SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_SERVICE_H_

#include <thread>

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

class SnapshotServiceImpl final : public v1::SnapshotService::CallbackService {
 public:
  // Not owned; all must outlive the service.
  SnapshotServiceImpl(storage::Store* store, ReplicationLog* log,
                      ClusterState* cluster,
                      SnapshotWriterOptions options = SnapshotWriterOptions());
  ~SnapshotServiceImpl() override;

  SnapshotServiceImpl(const SnapshotServiceImpl&) = delete;
  SnapshotServiceImpl& operator=(const SnapshotServiceImpl&) = delete;

  // INVALID_ARGUMENT for a relative or empty directory, FAILED_PRECONDITION
  // when another snapshot runs, the node is a replica, is in no shard or in
  // another one than asked, or the directory is not empty; then the
  // writer's errors.
  grpc::ServerUnaryReactor* CreateSnapshot(
      grpc::CallbackServerContext* context,
      const v1::CreateSnapshotRequest* request,
      v1::SnapshotManifest* response) override;

  // What the request asks for, resolved against the node's map.
  absl::StatusOr<SnapshotTarget> ResolveTarget(
      const v1::CreateSnapshotRequest& request) const;

 private:
  // Constant after construction.
  storage::Store* const store_;
  ReplicationLog* const log_;
  ClusterState* const cluster_;
  const SnapshotWriterOptions options_;

  Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  // The last snapshot's thread (joined before the next one starts, and by
  // the destructor).
  std::thread worker_ ABSL_GUARDED_BY(mu_);
};

}  // namespace slotcache::node::persistence

#endif  // SLOTCACHE_NODE_PERSISTENCE_SNAPSHOT_SERVICE_H_
