// NodeAdminService (proto/admin.proto): the node's status for operators and
// the coordinator, installing a cluster map, the write pause of a manual
// failover, and slot migration (import on the target, slot write pause on
// the source, slot stats; admin_migration.cc, docs/RESHARDING.md).
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
#include "node/migration/importer.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"
#include "proto/admin.grpc.pb.h"

namespace slotcache::node {

class NodeAdminServiceImpl final
    : public v1::NodeAdminService::CallbackService {
 public:
  // Not owned; all must outlive the service. Uptime counts from now.
  // `fill_status` (optional) adds fields owned by other components (the
  // replication fields, node/replication).
  // `importer` and `log` (optional) serve the migration RPCs, which
  // answer UNIMPLEMENTED without them.
  NodeAdminServiceImpl(
      ClusterState* cluster, const storage::Store* store, Clock* clock,
      std::function<void(v1::NodeStatus*)> fill_status = nullptr,
      migration::Importer* importer = nullptr, ReplicationLog* log = nullptr);

  grpc::ServerUnaryReactor* GetNodeStatus(
      grpc::CallbackServerContext* context,
      const v1::GetNodeStatusRequest* request,
      v1::NodeStatus* response) override;
  // INVALID_ARGUMENT (changing nothing) for a malformed map; an older map
  // is ignored and the response names the version the node keeps.
  grpc::ServerUnaryReactor* ApplyClusterMap(
      grpc::CallbackServerContext* context, const v1::ClusterMap* request,
      v1::ApplyClusterMapResponse* response) override;
  // Manual failover (ClusterState::PauseWrites). The offset comes from
  // `fill_status` (the replication fields), read after the pause drained
  // every earlier request, so it is final while the pause lasts.
  grpc::ServerUnaryReactor* PauseWrites(
      grpc::CallbackServerContext* context,
      const v1::PauseWritesRequest* request,
      v1::PauseWritesResponse* response) override;
  grpc::ServerUnaryReactor* ResumeWrites(
      grpc::CallbackServerContext* context,
      const v1::ResumeWritesRequest* request,
      v1::ResumeWritesResponse* response) override;

  // Slot migration (admin_migration.cc): the Importer's calls on the
  // target, and ClusterState's slot write pause on the source.
  grpc::ServerUnaryReactor* StartImport(
      grpc::CallbackServerContext* context,
      const v1::StartImportRequest* request,
      v1::StartImportResponse* response) override;
  grpc::ServerUnaryReactor* GetImportStatus(
      grpc::CallbackServerContext* context,
      const v1::ImportStatusRequest* request,
      v1::ImportStatus* response) override;
  grpc::ServerUnaryReactor* FinishImport(grpc::CallbackServerContext* context,
                                         const v1::FinishImportRequest* request,
                                         v1::ImportStatus* response) override;
  grpc::ServerUnaryReactor* AbortImport(
      grpc::CallbackServerContext* context,
      const v1::AbortImportRequest* request,
      v1::AbortImportResponse* response) override;
  // Returns once every earlier request finished, with the log's reserved
  // offset then: every write to the slots is at or below it.
  grpc::ServerUnaryReactor* PauseSlotWrites(
      grpc::CallbackServerContext* context,
      const v1::PauseSlotWritesRequest* request,
      v1::PauseSlotWritesResponse* response) override;
  grpc::ServerUnaryReactor* ResumeSlotWrites(
      grpc::CallbackServerContext* context,
      const v1::ResumeSlotWritesRequest* request,
      v1::ResumeSlotWritesResponse* response) override;
  grpc::ServerUnaryReactor* GetSlotStats(
      grpc::CallbackServerContext* context, const v1::SlotStatsRequest* request,
      v1::SlotStatsResponse* response) override;

 private:
  // UNIMPLEMENTED unless the migration parts were given.
  absl::Status MigrationReady() const;

  // Constant after construction.
  ClusterState* const cluster_;
  const storage::Store* const store_;
  Clock* const clock_;
  const absl::Time started_;
  const std::function<void(v1::NodeStatus*)> fill_status_;
  migration::Importer* const importer_;
  ReplicationLog* const log_;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_SERVER_ADMIN_SERVICE_H_
