#include "node/server/admin_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status.h"

namespace slotcache::node {

NodeAdminServiceImpl::NodeAdminServiceImpl(
    ClusterState* cluster, const storage::Store* store, Clock* clock,
    std::function<void(v1::NodeStatus*)> fill_status,
    migration::Importer* importer, ReplicationLog* log)
    : cluster_(cluster),
      store_(store),
      clock_(clock),
      started_(clock->Now()),
      fill_status_(std::move(fill_status)),
      importer_(importer),
      log_(log) {}

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

grpc::ServerUnaryReactor* NodeAdminServiceImpl::PauseWrites(
    grpc::CallbackServerContext* context, const v1::PauseWritesRequest* request,
    v1::PauseWritesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Bounded: the coordinator asks for lease + drift margin (well under a
  // second); refuse a pause that would block the shard for longer.
  constexpr uint32_t kMaxPauseMs = 60000;
  if (request->duration_ms() == 0 || request->duration_ms() > kMaxPauseMs) {
    reactor->Finish(ToGrpcStatus(InvalidInputError(
        absl::StrCat("PauseWrites duration_ms must be 1..", kMaxPauseMs,
                     ", got ", request->duration_ms()))));
    return reactor;
  }
  absl::Status paused =
      cluster_->PauseWrites(absl::Milliseconds(request->duration_ms()));
  if (!paused.ok()) {
    reactor->Finish(ToGrpcStatus(paused));
    return reactor;
  }
  v1::NodeStatus status;
  if (fill_status_) fill_status_(&status);
  response->set_replication_id(status.replication_id());
  response->set_offset(status.replication_offset());
  SC_LOG(INFO, "writes paused for %dms for a manual failover at offset %d",
         request->duration_ms(), response->offset());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* NodeAdminServiceImpl::ResumeWrites(
    grpc::CallbackServerContext* context,
    const v1::ResumeWritesRequest* /*request*/,
    v1::ResumeWritesResponse* /*response*/) {
  cluster_->ResumeWrites();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace slotcache::node
