// The Coordinator's failover state machine (see coordinator.h and
// docs/FAILOVER.md); the decisions themselves are in failover.h.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/status.h"
#include "coordinator/coordinator.h"

namespace slotcache::coordinator {
namespace {

// How often a manual failover polls its target's offset.
constexpr absl::Duration kCatchUpPoll = absl::Milliseconds(2);

std::string Millis(absl::Duration d) {
  return absl::StrFormat("%dms", absl::ToInt64Milliseconds(d));
}

}  // namespace

const v1::ShardInfo* Coordinator::FindShardLocked(
    const std::string& shard_id) const {
  for (const v1::ShardInfo& shard : shards_) {
    if (shard.shard_id() == shard_id) return &shard;
  }
  return nullptr;
}

std::vector<ReplicaReport> Coordinator::ReportsLocked(
    const v1::ShardInfo& shard, absl::Time fresh_after) const {
  std::vector<ReplicaReport> reports;
  for (const std::string& id : shard.replica_node_ids()) {
    ReplicaReport& r = reports.emplace_back();
    r.node_id = id;
    auto node = nodes_.find(id);
    if (node != nodes_.end()) {
      r.az = node->second.az();
      r.healthy = node->second.health() != v1::FAILED;
    }
    auto live = liveness_.find(id);
    if (live != liveness_.end() &&
        !live->second.last_report.node_id().empty()) {
      const v1::HeartbeatRequest& report = live->second.last_report;
      r.fresh = live->second.last_seen >= fresh_after;
      r.synced = report.replica_synced();
      r.replication_id = report.replication_id();
      r.offset = report.replication_offset();
    }
  }
  return reports;
}

absl::StatusOr<Coordinator::Failover> Coordinator::BeginFailoverLocked(
    const v1::ShardInfo& shard, const std::string& old_primary, bool manual,
    const std::string& request) {
  const absl::Time now = options_.clock->Now();
  Failover f;
  f.shard_id = shard.shard_id();
  f.old_primary = old_primary;
  f.manual = manual;
  f.started = now;
  // With no old primary there is no lease to wait out.
  f.lease_over = absl::InfinitePast();
  std::string primary_text = "no primary";
  if (auto node = nodes_.find(old_primary); node != nodes_.end()) {
    const Liveness& live = liveness_[old_primary];
    f.lease_over =
        LeaseSurelyOver(live.last_lease_grant, options_.primary_lease,
                        options_.lease_drift_margin);
    f.history_id = live.last_report.replication_id();
    f.primary_offset = live.last_report.replication_offset();
    primary_text =
        absl::StrCat("primary ", old_primary, " (", node->second.az(),
                     ", offset ", f.primary_offset, ")");
  }

  const StoredMeta meta_before = meta_;
  meta_.set_last_operation_number(meta_.last_operation_number() + 1);
  f.op_id = absl::StrCat("op-", meta_.last_operation_number());
  StateUpdate update;
  v1::Operation& op = update.operations.emplace_back();
  op.set_id(f.op_id);
  op.set_kind("failover");
  op.set_shard_id(f.shard_id);
  op.set_state(v1::Operation::RUNNING);
  op.set_created_unix_ms(absl::ToUnixMillis(now));
  op.set_message(request);
  op.set_progress(manual ? "pausing writes on the primary"
                         : "waiting for the old primary's lease to run out");
  const std::string event =
      absl::StrCat(f.op_id, " ", f.shard_id, ": ", request, "; ", primary_text,
                   ", lease renewal stopped, its last lease is over in ",
                   Millis(std::max(f.lease_over - now, absl::ZeroDuration())));
  if (absl::Status s = CommitLocked(
          std::move(update),
          {{manual ? "failover_requested" : "failover_started", event}},
          /*new_map=*/false);
      !s.ok()) {
    meta_ = meta_before;
    return s;
  }
  failovers_[f.shard_id] = f;
  // A failover (automatic: a manual one is refused while a move of its
  // shard runs) of a shard of the move in flight: the source or target
  // primary it talks to is going away, so the move rolls back
  // (docs/RESHARDING.md step 6).
  if (resharding_.has_value() &&
      (resharding_->from_shard == f.shard_id ||
       resharding_->to_shard == f.shard_id) &&
      resharding_->abort_reason.empty()) {
    resharding_->abort_reason =
        absl::StrCat("a failover of ", f.shard_id, " started (", f.op_id, ": ",
                     request, ")");
  }
  return f;
}

void Coordinator::SetProgressLocked(const Failover& failover,
                                    const std::string& progress) {
  for (v1::Operation& op : operations_) {
    // In memory only: progress is for watchers, the outcome is persisted.
    if (op.id() == failover.op_id) op.set_progress(progress);
  }
}

absl::Status Coordinator::CommitPromotionLocked(const Failover& failover,
                                                const ReplicaReport& chosen,
                                                const std::string& detail) {
  const v1::ShardInfo* shard = FindShardLocked(failover.shard_id);
  if (shard == nullptr) {
    return absl::InternalError(
        absl::StrCat("shard ", failover.shard_id, " vanished mid-failover"));
  }
  const absl::Time now = options_.clock->Now();
  const uint64_t old_epoch = shard->config_epoch();
  const StoredMeta meta_before = meta_;
  meta_.set_max_config_epoch(meta_.max_config_epoch() + 1);
  StateUpdate update;
  update.shards.push_back(
      PromotedShard(*shard, chosen.node_id, meta_.max_config_epoch()));
  v1::NodeInfo promoted = nodes_.at(chosen.node_id);
  promoted.set_role(v1::PRIMARY);
  update.nodes.push_back(promoted);
  std::string over = "no primary";
  if (auto old = nodes_.find(failover.old_primary); old != nodes_.end()) {
    v1::NodeInfo& demoted = update.nodes.emplace_back(old->second);
    demoted.set_role(v1::REPLICA);
    over = absl::StrCat(failover.old_primary, " (", demoted.az(), ", ",
                        v1::Health_Name(demoted.health()), ", last offset ",
                        failover.primary_offset, ")");
  }
  const std::string outcome = absl::StrCat(
      "promoted ", chosen.node_id, " (", chosen.az, ", offset ", chosen.offset,
      ") over ", over, "; config epoch ", old_epoch, " -> ",
      meta_.max_config_epoch(), "; ", Millis(now - failover.started),
      " after the failover started", detail.empty() ? "" : "; ", detail);
  for (const v1::Operation& existing : operations_) {
    if (existing.id() != failover.op_id) continue;
    v1::Operation& op = update.operations.emplace_back(existing);
    op.set_state(v1::Operation::SUCCEEDED);
    op.set_finished_unix_ms(absl::ToUnixMillis(now));
    op.set_progress(outcome);
  }
  if (absl::Status s =
          CommitLocked(std::move(update),
                       {{"failover_completed",
                         absl::StrCat(failover.op_id, " ", failover.shard_id,
                                      ": ", outcome)}},
                       /*new_map=*/true);
      !s.ok()) {
    meta_ = meta_before;
    return s;
  }
  failovers_.erase(failover.shard_id);
  down_shards_.erase(failover.shard_id);
  return absl::OkStatus();
}

void Coordinator::FailFailoverLocked(const Failover& failover,
                                     const std::string& why) {
  failovers_.erase(failover.shard_id);
  StateUpdate update;
  for (const v1::Operation& existing : operations_) {
    if (existing.id() != failover.op_id) continue;
    v1::Operation& op = update.operations.emplace_back(existing);
    op.set_state(v1::Operation::FAILED);
    op.set_finished_unix_ms(absl::ToUnixMillis(options_.clock->Now()));
    op.set_progress(why);
  }
  // Best effort: the failover ends either way (the shard keeps its
  // primary, whose lease renewal resumes).
  (void)CommitLocked(
      std::move(update),
      {{"failover_failed",
        absl::StrCat(failover.op_id, " ", failover.shard_id, ": ", why)}},
      /*new_map=*/false);
}

void Coordinator::RollBackInterruptedLocked() {
  std::vector<Failover> interrupted;
  std::vector<v1::Operation> reshardings;
  std::vector<v1::Operation> external;
  for (const v1::Operation& op : operations_) {
    if (op.state() == v1::Operation::RUNNING &&
        (op.kind() == "migrate_slots" || op.kind() == "rebalance" ||
         op.kind() == "remove_shard")) {
      reshardings.push_back(op);
    }
    if (op.state() == v1::Operation::RUNNING &&
        (op.kind() == "backup" || op.kind() == "restore_backup")) {
      external.push_back(op);
    }
    if (op.state() == v1::Operation::RUNNING && op.kind() == "failover") {
      Failover& f = interrupted.emplace_back();
      f.op_id = op.id();
      f.shard_id = op.shard_id();
    }
  }
  for (const Failover& f : interrupted) {
    // A failover commits in one write, so a RUNNING one never switched
    // anything: the shard still has its old primary.
    FailFailoverLocked(
        f,
        "interrupted by a coordinator restart before the switch; rolled back "
        "(the shard keeps its primary; a failed primary is failed over "
        "again automatically, a manual failover can be retried)");
  }
  for (const v1::Operation& op : reshardings) RecoverReshardingLocked(op);
  for (v1::Operation& op : external) {
    // Their threads died with the previous process (backup_manager.h).
    op.set_state(v1::Operation::FAILED);
    op.set_finished_unix_ms(absl::ToUnixMillis(options_.clock->Now()));
    op.set_progress(
        "interrupted by a coordinator restart; run it again (a backup "
        "without its backup.json is never listed; a restore may have "
        "loaded part of the keys: check with `slotctl cluster status`)");
    const std::string kind =
        op.kind() == "backup" ? "backup_failed" : "restore_failed";
    const std::string message = absl::StrCat(op.id(), ": ", op.progress());
    StateUpdate update;
    update.operations.push_back(std::move(op));
    (void)CommitLocked(std::move(update), {{kind, message}},
                       /*new_map=*/false);
  }
}

void Coordinator::AdvanceFailoversLocked() {
  const absl::Time now = options_.clock->Now();
  // Start a failover for each shard whose primary is FAILED. A shard that
  // had no eligible replica is retried quietly until one is.
  for (const v1::ShardInfo& shard : shards_) {
    if (failovers_.contains(shard.shard_id())) continue;
    auto primary = nodes_.find(shard.primary_node_id());
    if (primary == nodes_.end()) {
      // No primary (a restarted primary was demoted and its failover
      // failed): promote as soon as a replica is eligible.
      if (ChoosePromotion(ReportsLocked(shard, absl::InfinitePast()), "", "")
              .ok()) {
        (void)BeginFailoverLocked(shard, "", /*manual=*/false,
                                  "the shard has no primary");
      }
      continue;
    }
    if (primary->second.health() != v1::FAILED) {
      down_shards_.erase(shard.shard_id());
      continue;
    }
    if (down_shards_.contains(shard.shard_id()) &&
        !ChoosePromotion(ReportsLocked(shard, absl::InfinitePast()),
                         liveness_[primary->first].last_report.replication_id(),
                         primary->second.az())
             .ok()) {
      continue;
    }
    (void)BeginFailoverLocked(
        shard, primary->first, /*manual=*/false,
        absl::StrCat("primary ", primary->first, " FAILED (no heartbeat for ",
                     Millis(now - liveness_[primary->first].last_seen), ")"));
  }

  std::vector<Failover> ready;
  for (const auto& entry : failovers_) {
    const Failover& f = entry.second;
    if (!f.manual && now >= f.lease_over) ready.push_back(f);
  }
  for (const Failover& f : ready) {
    const v1::ShardInfo* shard = FindShardLocked(f.shard_id);
    if (shard == nullptr) continue;
    // Offsets must be reported after the old primary stopped appending;
    // wait (a few heartbeats at most) until every live replica did.
    std::vector<ReplicaReport> reports = ReportsLocked(*shard, f.lease_over);
    const bool all_fresh = std::all_of(
        reports.begin(), reports.end(),
        [](const ReplicaReport& r) { return !r.healthy || r.fresh; });
    if (!all_fresh && now < f.lease_over + 3 * options_.heartbeat_interval) {
      SetProgressLocked(f, "waiting for the replicas' offsets");
      continue;
    }
    auto old = nodes_.find(f.old_primary);
    absl::StatusOr<ReplicaReport> chosen = ChoosePromotion(
        reports, f.history_id, old == nodes_.end() ? "" : old->second.az());
    if (!chosen.ok()) {
      down_shards_.insert(f.shard_id);
      FailFailoverLocked(f, std::string(chosen.status().message()));
      continue;
    }
    std::string others;
    for (const ReplicaReport& r : reports) {
      absl::StrAppend(&others, others.empty() ? "" : " ", r.node_id, "@",
                      r.offset, r.healthy ? "" : "(FAILED)");
    }
    absl::Status committed = CommitPromotionLocked(
        f, *chosen,
        absl::StrCat("replica offsets ", others, "; ",
                     Millis(now - f.lease_over),
                     " after the old lease was surely over"));
    if (!committed.ok()) {
      SC_LOG(ERROR, "failover of %s not committed (retrying): %s", f.shard_id,
             committed.ToString());
    }
  }
}

absl::StatusOr<v1::FailoverResponse> Coordinator::StartFailover(
    const v1::FailoverRequest& request) {
  absl::MutexLock manual_lock(&manual_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_) {
      return absl::UnavailableError("coordinator is shutting down");
    }
    if (!failovers_.empty()) {
      const Failover& f = failovers_.begin()->second;
      return absl::FailedPreconditionError(absl::StrCat(
          "another failover is running (", f.op_id, ", ",
          f.manual ? "manual" : "automatic", ", ", f.shard_id,
          "); wait until `slotctl operations` shows it finished, then "
          "retry"));
    }
  }
  // The previous manual failover finished its switch; let its thread end.
  if (manual_.joinable()) manual_.join();

