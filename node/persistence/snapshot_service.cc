#include "node/persistence/snapshot_service.h"

#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status.h"
#include "node/persistence/snapshot_format.h"
#include "node/persistence/snapshot_restore.h"

namespace slotcache::node::persistence {

SnapshotServiceImpl::SnapshotServiceImpl(storage::Store* store,
                                         ReplicationLog* log,
                                         ClusterState* cluster,
                                         SnapshotWriterOptions options,
                                         SnapshotServiceOptions service_options)
    : store_(store),
      log_(log),
      cluster_(cluster),
      options_(std::move(options)),
      service_options_(std::move(service_options)) {}

SnapshotServiceImpl::~SnapshotServiceImpl() {
  stopping_.store(true);
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
  if (cluster_->role() == v1::REPLICA && (!service_options_.replica_synced ||
                                          !service_options_.replica_synced())) {
    // A replica's store is its primary's history only once a full sync
    // completed (and while none is loading); the writer also refuses a
    // load that starts meanwhile (ReplicationLog::Checkpoint).
    return absl::FailedPreconditionError(absl::StrCat(
        "this node is a replica of shard '", own_shard,
        "' that has not completed a full sync from its primary (or is "
        "loading one): its store is not a complete copy yet; retry once "
        "NodeStatus shows it in sync, or ask the shard's primary"));
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
  StartJob(reactor, "a snapshot",
           [this, response, target = *std::move(target)]() -> grpc::Status {
             SC_LOG(INFO, "snapshot of shard '%s' into %s started",
                    target.shard_id, target.directory);
             absl::StatusOr<v1::SnapshotManifest> manifest =
                 WriteSnapshot(store_, log_, target, options_);
             if (!manifest.ok()) {
               SC_LOG(WARNING, "snapshot into %s failed: %s", target.directory,
                      manifest.status().message());
               return ToGrpcStatus(manifest.status());
             }
             SC_LOG(INFO, "snapshot into %s complete: %d keys at offset %d",
                    target.directory, manifest->key_count(),
                    manifest->replication_offset());
             *response = *std::move(manifest);
             return grpc::Status::OK;
           });
  return reactor;
}

absl::Status SnapshotServiceImpl::CheckLoad(
    const v1::LoadSnapshotsRequest& request) const {
  absl::StatusOr<SlotSet> wanted = SlotSetOf(request.slots());
  if (!wanted.ok()) return wanted.status();
  if (request.slots().empty()) {
    return absl::InvalidArgumentError(
        "LoadSnapshots needs the slot ranges to load (the slots this node's "
        "shard owns in the restored cluster); give them in `slots`");
  }
  if (cluster_->role() != v1::PRIMARY) {
    return absl::FailedPreconditionError(absl::StrCat(
        "only a shard's primary loads snapshots (its replicas get the keys "
        "by replication), and this node is ",
        cluster_->role() == v1::REPLICA ? "a replica"
                                        : "in no shard of its cluster map",
        "; send LoadSnapshots to the primary of the shard that owns the "
        "slots"));
  }
  const std::shared_ptr<const RoutingTable> table = cluster_->table();
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (wanted->test(slot) && !table->LocalPrimaryOf(slot)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "slot ", slot,
          " is not owned by this node's shard in its map "
          "(version ",
          table->map->version(),
          "); load each slot on the primary of the shard that owns it, "
          "after the restored cluster's map reached the node"));
    }
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* SnapshotServiceImpl::LoadSnapshots(
    grpc::CallbackServerContext* context,
    const v1::LoadSnapshotsRequest* request,
    v1::LoadSnapshotsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = CheckLoad(*request); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  std::vector<std::string> directories(request->directories().begin(),
                                       request->directories().end());
  RestoreOptions restore;
  restore.slots.assign(request->slots().begin(), request->slots().end());
  restore.replica_acked_offsets = service_options_.replica_acked_offsets;
  restore.max_replica_lag_bytes = service_options_.max_replica_lag_bytes;
  restore.throttle_poll = service_options_.throttle_poll;
  restore.stop = &stopping_;
  StartJob(reactor, "a snapshot load",
           [this, response, directories = std::move(directories),
            restore = std::move(restore)]() -> grpc::Status {
             SC_LOG(INFO, "loading %d snapshots started", directories.size());
             absl::StatusOr<RestoreResult> result =
                 RestoreSnapshots(directories, store_, log_, restore);
             if (!result.ok()) {
               SC_LOG(WARNING, "loading snapshots failed: %s",
                      result.status().message());
               return ToGrpcStatus(result.status());
             }
             SC_LOG(INFO,
                    "loading %d snapshots complete: %d keys, %d expired "
                    "skipped",
                    directories.size(), result->keys_loaded,
                    result->keys_expired);
             response->set_keys_loaded(result->keys_loaded);
             response->set_keys_expired(result->keys_expired);
             response->set_bytes_loaded(result->bytes_loaded);
             return grpc::Status::OK;
           });
  return reactor;
}

void SnapshotServiceImpl::StartJob(grpc::ServerUnaryReactor* reactor,
                                   const char* what,
                                   std::function<grpc::Status()> job) {
  MutexLock lock(&mu_);
  if (running_) {
    reactor->Finish(ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
        "a snapshot or a snapshot load is already running on this node, so ",
        what, " cannot start; wait for it to finish, then ask again"))));
    return;
  }
  // The previous job's thread has finished (running_ is false) but may not
  // have been joined yet.
  if (worker_.joinable()) worker_.join();
  running_ = true;
  worker_ = std::thread([this, reactor, job = std::move(job)] {
    const grpc::Status status = job();
    {
      // Before the reply: a client that got its answer may start the next
      // job at once.
      MutexLock done(&mu_);
      running_ = false;
    }
    reactor->Finish(status);
  });
}

}  // namespace slotcache::node::persistence
