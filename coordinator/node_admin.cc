#include "coordinator/node_admin.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/status.h"
#include "proto/admin.grpc.pb.h"

namespace slotcache::coordinator {
namespace {

class GrpcNodeAdmin final : public NodeAdmin {
 public:
  explicit GrpcNodeAdmin(absl::Duration rpc_timeout)
      : rpc_timeout_(rpc_timeout) {}

  absl::StatusOr<v1::PauseWritesResponse> PauseWrites(
      const std::string& address, absl::Duration duration) override {
    v1::PauseWritesRequest request;
    request.set_duration_ms(
        static_cast<uint32_t>(absl::ToInt64Milliseconds(duration)));
    v1::PauseWritesResponse response;
    if (absl::Status s = Call(address, "PauseWrites",
                              [&](auto* stub, auto* context) {
                                return stub->PauseWrites(context, request,
                                                         &response);
                              });
        !s.ok()) {
      return s;
    }
    return response;
  }

  absl::Status ResumeWrites(const std::string& address) override {
    v1::ResumeWritesResponse response;
    return Call(address, "ResumeWrites", [&](auto* stub, auto* context) {
      return stub->ResumeWrites(context, v1::ResumeWritesRequest(), &response);
    });
  }

  absl::StatusOr<v1::NodeStatus> GetNodeStatus(
      const std::string& address) override {
    v1::NodeStatus response;
    if (absl::Status s = Call(address, "GetNodeStatus",
                              [&](auto* stub, auto* context) {
                                return stub->GetNodeStatus(
                                    context, v1::GetNodeStatusRequest(),
                                    &response);
                              });
        !s.ok()) {
      return s;
    }
    return response;
  }

  absl::Status ApplyClusterMap(const std::string& address,
                               const v1::ClusterMap& map) override {
    v1::ApplyClusterMapResponse response;
    return Call(address, "ApplyClusterMap", [&](auto* stub, auto* context) {
      return stub->ApplyClusterMap(context, map, &response);
    });
  }

  absl::Status StartImport(const std::string& address,
                           const v1::StartImportRequest& request) override {
    v1::StartImportResponse response;
    return Call(address, "StartImport", [&](auto* stub, auto* context) {
      return stub->StartImport(context, request, &response);
    });
  }

  absl::StatusOr<v1::ImportStatus> GetImportStatus(
      const std::string& address, const std::string& migration_id) override {
    v1::ImportStatusRequest request;
    request.set_migration_id(migration_id);
    return Unary<v1::ImportStatus>(
        address, "GetImportStatus", [&](auto* stub, auto* context, auto* out) {
          return stub->GetImportStatus(context, request, out);
        });
  }

  absl::StatusOr<v1::ImportStatus> FinishImport(
      const std::string& address, const std::string& migration_id) override {
    v1::FinishImportRequest request;
    request.set_migration_id(migration_id);
    return Unary<v1::ImportStatus>(
        address, "FinishImport", [&](auto* stub, auto* context, auto* out) {
          return stub->FinishImport(context, request, out);
        });
  }

  absl::StatusOr<v1::AbortImportResponse> AbortImport(
      const std::string& address,
      const v1::AbortImportRequest& request) override {
    return Unary<v1::AbortImportResponse>(
        address, "AbortImport", [&](auto* stub, auto* context, auto* out) {
          return stub->AbortImport(context, request, out);
        });
  }

  absl::StatusOr<v1::PauseSlotWritesResponse> PauseSlotWrites(
      const std::string& address,
      const v1::PauseSlotWritesRequest& request) override {
    return Unary<v1::PauseSlotWritesResponse>(
        address, "PauseSlotWrites", [&](auto* stub, auto* context, auto* out) {
          return stub->PauseSlotWrites(context, request, out);
        });
  }

  absl::Status ResumeSlotWrites(const std::string& address,
                                const std::string& migration_id) override {
    v1::ResumeSlotWritesRequest request;
    request.set_migration_id(migration_id);
    v1::ResumeSlotWritesResponse response;
    return Call(address, "ResumeSlotWrites", [&](auto* stub, auto* context) {
      return stub->ResumeSlotWrites(context, request, &response);
    });
  }

  absl::StatusOr<v1::SlotStatsResponse> GetSlotStats(
      const std::string& address) override {
    return Unary<v1::SlotStatsResponse>(
        address, "GetSlotStats", [&](auto* stub, auto* context, auto* out) {
          return stub->GetSlotStats(context, v1::SlotStatsRequest(), out);
        });
  }

 private:
  // A call whose response is the result.
  template <typename Response, typename Fn>
  absl::StatusOr<Response> Unary(const std::string& address, const char* what,
                                 Fn fn) {
    Response response;
    if (absl::Status s = Call(address, what,
                              [&](auto* stub, auto* context) {
                                return fn(stub, context, &response);
                              });
        !s.ok()) {
      return s;
    }
    return response;
  }

  // One call on a fresh channel (failovers are rare; gRPC shares the
  // connection of channels with equal arguments anyway).
  template <typename Fn>
  absl::Status Call(const std::string& address, const char* what, Fn fn) {
    auto stub = v1::NodeAdminService::NewStub(MakeChannel(address));
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(rpc_timeout_));
    grpc::Status status = fn(stub.get(), &context);
    if (status.ok()) return absl::OkStatus();
    return absl::Status(
        FromGrpcStatus(status).code(),
        absl::StrCat(what, " on node ", address, ": ", status.error_message()));
  }

  const absl::Duration rpc_timeout_;
};

}  // namespace

std::unique_ptr<NodeAdmin> NewGrpcNodeAdmin(absl::Duration rpc_timeout) {
  return std::make_unique<GrpcNodeAdmin>(rpc_timeout);
}

}  // namespace slotcache::coordinator
