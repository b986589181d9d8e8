// NodeAdminService (proto/admin.proto): the node's status for operators and
// the coordinator, and installing a cluster map.
//
// Thread-safety: called by gRPC from many threads at once; holds no mutable
// state of its own.
#ifndef SLOTCACHE_NODE_SERVER_ADMIN_SERVICE_H_
#define SLOTCACHE_NODE_SERVER_ADMIN_SERVICE_H_

#include <functional>

#include "absl/time/time.h"
#include "common/clock.h"
#include "grpcpp/support/server_callback.h"
#include "node/cluster/cluster_state.h"
#include "node/storage/store.h"
#include "proto/admin.grpc.pb.h"

namespace slotcache::node {

class NodeAdminServiceImpl final
    : public v1::NodeAdminService::CallbackService {
 public:
  // Not owned; all must outlive the service. Uptime counts from now.
  // `fill_status` (optional) adds fields owned by other components (the
  // replication fields, node/replication).
  NodeAdminServiceImpl(
      ClusterState* cluster, const storage::Store* store, Clock* clock,
      std::function<void(v1::NodeStatus*)> fill_status = nullptr);

  grpc::ServerUnaryReactor* GetNodeStatus(
      grpc::CallbackServerContext* context,
      const v1::GetNodeStatusRequest* request,
      v1::NodeStatus* response) override;
  // INVALID_ARGUMENT (changing nothing) for a malformed map; an older map
  // is ignored and the response names the version the node keeps.
  grpc::ServerUnaryReactor* ApplyClusterMap(
      grpc::CallbackServerContext* context, const v1::ClusterMap* request,
      v1::ApplyClusterMapResponse* response) override;

 private:
  // Constant after construction.
  ClusterState* const cluster_;
  const storage::Store* const store_;
  Clock* const clock_;
  const absl::Time started_;
  const std::function<void(v1::NodeStatus*)> fill_status_;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_SERVER_ADMIN_SERVICE_H_
