#include "coordinator/coordinator_service.h"

#include <algorithm>
#include <thread>

#include "absl/time/time.h"
#include "common/status.h"

namespace slotcache::coordinator {
namespace {

// How often a WatchClusterMap stream wakes to notice a cancelled client.
constexpr absl::Duration kWatchPoll = absl::Milliseconds(500);
// How often a heartbeat stream's map pusher wakes to notice the stream
// ended (its handler waits this long at most for the pusher to stop).
constexpr absl::Duration kPushPoll = absl::Milliseconds(100);

// The reply of a unary call: `result`'s value, or its error (typed).
template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status ShuttingDown() {
  return ToGrpcStatus(absl::UnavailableError(
      "coordinator is shutting down; reconnect to it (or its replacement)"));
}

}  // namespace

bool CoordinatorServiceImpl::TrackStream(grpc::ServerContext* context) {
  absl::MutexLock lock(&mu_);
  if (shutdown_) return false;
  streams_.insert(context);
  return true;
}

void CoordinatorServiceImpl::UntrackStream(grpc::ServerContext* context) {
  absl::MutexLock lock(&mu_);
  streams_.erase(context);
}

void CoordinatorServiceImpl::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
  for (grpc::ServerContext* context : streams_) context->TryCancel();
}

grpc::Status CoordinatorServiceImpl::RegisterNode(
    grpc::ServerContext*, const v1::RegisterNodeRequest* request,
    v1::RegisterNodeResponse* response) {
  absl::StatusOr<v1::RegisterNodeResponse> result =
      coordinator_->RegisterNode(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

namespace {

// One heartbeat stream's shared state: the handler thread reads heartbeats
// and writes their replies, the pusher thread writes newly published maps;
// gRPC allows one Read alongside one Write, so writes take turns here.
struct HeartbeatStream {
  explicit HeartbeatStream(
      grpc::ServerReaderWriter<v1::HeartbeatResponse, v1::HeartbeatRequest>*
          stream)
      : stream(stream) {}

  bool Write(const v1::HeartbeatResponse& response) {
    absl::MutexLock lock(&write_mu);
    return stream->Write(response);
  }
  // The node has (or was sent) this map version.
  void NoteVersion(uint64_t version) {
    absl::MutexLock lock(&mu);
    node_version = std::max(node_version, version);
  }
  uint64_t NodeVersion() {
    absl::MutexLock lock(&mu);
    return node_version;
  }

  grpc::ServerReaderWriter<v1::HeartbeatResponse, v1::HeartbeatRequest>* const
      stream;
  absl::Mutex write_mu;
  absl::Mutex mu;
  uint64_t node_version ABSL_GUARDED_BY(mu) = 0;
  bool ended ABSL_GUARDED_BY(mu) = false;
};

}  // namespace

grpc::Status CoordinatorServiceImpl::Heartbeat(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::HeartbeatResponse, v1::HeartbeatRequest>*
        stream) {
  if (!TrackStream(context)) return ShuttingDown();
  HeartbeatStream shared(stream);
  // Pushes a map as soon as it is published (a failover's switch), so the
  // node need not wait for its next heartbeat's reply. The lease is not
  // touched: a push grants none, and the node heartbeats at once on a
  // push to get its lease (if any) in the reply.
  auto push_maps = [this, context, &shared] {
    for (;;) {
      {
        absl::MutexLock lock(&shared.mu);
        if (shared.ended) return;
      }
      if (context->IsCancelled()) return;
      std::shared_ptr<const v1::ClusterMap> map =
          coordinator_->WaitForMapAfter(shared.NodeVersion(), kPushPoll);
      if (map == nullptr || map->version() <= shared.NodeVersion()) continue;
      shared.NoteVersion(map->version());
      v1::HeartbeatResponse push;
      push.set_pushed(true);
      *push.mutable_cluster_map() = *map;
      if (!shared.Write(push)) return;
    }
  };
  std::thread pusher;
  grpc::Status status = grpc::Status::OK;
  v1::HeartbeatRequest request;
  while (stream->Read(&request)) {
    shared.NoteVersion(request.cluster_map_version());
    absl::StatusOr<v1::HeartbeatResponse> response =
        coordinator_->Heartbeat(request);
    if (!response.ok()) {
      status = ToGrpcStatus(response.status());
      break;
    }
    if (response->has_cluster_map()) {
      shared.NoteVersion(response->cluster_map().version());
    }
    if (!shared.Write(*response)) break;
    if (request.accepts_pushed_maps() && !pusher.joinable()) {
      pusher = std::thread(push_maps);
    }
  }
  {
    absl::MutexLock lock(&shared.mu);
    shared.ended = true;
  }
  if (pusher.joinable()) pusher.join();
  UntrackStream(context);
  return status;
}

grpc::Status CoordinatorServiceImpl::WatchClusterMap(
    grpc::ServerContext* context, const v1::WatchClusterMapRequest* request,
    grpc::ServerWriter<v1::ClusterMap>* writer) {
  if (!TrackStream(context)) return ShuttingDown();
  uint64_t sent = request->after_version();
  std::shared_ptr<const v1::ClusterMap> map = coordinator_->CurrentMap();
  while (!context->IsCancelled()) {
    if (map != nullptr && map->version() > sent) {
      if (!writer->Write(*map)) break;
      sent = map->version();
    }
    map = coordinator_->WaitForMapAfter(sent, kWatchPoll);
  }
  UntrackStream(context);
  return grpc::Status::OK;
}

grpc::Status CoordinatorServiceImpl::CreateCluster(
    grpc::ServerContext*, const v1::CreateClusterRequest* request,
    v1::CreateClusterResponse* response) {
  absl::StatusOr<v1::CreateClusterResponse> result =
      coordinator_->CreateCluster(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

grpc::Status CoordinatorServiceImpl::DescribeCluster(
    grpc::ServerContext*, const v1::DescribeClusterRequest*,
    v1::ClusterMap* response) {
  *response = coordinator_->Describe();
  return grpc::Status::OK;
}

grpc::Status CoordinatorServiceImpl::ListEvents(
    grpc::ServerContext*, const v1::ListEventsRequest* request,
    v1::ListEventsResponse* response) {
  absl::StatusOr<v1::ListEventsResponse> result =
      coordinator_->ListEvents(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

grpc::Status CoordinatorServiceImpl::ListOperations(
    grpc::ServerContext*, const v1::ListOperationsRequest*,
    v1::ListOperationsResponse* response) {
  *response = coordinator_->ListOperations();
  return grpc::Status::OK;
}

grpc::Status CoordinatorServiceImpl::Failover(
    grpc::ServerContext*, const v1::FailoverRequest* request,
    v1::FailoverResponse* response) {
  absl::StatusOr<v1::FailoverResponse> result =
      coordinator_->StartFailover(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

grpc::Status CoordinatorServiceImpl::MigrateSlots(
    grpc::ServerContext*, const v1::MigrateSlotsRequest* request,
    v1::MigrateSlotsResponse* response) {
  return Reply(coordinator_->MigrateSlots(*request), response);
}

grpc::Status CoordinatorServiceImpl::Rebalance(
    grpc::ServerContext*, const v1::RebalanceRequest* request,
    v1::RebalanceResponse* response) {
  return Reply(coordinator_->Rebalance(*request), response);
}

grpc::Status CoordinatorServiceImpl::AddShard(
    grpc::ServerContext*, const v1::AddShardRequest* request,
    v1::AddShardResponse* response) {
  return Reply(coordinator_->AddShard(*request), response);
}

grpc::Status CoordinatorServiceImpl::RemoveShard(
    grpc::ServerContext*, const v1::RemoveShardRequest* request,
    v1::RemoveShardResponse* response) {
  return Reply(coordinator_->RemoveShard(*request), response);
}

grpc::Status CoordinatorServiceImpl::GetOperation(
    grpc::ServerContext*, const v1::GetOperationRequest* request,
    v1::Operation* response) {
  return Reply(coordinator_->GetOperation(request->operation_id()), response);
}

grpc::Status CoordinatorServiceImpl::CancelOperation(
    grpc::ServerContext*, const v1::CancelOperationRequest* request,
    v1::Operation* response) {
  return Reply(coordinator_->CancelOperation(request->operation_id()),
               response);
}

namespace {

grpc::Status NoBackups() {
  return ToGrpcStatus(absl::FailedPreconditionError(
      "this coordinator has no backup location; start it with "
      "--backup_location=file:///PATH"));
}

}  // namespace

grpc::Status CoordinatorServiceImpl::CreateBackup(
    grpc::ServerContext*, const v1::CreateBackupRequest* request,
    v1::CreateBackupResponse* response) {
  if (backups_ == nullptr) return NoBackups();
  return Reply(backups_->CreateBackup(*request), response);
}

grpc::Status CoordinatorServiceImpl::ListBackups(
    grpc::ServerContext*, const v1::ListBackupsRequest*,
    v1::ListBackupsResponse* response) {
  if (backups_ == nullptr) return NoBackups();
  return Reply(backups_->ListBackups(), response);
}

grpc::Status CoordinatorServiceImpl::DescribeBackup(
    grpc::ServerContext*, const v1::DescribeBackupRequest* request,
    v1::BackupInfo* response) {
  if (backups_ == nullptr) return NoBackups();
  return Reply(backups_->DescribeBackup(request->name()), response);
}

grpc::Status CoordinatorServiceImpl::DeleteBackup(
    grpc::ServerContext*, const v1::DeleteBackupRequest* request,
    v1::DeleteBackupResponse*) {
  if (backups_ == nullptr) return NoBackups();
  return ToGrpcStatus(backups_->DeleteBackup(request->name()));
}

grpc::Status CoordinatorServiceImpl::RestoreBackup(
    grpc::ServerContext*, const v1::RestoreBackupRequest* request,
    v1::RestoreBackupResponse* response) {
  if (backups_ == nullptr) return NoBackups();
  return Reply(backups_->RestoreBackup(*request), response);
}

}  // namespace slotcache::coordinator
