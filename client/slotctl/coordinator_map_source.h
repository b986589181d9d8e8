// CoordinatorMapSource: lets the SDK (slotcache::Client) learn the cluster
// map from the coordinator's DescribeCluster instead of from seed nodes.
// slotctl's get/set/del and the cluster integration tests use it.
//
// Thread-safety: safe from any thread.
#ifndef SLOTCACHE_CLIENT_SLOTCTL_COORDINATOR_MAP_SOURCE_H_
#define SLOTCACHE_CLIENT_SLOTCTL_COORDINATOR_MAP_SOURCE_H_

#include <memory>
#include <string>

#include "client/sdk/client.h"
#include "proto/coordinator.grpc.pb.h"

namespace slotcache::slotctl {

class CoordinatorMapSource : public ClusterMapSource {
 public:
  // `coordinator` is host:port.
  explicit CoordinatorMapSource(const std::string& coordinator);

  absl::StatusOr<Result> Fetch(absl::Duration timeout) override;

 private:
  // Constant after construction.
  const std::string coordinator_;
  const std::unique_ptr<v1::CoordinatorService::Stub> stub_;
};

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_COORDINATOR_MAP_SOURCE_H_
