// BackupManager's restore (backup_manager.h): checks, then the
// "restore_backup" operation.
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/slot.h"
#include "coordinator/backup_manager.h"

namespace slotcache::coordinator {

absl::StatusOr<v1::RestoreBackupResponse> BackupManager::RestoreBackup(
    const v1::RestoreBackupRequest& request) {
  const std::string& name = request.name();
  if (absl::Status s = ValidateBackupName(name); !s.ok()) return s;
  if (request.shards() == 0 || request.shards() > kNumSlots ||
      request.replicas() > 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "restore asks for ", request.shards(), " shards x (1+",
        request.replicas(),
        "); give --shards=1.. and --replicas=0..5 (any shard count works: "
        "keys are placed by slot)"));
  }
  const std::shared_ptr<const v1::ClusterMap> current =
      options_.coordinator->CurrentMap();
  if (!current->cluster_id().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cluster ", current->cluster_id(), " already exists with ",
        current->shards_size(),
        " shards; restore creates a new cluster: start a coordinator with an "
        "empty --data_dir (and the same --backup_location) and free nodes"));
  }
  absl::StatusOr<v1::BackupInfo> info = options_.store->ReadManifest(name);
  if (!info.ok()) return info.status();
  if (info->format_version() == 0 ||
      info->format_version() > kBackupFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "backup ", name, " has format version ", info->format_version(),
        "; this build reads only version ", kBackupFormatVersion,
        ": restore it with a slotcache release that knows that version"));
  }
  if (info->name() != name) {
    return absl::DataLossError(absl::StrCat(
        "the backup.json in ", options_.store->BackupLocation(name),
        " describes backup '", info->name(),
        "' (copied from another backup?); restore that one by its own name"));
  }
  if (info->shards_size() == 0) {
    return absl::DataLossError(absl::StrCat(
        "backup ", name, " lists no shards; its backup.json is damaged"));
  }
  for (const v1::ShardBackup& shard : info->shards()) {
    absl::StatusOr<v1::SnapshotManifest> snapshot =
        options_.store->VerifyShard(name, shard, /*full=*/false);
    if (!snapshot.ok()) return snapshot.status();
    if (snapshot->cluster_id() != info->cluster_id()) {
      return absl::DataLossError(absl::StrCat(
          "backup ", name, ": shard ", shard.shard_id(),
          "'s snapshot is of cluster ", snapshot->cluster_id(),
          ", the backup of cluster ", info->cluster_id(),
          ": a foreign snapshot was put there; restore another backup"));
    }
  }
  absl::MutexLock lock(&mu_);
  if (shutdown_) return absl::UnavailableError("coordinator is shutting down");
  if (!backup_running_.empty() || !restore_running_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "backup or restore ",
        backup_running_.empty() ? restore_running_ : backup_running_,
        " is running; one at a time: retry once it finished"));
  }
  const std::string what = absl::StrCat(
      "restore backup ", name, " (cluster ", info->cluster_id(), ", ",
      info->shards_size(), " shards, ", info->key_count(), " keys) into ",
      request.shards(), " shards x (1+", request.replicas(), ")");
  absl::StatusOr<v1::Operation> op = options_.coordinator->BeginOperation(
      "restore_backup", what, "verifying the backup's files", "restore_started",
      what);
  if (!op.ok()) return op.status();
  restore_running_ = name;
  if (restore_thread_.joinable()) restore_thread_.join();
  restore_thread_ =
      std::thread([this, copy = *op, backup = *std::move(info), request] {
        RunRestore(copy, backup, request);
      });
  v1::RestoreBackupResponse response;
  *response.mutable_operation() = *std::move(op);
  return response;
}

