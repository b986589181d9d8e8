// CacheService (proto/cache.proto) on the gRPC callback API: Execute,
// Batch, the Pipeline stream and GetClusterMap.
//
// Commands run inline on gRPC's callback threads: a cache command takes
// microseconds, so handing it to another thread would cost more than it
// saves, and no thread is ever dedicated to a request or a stream.
//
// Errors. A command's own failure (WRONGTYPE, MOVED, a key over the size
// limit, ...) travels in its Reply, and the RPC itself succeeds. A request
// refused as a whole (message or batch over its limit) fails the RPC with
// INVALID_ARGUMENT carrying the typed Error as status details; on Pipeline
// that ends the stream after the responses to the earlier batches.
//
// Replica acks. With RequestOptions.min_replica_acks = N on Execute, Batch
// or a Pipeline batch, the reply is held (the reactor is finished or the
// stream's response queued later, no thread waits) until N replicas
// applied everything the node logged up to the end of the request, or
// replica_ack_timeout_ms passed (0 means kDefaultAckTimeout); replica_acks
// says how many had. On Pipeline the responses behind a waiting batch wait
// too, so they stay in request order.
//
// Thread-safety: the service is called by gRPC from many threads at once;
// it holds no mutable state of its own (each Pipeline stream has a reactor
// with its own lock).
#ifndef SLOTCACHE_NODE_SERVER_CACHE_SERVICE_H_
#define SLOTCACHE_NODE_SERVER_CACHE_SERVICE_H_

#include "absl/status/status.h"
#include "grpcpp/support/server_callback.h"
#include "node/cluster/cluster_state.h"
#include "node/replication/replica_ack_waiter.h"
#include "node/server/dispatcher.h"
#include "proto/cache.grpc.pb.h"

namespace slotcache::node {

class CacheServiceImpl final : public v1::CacheService::CallbackService {
 public:
  // Not owned; all must outlive the service. `acks` (optional) serves
  // min_replica_acks; without it replica_acks is reported as 0.
  CacheServiceImpl(const Dispatcher* dispatcher, const ClusterState* cluster,
                   ReplicaAckWaiter* acks = nullptr);

  grpc::ServerUnaryReactor* Execute(grpc::CallbackServerContext* context,
                                    const v1::ExecuteRequest* request,
                                    v1::ExecuteResponse* response) override;
  grpc::ServerUnaryReactor* Batch(grpc::CallbackServerContext* context,
                                  const v1::BatchRequest* request,
                                  v1::BatchResponse* response) override;
  grpc::ServerBidiReactor<v1::BatchRequest, v1::BatchResponse>* Pipeline(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* GetClusterMap(
      grpc::CallbackServerContext* context,
      const v1::GetClusterMapRequest* request,
      v1::ClusterMap* response) override;

  // Runs every command of `request` in order into `response` (shared by
  // Batch and Pipeline). Non-OK, with `response` untouched, when the
  // request is refused as a whole.
  absl::Status RunBatch(const v1::BatchRequest& request,
                        v1::BatchResponse* response) const;

  // Serves min_replica_acks; nullptr when the node has none.
  ReplicaAckWaiter* acks() const { return acks_; }

 private:
  // Constant after construction.
  const Dispatcher* const dispatcher_;
  const ClusterState* const cluster_;
  ReplicaAckWaiter* const acks_;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_SERVER_CACHE_SERVICE_H_
