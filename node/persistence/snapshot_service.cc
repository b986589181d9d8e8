#include "node/persistence/snapshot_service.h"

#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status.h"

namespace slotcache::node::persistence {

SnapshotServiceImpl::SnapshotServiceImpl(storage::Store* store,
                                         ReplicationLog* log,
                                         ClusterState* cluster,
                                         SnapshotWriterOptions options)
    : store_(store),
      log_(log),
      cluster_(cluster),
      options_(std::move(options)) {}

SnapshotServiceImpl::~SnapshotServiceImpl() {
  std::thread worker;
  {
    MutexLock lock(&mu_);
    worker = std::move(worker_);
  }
  if (worker.joinable()) worker.join();
}

absl::StatusOr<SnapshotTarget> SnapshotServiceImpl::ResolveTarget(
    const v1::CreateSnapshotRequest& request) const {
  if (request.directory().empty() ||
      !std::filesystem::path(request.directory()).is_absolute()) {
    return InvalidInputError(absl::StrCat(
        "CreateSnapshot needs an absolute directory path on the node, got '",
        request.directory(), "'"));
  }
  const std::string own_shard = cluster_->shard_id();
  if (own_shard.empty()) {
    return absl::FailedPreconditionError(
        "this node is in no shard of its cluster map (it has no map yet, or "
        "it is joining): nothing to snapshot; retry once it serves a shard");
  }
  if (!request.shard_id().empty() && request.shard_id() != own_shard) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this node is in shard '", own_shard, "', not '", request.shard_id(),
        "'; ask a node of shard '", request.shard_id(), "'"));
  }
  if (cluster_->role() == v1::REPLICA) {
    // Why not from a replica yet: its agent applies an entry to the store
    // before it records it in the log, so a walk can see a state one entry
    // past the log's end; and during a full sync the store is partial
    // while the log stands still. Both need a hook in node/replication
    // (docs/PERSISTENCE.md, "Known limits").
    return absl::FailedPreconditionError(absl::StrCat(
        "this node is a replica of shard '", own_shard,
        "'; snapshots are taken from the shard's primary for now: ask the "
        "primary"));
  }
  const std::shared_ptr<const v1::ClusterMap> map = cluster_->map();
  SnapshotTarget target;
  target.directory = request.directory();
  target.cluster_id =
      request.cluster_id().empty() ? map->cluster_id() : request.cluster_id();
  target.shard_id = own_shard;
  target.node_id = cluster_->identity().node_id;
  for (const v1::ShardInfo& shard : map->shards()) {
    if (shard.shard_id() != own_shard) continue;
    target.slots.assign(shard.slots().begin(), shard.slots().end());
    target.config_epoch = shard.config_epoch();
  }
  if (target.slots.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "shard '", own_shard, "' owns no slots in this node's map (version ",
        map->version(), "): nothing to snapshot"));
  }
  return target;
}

grpc::ServerUnaryReactor* SnapshotServiceImpl::CreateSnapshot(
    grpc::CallbackServerContext* context,
    const v1::CreateSnapshotRequest* request, v1::SnapshotManifest* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<SnapshotTarget> target = ResolveTarget(*request);
  if (!target.ok()) {
    reactor->Finish(ToGrpcStatus(target.status()));
    return reactor;
  }
  MutexLock lock(&mu_);
  if (running_) {
    reactor->Finish(ToGrpcStatus(absl::FailedPreconditionError(
        "a snapshot is already being taken on this node; wait for it to "
        "finish, then ask again")));
    return reactor;
  }
  // The previous snapshot's thread has finished (running_ is false) but
  // may not have been joined yet.
  if (worker_.joinable()) worker_.join();
  running_ = true;
  worker_ = std::thread([this, reactor, response, target = *std::move(target)] {
    SC_LOG(INFO, "snapshot of shard '%s' into %s started", target.shard_id,
           target.directory);
    absl::StatusOr<v1::SnapshotManifest> manifest =
        WriteSnapshot(store_, log_, target, options_);
    {
      MutexLock done(&mu_);
      running_ = false;
    }
    if (!manifest.ok()) {
      SC_LOG(WARNING, "snapshot into %s failed: %s", target.directory,
             manifest.status().message());
      reactor->Finish(ToGrpcStatus(manifest.status()));
      return;
    }
    SC_LOG(INFO, "snapshot into %s complete: %d keys at offset %d",
           target.directory, manifest->key_count(),
           manifest->replication_offset());
    *response = *std::move(manifest);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace slotcache::node::persistence
