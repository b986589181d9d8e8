#include "client/slotctl/coordinator_map_source.h"

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/status.h"

namespace slotcache::slotctl {

CoordinatorMapSource::CoordinatorMapSource(const std::string& coordinator)
    : coordinator_(coordinator),
      stub_(v1::CoordinatorService::NewStub(MakeChannel(coordinator))) {}

absl::StatusOr<ClusterMapSource::Result> CoordinatorMapSource::Fetch(
    absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  Result result;
  grpc::Status status = stub_->DescribeCluster(
      &context, v1::DescribeClusterRequest(), &result.map);
  if (!status.ok()) {
    absl::Status error = FromGrpcStatus(status);
    return absl::Status(
        error.code(),
        absl::StrCat("cannot get the cluster map from the coordinator at ",
                     coordinator_, ": ", error.message()));
  }
  if (result.map.shards_size() == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the coordinator at ", coordinator_,
        " has no cluster yet; create one with `slotctl cluster create`"));
  }
  return result;
}

}  // namespace slotcache::slotctl
