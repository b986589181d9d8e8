// ReplicationService (proto/replication.proto) on a primary: serves Sync
// streams to replicas (partial resync from the backlog, or a full sync:
// snapshot then tail) and Digest.
//
// Full sync. The snapshot starts at the log's current end offset S; the
// stream then walks the slots with Store::ScanSlot, sending chunks of about
// kChunkBytes, and finally sends every entry after S. Keys change while the
// walk goes on, so the snapshot alone is fuzzy; but log entries are the
// keys' resulting states (replication_log.h), and every change after S has
// an entry after S, so replaying the tail from S over the fuzzy snapshot
// leaves the replica exactly at the primary's state once it reaches the
// offset where the walk ended (docs/REPLICATION.md has the argument).
// Memory stays bounded: one chunk is built only when the previous one was
// sent (gRPC flow control paces the walk to the replica), and the tail is
// not buffered per replica but read from the shared backlog; if the backlog
// overruns S during the walk, the sync fails and the replica starts over
// (raise --repl_backlog_bytes).
//
// Only a primary serves Sync. A node that is not the primary of its shard
// in its current map (a replica, a node whose map names another primary,
// a coordinated node that restarted and has no map yet) refuses the
// SyncRequest with FAILED_PRECONDITION and the replica backs off and
// retries: otherwise a primary restarted empty at its old address could be
// asked for a sync by its former replicas before its registration demotes
// it, and full-sync them from its empty store (data loss). `SyncGate`
// decides; ReplicationManager gives it the node's role from ClusterState.
//
// Streams are callback reactors: no thread per replica. A write is started
// from OnWriteDone when more data is ready, otherwise by the service's one
// pump thread, which wakes when the log grows.
//
// Thread-safety: called by gRPC from many threads; Stop() once at shutdown.
#ifndef SLOTCACHE_NODE_REPLICATION_REPLICATION_SERVICE_H_
#define SLOTCACHE_NODE_REPLICATION_REPLICATION_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_callback.h"
#include "node/replication/replica_tracker.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"
#include "proto/replication.grpc.pb.h"

namespace slotcache::node {

class SyncStream;

class ReplicationServiceImpl final
    : public v1::ReplicationService::CallbackService {
 public:
  // OK when this node may serve a Sync now; otherwise the error sent to
  // the replica (FAILED_PRECONDITION saying why). Called once per stream,
  // from gRPC threads.
  using SyncGate = std::function<absl::Status()>;

  // Not owned; all must outlive the service.
  ReplicationServiceImpl(ReplicationLog* log, storage::Store* store,
                         ReplicaTracker* tracker, SyncGate may_serve_sync);
  // Stops the pump thread.
  ~ReplicationServiceImpl() override;

  grpc::ServerBidiReactor<v1::ReplicaMessage, v1::PrimaryMessage>* Sync(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Digest(grpc::CallbackServerContext* context,
                                   const v1::DigestRequest* request,
                                   v1::DigestResponse* response) override;

  // Syncs served since start.
  uint64_t full_syncs_served() const { return full_syncs_.load(); }
  uint64_t partial_syncs_served() const { return partial_syncs_.load(); }

  // Ends every stream and the pump thread (before the server shuts down,
  // so open streams do not hold the shutdown up).
  void Stop();

 private:
  friend class SyncStream;
  void Register(SyncStream* stream);
  void Unregister(SyncStream* stream);
  void PumpLoop();
  // The pump has something to do: a replica is connected, or it must stop.
  bool PumpWakeLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(streams_mu_) {
    return stopping_ || !streams_.empty();
  }

  // Constant after construction.
  ReplicationLog* const log_;
  storage::Store* const store_;
  ReplicaTracker* const tracker_;
  const SyncGate may_serve_sync_;

  std::atomic<uint64_t> full_syncs_{0};
  std::atomic<uint64_t> partial_syncs_{0};

  absl::Mutex streams_mu_;
  std::set<SyncStream*> streams_ ABSL_GUARDED_BY(streams_mu_);
  bool stopping_ ABSL_GUARDED_BY(streams_mu_) = false;
  std::thread pump_;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_REPLICATION_REPLICATION_SERVICE_H_
