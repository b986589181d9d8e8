#include "node/server/admin_service.h"

#include <string>
#include <utility>

#include "common/logging.h"
#include "common/status.h"

namespace slotcache::node {

NodeAdminServiceImpl::NodeAdminServiceImpl(
    ClusterState* cluster, const storage::Store* store, Clock* clock,
    std::function<void(v1::NodeStatus*)> fill_status)
    : cluster_(cluster),
      store_(store),
      clock_(clock),
      started_(clock->Now()),
      fill_status_(std::move(fill_status)) {}

grpc::ServerUnaryReactor* NodeAdminServiceImpl::GetNodeStatus(
    grpc::CallbackServerContext* context,
    const v1::GetNodeStatusRequest* /*request*/, v1::NodeStatus* response) {
  NodeIdentity identity = cluster_->identity();
  response->set_node_id(identity.node_id);
  response->set_address(identity.address);
  response->set_az(identity.az);
  response->set_role(cluster_->role());
  response->set_shard_id(cluster_->shard_id());
  response->set_cluster_map_version(cluster_->map_version());
  storage::StoreStats stats = store_->Stats();
  response->set_key_count(stats.keys);
  response->set_used_memory_bytes(stats.used_memory_bytes);
  response->set_maxmemory_bytes(stats.maxmemory_bytes);
  response->set_eviction_policy(
      std::string(storage::EvictionPolicyName(stats.eviction_policy)));
  response->set_expired_keys(stats.expired_keys);
  response->set_evicted_keys(stats.evicted_keys);
  if (fill_status_) fill_status_(response);
  response->set_uptime_seconds(absl::ToInt64Seconds(clock_->Now() - started_));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* NodeAdminServiceImpl::ApplyClusterMap(
    grpc::CallbackServerContext* context, const v1::ClusterMap* request,
    v1::ApplyClusterMapResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<uint64_t> held = cluster_->Apply(*request);
  if (!held.ok()) {
    SC_LOG(WARNING, "refused cluster map version %d: %s", request->version(),
           held.status().message());
    reactor->Finish(ToGrpcStatus(held.status()));
    return reactor;
  }
  if (*held == request->version()) {
    SC_LOG(INFO, "installed cluster map version %d (role %s, shard '%s')",
           *held, v1::Role_Name(cluster_->role()), cluster_->shard_id());
  }
  response->set_cluster_map_version(*held);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace slotcache::node
