// CoordinatorMapSource: the SDK (slotcache::Client) learns the cluster map
// from the coordinator instead of from seed nodes, and keeps learning it:
//
//   ClientOptions options;
//   options.map_source =
//       std::make_shared<CoordinatorMapSource>("10.0.0.2:7100");
//   auto client = Client::Connect(options);
//
// Fetch asks DescribeCluster. StartWatch keeps one WatchClusterMap stream
// open on a background thread and hands every newer map to the client as
// the coordinator publishes it (after a failover, a restarted node's new
// address, ...), so the client switches without waiting for a MOVED or a
// timeout. A broken stream (coordinator down or restarting) is reopened
// with jittered exponential backoff; meanwhile the client keeps using its
// last map (the data plane never waits on the control plane). Maps not
// newer than the last one delivered are never handed on.
//
// Thread-safety: safe from any thread. A Watch calls its callback from its
// own thread, one map at a time.
#ifndef SLOTCACHE_CLIENT_SDK_COORDINATOR_MAP_SOURCE_H_
#define SLOTCACHE_CLIENT_SDK_COORDINATOR_MAP_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "client/sdk/client.h"
#include "client/sdk/retry.h"
#include "proto/coordinator.grpc.pb.h"

namespace slotcache {

class CoordinatorMapSource : public ClusterMapSource {
 public:
  // `coordinator` is host:port. `reconnect` spaces the attempts to reopen a
  // broken watch stream (attempt n waits like retry n of a call).
  explicit CoordinatorMapSource(const std::string& coordinator,
                                const RetryPolicy& reconnect = {
                                    absl::Milliseconds(50), absl::Seconds(2),
                                    2.0, 0.5});

  absl::StatusOr<Result> Fetch(absl::Duration timeout) override;

  std::unique_ptr<Watch> StartWatch(uint64_t after_version,
                                    OnMap on_map) override;

 private:
  // Constant after construction.
  const std::string coordinator_;
  const RetryPolicy reconnect_;
  const std::unique_ptr<v1::CoordinatorService::Stub> stub_;
};

}  // namespace slotcache

#endif  // SLOTCACHE_CLIENT_SDK_COORDINATOR_MAP_SOURCE_H_
