// gRPC front of the Coordinator (proto/coordinator.proto): converts
// requests and statuses, and runs the two long-lived streams.
//
// Streams use the synchronous API, one server thread per open stream (one
// per node plus watching clients). Shutdown() ends them promptly instead of
// letting them hold the server's shutdown grace.
//
// Thread-safety: safe to call from gRPC's threads concurrently.
#ifndef SLOTCACHE_COORDINATOR_COORDINATOR_SERVICE_H_
#define SLOTCACHE_COORDINATOR_COORDINATOR_SERVICE_H_

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/backup_manager.h"
#include "coordinator/coordinator.h"
#include "proto/coordinator.grpc.pb.h"

namespace slotcache::coordinator {

class CoordinatorServiceImpl final : public v1::CoordinatorService::Service {
 public:
  // `coordinator` (and `backups`, which may be null: backup calls are then
  // refused) are not owned and must outlive the service.
  explicit CoordinatorServiceImpl(Coordinator* coordinator,
                                  BackupManager* backups = nullptr)
      : coordinator_(coordinator), backups_(backups) {}

  grpc::Status RegisterNode(grpc::ServerContext* context,
                            const v1::RegisterNodeRequest* request,
                            v1::RegisterNodeResponse* response) override;
  grpc::Status Heartbeat(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::HeartbeatResponse, v1::HeartbeatRequest>*
          stream) override;
  grpc::Status WatchClusterMap(
      grpc::ServerContext* context, const v1::WatchClusterMapRequest* request,
      grpc::ServerWriter<v1::ClusterMap>* writer) override;
  grpc::Status CreateCluster(grpc::ServerContext* context,
                             const v1::CreateClusterRequest* request,
                             v1::CreateClusterResponse* response) override;
  grpc::Status DescribeCluster(grpc::ServerContext* context,
                               const v1::DescribeClusterRequest* request,
                               v1::ClusterMap* response) override;
  grpc::Status ListEvents(grpc::ServerContext* context,
                          const v1::ListEventsRequest* request,
                          v1::ListEventsResponse* response) override;
  grpc::Status ListOperations(grpc::ServerContext* context,
                              const v1::ListOperationsRequest* request,
                              v1::ListOperationsResponse* response) override;
  grpc::Status Failover(grpc::ServerContext* context,
                        const v1::FailoverRequest* request,
                        v1::FailoverResponse* response) override;
  grpc::Status MigrateSlots(grpc::ServerContext* context,
                            const v1::MigrateSlotsRequest* request,
                            v1::MigrateSlotsResponse* response) override;
  grpc::Status Rebalance(grpc::ServerContext* context,
                         const v1::RebalanceRequest* request,
                         v1::RebalanceResponse* response) override;
  grpc::Status AddShard(grpc::ServerContext* context,
                        const v1::AddShardRequest* request,
                        v1::AddShardResponse* response) override;
  grpc::Status RemoveShard(grpc::ServerContext* context,
                           const v1::RemoveShardRequest* request,
                           v1::RemoveShardResponse* response) override;
  grpc::Status GetOperation(grpc::ServerContext* context,
                            const v1::GetOperationRequest* request,
                            v1::Operation* response) override;
  grpc::Status CancelOperation(grpc::ServerContext* context,
                               const v1::CancelOperationRequest* request,
                               v1::Operation* response) override;

  grpc::Status CreateBackup(grpc::ServerContext* context,
                            const v1::CreateBackupRequest* request,
                            v1::CreateBackupResponse* response) override;
  grpc::Status ListBackups(grpc::ServerContext* context,
                           const v1::ListBackupsRequest* request,
                           v1::ListBackupsResponse* response) override;
  grpc::Status DescribeBackup(grpc::ServerContext* context,
                              const v1::DescribeBackupRequest* request,
                              v1::BackupInfo* response) override;
  grpc::Status DeleteBackup(grpc::ServerContext* context,
                            const v1::DeleteBackupRequest* request,
                            v1::DeleteBackupResponse* response) override;
  grpc::Status RestoreBackup(grpc::ServerContext* context,
                             const v1::RestoreBackupRequest* request,
                             v1::RestoreBackupResponse* response) override;

  // Cancels every open stream and refuses new ones.
  void Shutdown();

 private:
  // Registers a stream's context for Shutdown(); false when shutting down.
  bool TrackStream(grpc::ServerContext* context);
  void UntrackStream(grpc::ServerContext* context);

  // Constant after construction.
  Coordinator* const coordinator_;
  BackupManager* const backups_;

  absl::Mutex mu_;
  absl::flat_hash_set<grpc::ServerContext*> streams_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_COORDINATOR_SERVICE_H_
