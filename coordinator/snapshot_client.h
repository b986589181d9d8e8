// SnapshotClient: the coordinator's calls to a node's SnapshotService
// (proto/persistence.proto) for cluster backup and restore, behind an
// interface so BackupManager is tested with a fake and no network.
//
// Thread-safety: implementations are safe to call from any thread.
#ifndef SLOTCACHE_COORDINATOR_SNAPSHOT_CLIENT_H_
#define SLOTCACHE_COORDINATOR_SNAPSHOT_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/persistence.pb.h"

namespace slotcache::coordinator {

class SnapshotClient {
 public:
  virtual ~SnapshotClient() = default;

  // The node at `address` writes a snapshot of its shard into
  // request.directory() and returns its manifest once it is durable.
  virtual absl::StatusOr<v1::SnapshotManifest> CreateSnapshot(
      const std::string& address, const v1::CreateSnapshotRequest& request) = 0;
  // The primary at `address` loads the snapshots' keys of request.slots().
  virtual absl::StatusOr<v1::LoadSnapshotsResponse> LoadSnapshots(
      const std::string& address, const v1::LoadSnapshotsRequest& request) = 0;
};

// Over gRPC: CreateSnapshot with `create_timeout`, LoadSnapshots with
// `load_timeout` as deadline (both write or read a whole shard).
std::unique_ptr<SnapshotClient> NewGrpcSnapshotClient(
    absl::Duration create_timeout, absl::Duration load_timeout);

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_SNAPSHOT_CLIENT_H_
