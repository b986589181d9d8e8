#include "coordinator/coordinator_service.h"

#include "absl/time/time.h"
#include "common/status.h"

namespace slotcache::coordinator {
namespace {

// How often a WatchClusterMap stream wakes to notice a cancelled client.
constexpr absl::Duration kWatchPoll = absl::Milliseconds(500);

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

grpc::Status CoordinatorServiceImpl::Heartbeat(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::HeartbeatResponse, v1::HeartbeatRequest>*
        stream) {
  if (!TrackStream(context)) return ShuttingDown();
  grpc::Status status = grpc::Status::OK;
  v1::HeartbeatRequest request;
  while (stream->Read(&request)) {
    absl::StatusOr<v1::HeartbeatResponse> response =
        coordinator_->Heartbeat(request);
    if (!response.ok()) {
      status = ToGrpcStatus(response.status());
      break;
    }
    if (!stream->Write(*response)) break;
  }
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

}  // namespace slotcache::coordinator