  absl::MutexLock lock(&mu_);
  if (options_.node_admin == nullptr) {
    return absl::FailedPreconditionError(
        "this coordinator cannot reach nodes' admin service, so manual "
        "failover is off");
  }
  // Checked under the same lock as BeginFailoverLocked, so no move of the
  // shard can start in between.
  if (resharding_.has_value()) {
    const v1::Operation* op = FindOperationLocked(resharding_->op_id);
    for (const v1::SlotMove& move : op->moves()) {
      if (move.committed()) continue;
      if (move.from_shard_id() == request.shard_id() ||
          move.to_shard_id() == request.shard_id()) {
        return absl::FailedPreconditionError(absl::StrCat(
            request.shard_id(), " takes part in ", op->kind(), " ", op->id(),
            ", which is moving slots; wait until `slotctl operations` shows "
            "it finished (or cancel it), then retry"));
      }
    }
  }
  const v1::ShardInfo* shard = FindShardLocked(request.shard_id());
  if (shard == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no shard '", request.shard_id(),
                     "'; `slotctl cluster status` lists the shards"));
  }
  auto primary = nodes_.find(shard->primary_node_id());
  if (primary == nodes_.end() || primary->second.health() != v1::HEALTHY) {
    return absl::FailedPreconditionError(absl::StrCat(
        shard->shard_id(),
        " has no healthy primary, so there are no writes to hand over; the "
        "automatic failover replaces a failed primary (see `slotctl events`)"));
  }
  std::vector<ReplicaReport> reports =
      ReportsLocked(*shard, absl::InfinitePast());
  if (!request.to_node_id().empty()) {
    auto target = std::find_if(reports.begin(), reports.end(),
                               [&](const ReplicaReport& r) {
                                 return r.node_id == request.to_node_id();
                               });
    if (target == reports.end()) {
      return InvalidInputError(
          absl::StrCat("node ", request.to_node_id(), " is not a replica of ",
                       shard->shard_id(),
                       "; pick one of its replicas (slotctl cluster "
                       "status) or leave --to out"));
    }
    reports = {*target};
  }
  absl::StatusOr<ReplicaReport> chosen = ChoosePromotion(
      reports, liveness_[primary->first].last_report.replication_id(),
      primary->second.az());
  if (!chosen.ok()) return chosen.status();
  absl::StatusOr<Failover> f = BeginFailoverLocked(
      *shard, primary->first, /*manual=*/true,
      absl::StrCat("manual failover of ", shard->shard_id(), " from ",
                   primary->first, " to ", chosen->node_id, " requested"));
  if (!f.ok()) return f.status();
  v1::FailoverResponse response;
  for (const v1::Operation& op : operations_) {
    if (op.id() == f->op_id) *response.mutable_operation() = op;
  }
  manual_ = std::thread([this, f = *f, target = chosen->node_id] {
    RunManualFailover(f, target);
  });
  return response;
}

