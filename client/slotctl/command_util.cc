#include "client/slotctl/command_util.h"

#include "common/rpc.h"
#include "google/protobuf/util/json_util.h"

namespace slotcache::slotctl {

std::unique_ptr<v1::CoordinatorService::Stub> CoordinatorStub(
    const Context& ctx) {
  return v1::CoordinatorService::NewStub(MakeChannel(ctx.coordinator));
}

std::unique_ptr<grpc::ClientContext> CallContext(const Context& ctx) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(DeadlineIn(ctx.timeout));
  return context;
}

int Fail(const Context& ctx, absl::string_view what, const grpc::Status& status,
         absl::string_view server) {
  std::string message = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    absl::StrAppend(&message, "; is it running at ", server,
                    "? (deploy/local-cluster.sh up starts a local cluster; "
                    "--coordinator=HOST:PORT points elsewhere)");
  } else if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    // gRPC's answer for a method the server lacks has no message.
    message = absl::StrCat(
        "the server at ", server,
        " does not support this call yet (UNIMPLEMENTED); run a coordinator "
        "built from a slotcache version that has it (resharding: "
        "docs/RESHARDING.md)");
  }
  *ctx.err << "slotctl: " << what << " failed: " << message << "\n";
  return kExitFailed;
}

void PrintJson(const Context& ctx, const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  *ctx.out << json;
  if (json.empty() || json.back() != '\n') *ctx.out << "\n";
}

std::optional<v1::ClusterMap> Describe(const Context& ctx, int* exit_code) {
  v1::ClusterMap map;
  auto context = CallContext(ctx);
  grpc::Status status = CoordinatorStub(ctx)->DescribeCluster(
      context.get(), v1::DescribeClusterRequest(), &map);
  if (!status.ok()) {
    *exit_code = Fail(ctx, "DescribeCluster", status, ctx.coordinator);
    return std::nullopt;
  }
  return map;
}

}  // namespace slotcache::slotctl
