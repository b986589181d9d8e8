#include "coordinator/snapshot_client.h"

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/status.h"
#include "proto/persistence.grpc.pb.h"

namespace slotcache::coordinator {
namespace {

class GrpcSnapshotClient final : public SnapshotClient {
 public:
  GrpcSnapshotClient(absl::Duration create_timeout, absl::Duration load_timeout)
      : create_timeout_(create_timeout), load_timeout_(load_timeout) {}

  absl::StatusOr<v1::SnapshotManifest> CreateSnapshot(
      const std::string& address,
      const v1::CreateSnapshotRequest& request) override {
    auto stub = v1::SnapshotService::NewStub(MakeChannel(address));
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(create_timeout_));
    v1::SnapshotManifest response;
    grpc::Status status = stub->CreateSnapshot(&context, request, &response);
    if (!status.ok()) return Error("CreateSnapshot", address, status);
    return response;
  }

  absl::StatusOr<v1::LoadSnapshotsResponse> LoadSnapshots(
      const std::string& address,
      const v1::LoadSnapshotsRequest& request) override {
    auto stub = v1::SnapshotService::NewStub(MakeChannel(address));
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(load_timeout_));
    v1::LoadSnapshotsResponse response;
    grpc::Status status = stub->LoadSnapshots(&context, request, &response);
    if (!status.ok()) return Error("LoadSnapshots", address, status);
    return response;
  }

 private:
  static absl::Status Error(const char* what, const std::string& address,
                            const grpc::Status& status) {
    return absl::Status(
        FromGrpcStatus(status).code(),
        absl::StrCat(what, " on node ", address, ": ", status.error_message()));
  }

  const absl::Duration create_timeout_;
  const absl::Duration load_timeout_;
};

}  // namespace

std::unique_ptr<SnapshotClient> NewGrpcSnapshotClient(
    absl::Duration create_timeout, absl::Duration load_timeout) {
  return std::make_unique<GrpcSnapshotClient>(create_timeout, load_timeout);
}

}  // namespace slotcache::coordinator