void Coordinator::RunManualFailover(Failover f, std::string target) {
  std::string primary_address, target_address;
  absl::Duration pause;
  {
    absl::MutexLock lock(&mu_);
    primary_address = nodes_.at(f.old_primary).address();
    target_address = nodes_.at(target).address();
    // The pause must outlast the old primary's last lease (renewal stopped
    // when the failover began), so that when it ends — switch or not, also
    // if this coordinator dies — the old primary cannot write on its own.
    pause =
        std::max(f.lease_over - options_.clock->Now(), absl::ZeroDuration()) +
        options_.lease_drift_margin;
  }
  auto fail = [&](const std::string& why) {
    (void)options_.node_admin->ResumeWrites(primary_address);
    absl::MutexLock lock(&mu_);
    FailFailoverLocked(f, why);
  };

  const absl::Time pause_start = absl::Now();
  absl::StatusOr<v1::PauseWritesResponse> paused =
      options_.node_admin->PauseWrites(primary_address, pause);
  if (!paused.ok()) {
    fail(absl::StrCat("could not pause writes on the primary: ",
                      paused.status().message(), "; nothing changed, retry"));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    SetProgressLocked(f,
                      absl::StrCat("writes paused at offset ", paused->offset(),
                                   "; waiting for ", target, " to apply it"));
  }
  const absl::Time deadline = pause_start + options_.manual_failover_timeout;
  uint64_t applied = 0;
  while (true) {
    absl::StatusOr<v1::NodeStatus> status =
        options_.node_admin->GetNodeStatus(target_address);
    if (status.ok()) {
      applied = status->replication_offset();
      if (status->replication_id() == paused->replication_id() &&
          applied == paused->offset()) {
        break;
      }
    }
    if (absl::Now() > deadline || stop_.stopped()) {
      fail(absl::StrCat(target, " did not reach offset ", paused->offset(),
                        " within ", Millis(options_.manual_failover_timeout),
                        " (at ", applied,
                        "); rolled back, writes resumed on the primary. "
                        "Check its replication (slotctl cluster status) and "
                        "retry"));
      return;
    }
    absl::SleepFor(kCatchUpPoll);
  }

  std::shared_ptr<const v1::ClusterMap> map;
  {
    absl::MutexLock lock(&mu_);
    ReplicaReport chosen;
    chosen.node_id = target;
    chosen.az = nodes_.at(target).az();
    chosen.offset = paused->offset();
    absl::Status committed = CommitPromotionLocked(
        f, chosen,
        absl::StrCat("caught up to offset ", paused->offset(), " ",
                     Millis(absl::Now() - pause_start),
                     " after writes were paused"));
    if (!committed.ok()) {
      FailFailoverLocked(
          f, absl::StrCat("could not persist the switch: ", committed.message(),
                          "; rolled back, retry"));
      map = nullptr;
    } else {
      map = map_;
    }
  }
  if (map == nullptr) {
    (void)options_.node_admin->ResumeWrites(primary_address);
    return;
  }
  // Hand the map to both at once rather than with their next heartbeat
  // reply; the pause ends when the old primary learned it is a replica.
  (void)options_.node_admin->ApplyClusterMap(target_address, *map);
  (void)options_.node_admin->ApplyClusterMap(primary_address, *map);
  (void)options_.node_admin->ResumeWrites(primary_address);
  SC_LOG(INFO, "manual failover %s of %s: writes paused for %s", f.op_id,
         f.shard_id, Millis(absl::Now() - pause_start));
}

}  // namespace slotcache::coordinator
