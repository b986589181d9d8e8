// NodeAdmin: what the coordinator asks a node directly (proto/admin.proto)
// during a manual failover and a slot migration (docs/RESHARDING.md),
// behind an interface so the Coordinator's state machine is tested with a
// fake and no network.
//
// Thread-safety: implementations are safe to call from any thread.
#ifndef SLOTCACHE_COORDINATOR_NODE_ADMIN_H_
#define SLOTCACHE_COORDINATOR_NODE_ADMIN_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/admin.pb.h"
#include "proto/common.pb.h"

namespace slotcache::coordinator {

class NodeAdmin {
 public:
  virtual ~NodeAdmin() = default;

  // The node at `address` pauses writes for `duration` and returns its
  // exact log position.
  virtual absl::StatusOr<v1::PauseWritesResponse> PauseWrites(
      const std::string& address, absl::Duration duration) = 0;
  virtual absl::Status ResumeWrites(const std::string& address) = 0;
  virtual absl::StatusOr<v1::NodeStatus> GetNodeStatus(
      const std::string& address) = 0;
  // Installs `map` at once instead of with the node's next heartbeat reply.
  virtual absl::Status ApplyClusterMap(const std::string& address,
                                       const v1::ClusterMap& map) = 0;

  // Slot migration, on the target shard's primary.
  virtual absl::Status StartImport(const std::string& address,
                                   const v1::StartImportRequest& request) = 0;
  virtual absl::StatusOr<v1::ImportStatus> GetImportStatus(
      const std::string& address, const std::string& migration_id) = 0;
  virtual absl::StatusOr<v1::ImportStatus> FinishImport(
      const std::string& address, const std::string& migration_id) = 0;
  virtual absl::StatusOr<v1::AbortImportResponse> AbortImport(
      const std::string& address, const v1::AbortImportRequest& request) = 0;
  // Slot migration, on the source shard's primary.
  virtual absl::StatusOr<v1::PauseSlotWritesResponse> PauseSlotWrites(
      const std::string& address,
      const v1::PauseSlotWritesRequest& request) = 0;
  virtual absl::Status ResumeSlotWrites(const std::string& address,
                                        const std::string& migration_id) = 0;
  // Keys per slot on any node (rebalance by keys or bytes).
  virtual absl::StatusOr<v1::SlotStatsResponse> GetSlotStats(
      const std::string& address) = 0;
};

// Over gRPC, each call with `rpc_timeout` as its deadline.
std::unique_ptr<NodeAdmin> NewGrpcNodeAdmin(absl::Duration rpc_timeout);

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_NODE_ADMIN_H_
