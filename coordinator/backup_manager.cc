#include "coordinator/backup_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/slot.h"

namespace slotcache::coordinator {
namespace {

bool IsResharding(const v1::Operation& op) {
  return op.state() == v1::Operation::RUNNING &&
         (op.kind() == "migrate_slots" || op.kind() == "rebalance" ||
          op.kind() == "remove_shard");
}

const v1::NodeInfo* FindNode(const v1::ClusterMap& map, const std::string& id) {
  for (const v1::NodeInfo& node : map.nodes()) {
    if (node.node_id() == id) return &node;
  }
  return nullptr;
}

// Every slot covered exactly once by the backup's shards.
absl::Status CheckSlotCoverage(const v1::BackupInfo& info) {
  std::vector<int> owners(kNumSlots, 0);
  for (const v1::ShardBackup& shard : info.shards()) {
    for (const v1::SlotRange& r : shard.slots()) {
      if (r.start() > r.end() || r.end() >= kNumSlots) {
        return absl::DataLossError(
            absl::StrCat("backup ", info.name(), ": shard ", shard.shard_id(),
                         " lists slot range ", r.start(), "-", r.end(),
                         ", which is not valid; the backup.json is damaged"));
      }
      for (uint32_t s = r.start(); s <= r.end(); ++s) ++owners[s];
    }
  }
  const auto missing = std::count(owners.begin(), owners.end(), 0);
  const auto doubled =
      std::count_if(owners.begin(), owners.end(), [](int n) { return n > 1; });
  if (missing != 0 || doubled != 0) {
    return absl::DataLossError(absl::StrCat(
        "backup ", info.name(), " does not hold every slot once (", missing,
        " slots missing, ", doubled,
        " in more than one shard): it is partial or mixes clusters; restore "
        "another backup"));
  }
  return absl::OkStatus();
}

}  // namespace

BackupManager::BackupManager(const BackupOptions& options)
    : options_(options) {}

BackupManager::~BackupManager() { Shutdown(); }

void BackupManager::Shutdown() {
  stop_.Stop();
  if (scheduler_.joinable()) scheduler_.join();
  std::thread backup;
  std::thread restore;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    backup.swap(backup_thread_);
    restore.swap(restore_thread_);
  }
  if (backup.joinable()) backup.join();
  if (restore.joinable()) restore.join();
}

void BackupManager::Done(bool restore) {
  absl::MutexLock lock(&mu_);
  (restore ? restore_running_ : backup_running_).clear();
}

bool BackupManager::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return backup_running_.empty() && restore_running_.empty();
  };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

absl::StatusOr<v1::CreateBackupResponse> BackupManager::CreateBackup(
    const v1::CreateBackupRequest& request) {
  std::string name = request.name();
  if (name.empty()) {
    const std::string base = absl::StrCat(
        "backup-", absl::FormatTime("%Y%m%d-%H%M%S", options_.clock->Now(),
                                    absl::UTCTimeZone()));
    name = base;
    for (int i = 2; options_.store->Exists(name); ++i) {
      name = absl::StrCat(base, "-", i);
    }
  }
  absl::StatusOr<v1::Operation> op = StartBackup(name, "manual");
  if (!op.ok()) return op.status();
  v1::CreateBackupResponse response;
  *response.mutable_operation() = *std::move(op);
  return response;
}

