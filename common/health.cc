#include "common/health.h"

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/status.h"
#include "grpcpp/client_context.h"
#include "proto/grpc_health/health.grpc.pb.h"

namespace slotcache {

absl::Status CheckHealth(absl::string_view address, absl::Duration timeout,
                         const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "health check of ", address, " failed: ", status.error_message(),
        "; is the server running and reachable?"));
  }
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError(
        absl::StrCat(address, " answers but is not serving (status ",
                     grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                         response.status()),
                     ")"));
  }
  return absl::OkStatus();
}

}  // namespace slotcache