void BackupManager::RunRestore(v1::Operation op, v1::BackupInfo info,
                               v1::RestoreBackupRequest request) {
  auto fail = [&](const std::string& why) {
    const std::string outcome =
        absl::StrCat("restore of backup ", info.name(), " failed: ", why);
    (void)options_.coordinator->FinishOperation(
        op.id(), v1::Operation::FAILED, outcome, "restore_failed", outcome);
    Done(/*restore=*/true);
  };
  // 1. Every byte checked before anything is created.
  std::vector<std::string> directories;
  for (int i = 0; i < info.shards_size(); ++i) {
    const v1::ShardBackup& shard = info.shards(i);
    options_.coordinator->SetOperationProgress(
        op.id(), absl::StrCat("verifying ", shard.shard_id(), " (", i + 1, "/",
                              info.shards_size(), ")"));
    absl::StatusOr<v1::SnapshotManifest> verified =
        options_.store->VerifyShard(info.name(), shard, /*full=*/true);
    if (!verified.ok()) {
      fail(absl::StrCat(verified.status().message(), " (nothing created)"));
      return;
    }
    directories.push_back(options_.store->ShardDirectory(info.name(), shard));
  }
  // 2. The cluster, exactly as CreateCluster makes it.
  options_.coordinator->SetOperationProgress(op.id(), "creating the cluster");
  v1::CreateClusterRequest create;
  create.set_shards(request.shards());
  create.set_replicas(request.replicas());
  absl::StatusOr<v1::CreateClusterResponse> created =
      options_.coordinator->CreateCluster(create);
  if (!created.ok()) {
    fail(absl::StrCat("creating the cluster: ", created.status().message(),
                      " (nothing created)"));
    return;
  }
  const v1::ClusterMap& map = created->cluster_map();
  // 3. Each new primary loads its slots' keys from every snapshot.
  struct Load {
    std::string shard_id;
    absl::Status status;
    v1::LoadSnapshotsResponse response;
  };
  std::vector<Load> loads(map.shards_size());
  absl::Mutex progress_mu;
  int done = 0;
  uint64_t keys = 0;
  std::vector<std::thread> workers;
  for (int i = 0; i < map.shards_size(); ++i) {
    workers.emplace_back([&, i] {
      const v1::ShardInfo& shard = map.shards(i);
      Load& load = loads[i];
      load.shard_id = shard.shard_id();
      std::string address;
      for (const v1::NodeInfo& node : map.nodes()) {
        if (node.node_id() == shard.primary_node_id()) address = node.address();
      }
      v1::LoadSnapshotsRequest load_request;
      for (const std::string& d : directories) load_request.add_directories(d);
      *load_request.mutable_slots() = shard.slots();
      // The primary learns its role with its next heartbeat reply: until
      // then it refuses with FAILED_PRECONDITION.
      const absl::Time give_up = absl::Now() + options_.primary_wait;
      while (true) {
        absl::StatusOr<v1::LoadSnapshotsResponse> response =
            options_.snapshots->LoadSnapshots(address, load_request);
        if (response.ok()) {
          load.response = *std::move(response);
          break;
        }
        // Matched by text too: typed node errors may arrive with another
        // code than FAILED_PRECONDITION.
        const bool retry =
            response.status().code() == absl::StatusCode::kUnavailable ||
            ((response.status().code() ==
                  absl::StatusCode::kFailedPrecondition ||
              absl::StrContains(response.status().message(), "no shard")) &&
             absl::StrContains(response.status().message(), "primary"));
        if (!retry || absl::Now() >= give_up ||
            !stop_.SleepFor(options_.retry_interval)) {
          load.status = response.status();
          SC_LOG(WARNING, "restore %s: LoadSnapshots on %s (%s): %s",
                 info.name(), address, shard.shard_id(),
                 response.status().ToString());
          return;
        }
      }
      absl::MutexLock lock(&progress_mu);
      ++done;
      keys += load.response.keys_loaded();
      options_.coordinator->SetOperationProgress(
          op.id(), absl::StrCat("loaded ", done, "/", map.shards_size(),
                                " shards, ", keys, " keys"));
    });
  }
  for (std::thread& w : workers) w.join();
  std::vector<std::string> failures;
  uint64_t expired = 0;
  for (const Load& load : loads) {
    if (!load.status.ok()) {
      failures.push_back(
          absl::StrCat(load.shard_id, ": ", load.status.message()));
    }
    expired += load.response.keys_expired();
  }
  if (!failures.empty()) {
    fail(absl::StrCat(
        absl::StrJoin(failures, "; "), ". Cluster ", map.cluster_id(),
        " was created and holds part of the keys: stop the coordinator, give "
        "it an empty --data_dir, restart the nodes and restore again"));
    return;
  }
  const std::string outcome = absl::StrCat(
      "restored backup ", info.name(), " into cluster ", map.cluster_id(), " (",
      map.shards_size(), " shards x (1+", request.replicas(), ")): ", keys,
      " keys loaded, ", expired, " expired keys skipped");
  (void)options_.coordinator->FinishOperation(
      op.id(), v1::Operation::SUCCEEDED, outcome, "restore_completed", outcome);
  Done(/*restore=*/true);
}

}  // namespace slotcache::coordinator