absl::StatusOr<v1::Operation> BackupManager::StartBackup(
    const std::string& name, const std::string& trigger) {
  if (absl::Status s = ValidateBackupName(name); !s.ok()) return s;
  std::shared_ptr<const v1::ClusterMap> map =
      std::make_shared<v1::ClusterMap>(options_.coordinator->Describe());
  if (map->cluster_id().empty()) {
    return absl::FailedPreconditionError(
        "there is no cluster to back up; create one with `slotctl cluster "
        "create` (or restore a backup with `slotctl backup restore`)");
  }
  const v1::ListOperationsResponse ops = options_.coordinator->ListOperations();
  for (const v1::Operation& op : ops.operations()) {
    if (IsResharding(op)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "slots are moving (", op.id(), ", ", op.kind(),
          "): a backup now could miss or double keys; retry once it "
          "finished (`slotctl reshard status` / operations)"));
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
  if (options_.store->Exists(name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("a backup named '", name, "' already exists in ",
                     options_.store->Location(),
                     "; pick another --name or delete it first with "
                     "`slotctl backup delete ",
                     name, "`"));
  }
  absl::StatusOr<v1::Operation> op = options_.coordinator->BeginOperation(
      "backup",
      absl::StrCat(trigger, " backup ", name, " of cluster ", map->cluster_id(),
                   " to ", options_.store->BackupLocation(name)),
      absl::StrCat("0/", map->shards_size(), " shards, 0 keys"),
      "backup_started",
      absl::StrCat(trigger, " backup ", name, " of ", map->shards_size(),
                   " shards"));
  if (!op.ok()) return op.status();
  backup_running_ = name;
  // The previous one is past Done() (backup_running_ was empty).
  if (backup_thread_.joinable()) backup_thread_.join();
  backup_thread_ = std::thread([this, copy = *op, name, trigger, map] {
    RunBackup(copy, name, trigger, map);
  });
  return op;
}

absl::StatusOr<v1::SnapshotManifest> BackupManager::SnapshotShard(
    const v1::ClusterMap& map, const v1::ShardInfo& shard,
    const std::string& name, const std::string& directory,
    std::string* node_id) {
  // Healthy replicas, least behind first, then the primary.
  std::vector<const v1::NodeInfo*> replicas;
  for (const std::string& id : shard.replica_node_ids()) {
    const v1::NodeInfo* node = FindNode(map, id);
    if (node != nullptr && node->health() == v1::HEALTHY) {
      replicas.push_back(node);
    }
  }
  std::stable_sort(replicas.begin(), replicas.end(),
                   [](const v1::NodeInfo* a, const v1::NodeInfo* b) {
                     return a->replication_lag_seconds() <
                            b->replication_lag_seconds();
                   });
  std::vector<std::string> refused;
  const v1::NodeInfo* primary = FindNode(map, shard.primary_node_id());
  if (options_.node_admin != nullptr && primary != nullptr &&
      !replicas.empty()) {
    // Where the primary is now: the replica must have applied this much.
    absl::StatusOr<v1::NodeStatus> at_start =
        options_.node_admin->GetNodeStatus(primary->address());
    std::vector<const v1::NodeInfo*> caught_up;
    for (const v1::NodeInfo* replica : replicas) {
      if (!at_start.ok()) break;
      const absl::Time give_up = absl::Now() + options_.catch_up_timeout;
      while (true) {
        absl::StatusOr<v1::NodeStatus> status =
            options_.node_admin->GetNodeStatus(replica->address());
        if (status.ok() &&
            status->replication_id() == at_start->replication_id() &&
            status->replication_offset() >= at_start->replication_offset()) {
          caught_up.push_back(replica);
          break;
        }
        if (absl::Now() >= give_up || !stop_.SleepFor(absl::Milliseconds(10))) {
          refused.push_back(absl::StrCat(
              "replica ", replica->node_id(), " did not reach offset ",
              at_start->replication_offset(), " within ",
              absl::FormatDuration(options_.catch_up_timeout)));
          break;
        }
      }
    }
    if (!at_start.ok()) {
      refused.push_back(std::string(at_start.status().message()));
    }
    replicas = caught_up;
  }
  v1::CreateSnapshotRequest request;
  request.set_directory(directory);
  request.set_cluster_id(map.cluster_id());
  request.set_shard_id(shard.shard_id());
  for (const v1::NodeInfo* replica : replicas) {
    absl::StatusOr<v1::SnapshotManifest> manifest =
        options_.snapshots->CreateSnapshot(replica->address(), request);
    if (manifest.ok()) {
      *node_id = replica->node_id();
      return manifest;
    }
    if (manifest.status().code() != absl::StatusCode::kFailedPrecondition &&
        manifest.status().code() != absl::StatusCode::kUnavailable &&
        manifest.status().code() != absl::StatusCode::kUnimplemented) {
      return manifest.status();
    }
    refused.push_back(std::string(manifest.status().message()));
    // Whatever the refused attempt left is removed before the next one.
    absl::StatusOr<std::string> again =
        options_.store->PrepareShardDirectory(name, shard.shard_id());
    if (!again.ok()) return again.status();
    break;
  }
  if (primary == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        shard.shard_id(), " has no primary and no replica took the snapshot",
        refused.empty() ? "" : " (", absl::StrJoin(refused, "; "),
        refused.empty() ? "" : ")", "; retry once it has one"));
  }
  absl::StatusOr<v1::SnapshotManifest> manifest =
      options_.snapshots->CreateSnapshot(primary->address(), request);
  if (!manifest.ok()) return manifest.status();
  *node_id = primary->node_id();
  return manifest;
}

void BackupManager::RunBackup(v1::Operation op, std::string name,
                              std::string trigger,
                              std::shared_ptr<const v1::ClusterMap> map) {
  const int total = map->shards_size();
  struct Result {
    absl::Status status;
    v1::SnapshotManifest manifest;
    std::string node_id;
  };
  std::vector<Result> results(total);
  absl::Mutex progress_mu;
  int done = 0;
  uint64_t keys = 0;
  std::vector<std::thread> workers;
  for (int i = 0; i < total; ++i) {
    workers.emplace_back([&, i] {
      const v1::ShardInfo& shard = map->shards(i);
      Result& result = results[i];
      absl::StatusOr<std::string> dir =
          options_.store->PrepareShardDirectory(name, shard.shard_id());
      absl::StatusOr<v1::SnapshotManifest> manifest =
          dir.ok() ? SnapshotShard(*map, shard, name, *dir, &result.node_id)
                   : absl::StatusOr<v1::SnapshotManifest>(dir.status());
      if (!manifest.ok()) {
        result.status = manifest.status();
        return;
      }
      result.manifest = *std::move(manifest);
      absl::MutexLock lock(&progress_mu);
      ++done;
      keys += result.manifest.key_count();
      options_.coordinator->SetOperationProgress(
          op.id(), absl::StrCat(done, "/", total, " shards, ", keys, " keys"));
    });
  }
  for (std::thread& w : workers) w.join();

  v1::BackupInfo info;
  info.set_name(name);
  info.set_location(options_.store->BackupLocation(name));
  info.set_cluster_id(map->cluster_id());
  info.set_map_version(map->version());
  info.set_created_unix_ms(absl::ToUnixMillis(options_.clock->Now()));
  info.set_trigger(trigger);
  info.set_format_version(kBackupFormatVersion);
  std::string failure;
  for (int i = 0; i < total && failure.empty(); ++i) {
    const Result& result = results[i];
    if (!result.status.ok()) {
      failure = absl::StrCat(map->shards(i).shard_id(), ": ",
                             result.status.message());
      break;
    }
    v1::ShardBackup& shard = *info.add_shards();
    shard.set_shard_id(map->shards(i).shard_id());
    *shard.mutable_slots() = result.manifest.slots();
    shard.set_directory(map->shards(i).shard_id());
    shard.set_node_id(result.node_id);
    shard.set_replication_id(result.manifest.replication_id());
    shard.set_replication_offset(result.manifest.replication_offset());
    shard.set_config_epoch(result.manifest.config_epoch());
    shard.set_key_count(result.manifest.key_count());
    shard.set_bytes(result.manifest.total_bytes());
    info.set_key_count(info.key_count() + shard.key_count());
    info.set_bytes(info.bytes() + shard.bytes());
  }
  if (failure.empty()) {
    if (absl::Status s = CheckSlotCoverage(info); !s.ok()) {
      failure = absl::StrCat(
          std::string(s.message()),
          " (the slot map changed while the shards were snapshotted)");
    }
  }
  if (failure.empty()) {
    if (absl::Status s = options_.store->WriteManifest(info); !s.ok()) {
      failure = std::string(s.message());
    }
  }
  if (failure.empty()) {
    const std::string outcome = absl::StrCat(
        "backup ", name, " complete: ", total, " shards, ", info.key_count(),
        " keys, ", info.bytes(), " bytes at ", info.location());
    (void)options_.coordinator->FinishOperation(
        op.id(), v1::Operation::SUCCEEDED, outcome, "backup_completed",
        outcome);
  } else {
    (void)options_.store->Delete(name);
    const std::string outcome =
        absl::StrCat("backup ", name, " failed (nothing kept): ", failure,
                     "; fix the shard and run `slotctl backup create` again");
    (void)options_.coordinator->FinishOperation(
        op.id(), v1::Operation::FAILED, outcome, "backup_failed", outcome);
  }
  Done(/*restore=*/false);
}

absl::StatusOr<v1::ListBackupsResponse> BackupManager::ListBackups() {
  absl::StatusOr<std::vector<v1::BackupInfo>> list = options_.store->List();
  if (!list.ok()) return list.status();
  v1::ListBackupsResponse response;
  for (v1::BackupInfo& info : *list) *response.add_backups() = std::move(info);
  return response;
}

absl::StatusOr<v1::BackupInfo> BackupManager::DescribeBackup(
    const std::string& name) {
  if (absl::Status s = ValidateBackupName(name); !s.ok()) return s;
  return options_.store->ReadManifest(name);
}

absl::Status BackupManager::DeleteBackup(const std::string& name) {
  if (absl::Status s = ValidateBackupName(name); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    if (backup_running_ == name || restore_running_ == name) {
      return absl::FailedPreconditionError(
          absl::StrCat("backup ", name, " is being ",
                       backup_running_ == name ? "written" : "restored",
                       "; delete it once that operation finished"));
    }
  }
  if (absl::Status s = options_.store->Delete(name); !s.ok()) return s;
  (void)options_.coordinator->RecordEvent(
      "backup_deleted", absl::StrCat("backup ", name, " deleted from ",
                                     options_.store->Location()));
  return absl::OkStatus();
}

absl::StatusOr<v1::Operation> BackupManager::RunScheduledBackup() {
  const std::string name = absl::StrCat(
      "scheduled-", absl::FormatTime("%Y%m%d-%H%M%S", options_.clock->Now(),
                                     absl::UTCTimeZone()));
  std::string unique = name;
  for (int i = 2; options_.store->Exists(unique); ++i) {
    unique = absl::StrCat(name, "-", i);
  }
  absl::StatusOr<v1::Operation> op = StartBackup(unique, "scheduled");
  if (!op.ok()) return op.status();
  {
    absl::MutexLock lock(&mu_);
    auto finished = [this, &unique]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return backup_running_ != unique;
    };
    mu_.Await(absl::Condition(&finished));
  }
  absl::StatusOr<v1::Operation> result =
      options_.coordinator->GetOperation(op->id());
  if (result.ok() && result->state() == v1::Operation::SUCCEEDED) {
    ApplyRetention();
  }
  return result;
}

void BackupManager::ApplyRetention() {
  if (options_.retention <= 0) return;
  absl::StatusOr<std::vector<v1::BackupInfo>> list = options_.store->List();
  if (!list.ok()) return;
  std::vector<std::string> scheduled;
  for (const v1::BackupInfo& info : *list) {
    if (info.trigger() == "scheduled") scheduled.push_back(info.name());
  }
  // Oldest first: the first ones beyond the newest `retention` go.
  const int excess = static_cast<int>(scheduled.size()) - options_.retention;
  for (int i = 0; i < excess; ++i) {
    if (absl::Status s = options_.store->Delete(scheduled[i]); !s.ok()) {
      SC_LOG(WARNING, "backup retention: %s", s.ToString());
      continue;
    }
    (void)options_.coordinator->RecordEvent(
        "backup_deleted",
        absl::StrCat("scheduled backup ", scheduled[i],
                     " deleted by retention (keeping the newest ",
                     options_.retention, " scheduled backups)"));
  }
}

void BackupManager::StartScheduler() {
  if (options_.interval <= absl::ZeroDuration()) return;
  scheduler_ = std::thread([this] { SchedulerLoop(); });
}

void BackupManager::SchedulerLoop() {
  while (stop_.SleepFor(options_.interval)) {
    if (options_.coordinator->CurrentMap()->cluster_id().empty()) continue;
    absl::StatusOr<v1::Operation> op = RunScheduledBackup();
    if (!op.ok()) {
      SC_LOG(WARNING, "scheduled backup not taken: %s", op.status().ToString());
    }
  }
}

}  // namespace slotcache::coordinator
