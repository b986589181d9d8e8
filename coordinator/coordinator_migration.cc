// The resharding runner (see coordinator.h): the moves of the operation in
// flight, one after the other, each through docs/RESHARDING.md steps 1-6.
//
// Timing uses the real clock (absl::Now), like the manual failover: the
// commit window is measured against the source's real pause.
#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/status.h"
#include "coordinator/coordinator.h"

namespace slotcache::coordinator {
namespace {

std::string Millis(absl::Duration d) {
  return absl::StrFormat("%dms", absl::ToInt64Milliseconds(d));
}

}  // namespace

struct Coordinator::MoveRun {
  int index = 0;
  int total = 0;
  std::string migration_id;
  v1::SlotMove move;
  SlotRanges slots;
  std::string source_address;
  std::string target_address;
  // The last status the target reported.
  v1::ImportStatus status;

  std::string Name() const {
    return absl::StrCat("move ", index + 1, "/", total, " (slots ",
                        RangesText(slots), " ", move.from_shard_id(), " -> ",
                        move.to_shard_id(), ")");
  }
};

NodeAdmin* Coordinator::MigrationAdmin() const {
  return options_.migration_admin != nullptr ? options_.migration_admin
                                             : options_.node_admin;
}

void Coordinator::StartMover(std::function<void()> run) {
  absl::MutexLock lock(&mover_mu_);
  // The previous runner finished its operation; let its thread end.
  if (mover_.joinable()) mover_.join();
  mover_ = std::thread(std::move(run));
}

std::string Coordinator::InterruptionLocked() const {
  if (!resharding_.has_value()) return "the operation ended";
  return resharding_->abort_reason;
}

void Coordinator::UpdateMigrationLocked(const std::string& step,
                                        const std::string& progress,
                                        const v1::ImportStatus* status) {
  // In memory only, like a failover's progress: watchers see it live, and
  // the operation's next persisted write (a commit, its end) carries it.
  if (!resharding_.has_value()) return;
  v1::Operation* op = FindOperationLocked(resharding_->op_id);
  if (op == nullptr) return;
  op->set_progress(progress);
  v1::MigrationProgress* m = op->mutable_migration();
  m->set_step(step);
  if (status != nullptr) {
    m->set_keys_copied(resharding_->keys_done + status->keys_imported());
    m->set_bytes_copied(resharding_->bytes_done + status->bytes_imported());
    m->set_keys_total(resharding_->keys_total_done +
                      status->snapshot_keys_total());
  }
}

void Coordinator::FinishReshardingLocked(v1::Operation::State state,
                                         const std::string& outcome) {
  if (!resharding_.has_value()) return;
  const std::string op_id = resharding_->op_id;
  resharding_.reset();
  v1::Operation* stored = FindOperationLocked(op_id);
  if (stored == nullptr) return;
  StateUpdate update;
  v1::Operation& op = update.operations.emplace_back(*stored);
  op.set_state(state);
  op.set_finished_unix_ms(absl::ToUnixMillis(options_.clock->Now()));
  op.set_progress(outcome);
  op.set_message(absl::StrCat(op.message(), ": ", outcome));
  op.mutable_migration()->set_step(
      state == v1::Operation::SUCCEEDED ? "done" : "failed");
  // Should this write fail, the operation stays RUNNING in the store and
  // the next start recovers it like an interrupted one.
  (void)CommitLocked(std::move(update),
                     {{state == v1::Operation::SUCCEEDED ? "migration_completed"
                                                         : "migration_failed",
                       absl::StrCat(op_id, " ", op.kind(), ": ", outcome)}},
                     /*new_map=*/false);
}

void Coordinator::RunResharding() {
  std::string op_id;
  int total = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!resharding_.has_value()) return;
    op_id = resharding_->op_id;
    total = FindOperationLocked(op_id)->moves_size();
  }
  int done = 0;
  for (int i = 0; i < total; ++i) {
    MoveRun run;
    {
      absl::MutexLock lock(&mu_);
      if (stop_.stopped()) return;  // Left to the next start's recovery.
      v1::Operation* op = FindOperationLocked(op_id);
      if (op->moves(i).committed()) continue;
      run.index = i;
      run.total = total;
      run.migration_id = MigrationId(op_id, i);
      run.move = op->moves(i);
      run.slots = SlotRanges(run.move.slots().begin(), run.move.slots().end());
      std::string blocker = resharding_->abort_reason;
      if (blocker.empty()) {
        blocker =
            MoveBlockerLocked(run.move.from_shard_id(), run.move.to_shard_id());
      }
      if (!blocker.empty()) {
        FinishReshardingLocked(
            v1::Operation::FAILED,
            absl::StrCat("stopped before ", run.Name(), ": ", blocker, "; ",
                         done,
                         " earlier moves committed, the rest never "
                         "started; run it again for the rest"));
        return;
      }
      run.source_address = PrimaryAddressLocked(run.move.from_shard_id());
      run.target_address = PrimaryAddressLocked(run.move.to_shard_id());
      resharding_->from_shard = run.move.from_shard_id();
      resharding_->to_shard = run.move.to_shard_id();
      op->mutable_migration()->set_current_move(i);
    }
    absl::Status moved = RunMove(run);
    if (absl::IsAborted(moved)) return;  // Stopping: left to the next start.
    absl::MutexLock lock(&mu_);
    if (!moved.ok()) {
      FinishReshardingLocked(
          v1::Operation::FAILED,
          absl::StrCat(moved.message(), "; ", done,
                       " earlier moves committed, the later ones never "
                       "started. Fix the cause and run it again"));
      return;
    }
    ++done;
    resharding_->from_shard.clear();
    resharding_->to_shard.clear();
  }
  absl::MutexLock lock(&mu_);
  v1::Operation* op = FindOperationLocked(op_id);
  std::string outcome = absl::StrCat(
      "moved ", op->migration().slots_total(), " slots in ", done,
      " moves; longest write pause ", op->migration().max_pause_ms(), "ms");
  if (op->kind() == "remove_shard") {
    if (absl::Status removed = CommitRemovalLocked(op->shard_id());
        !removed.ok()) {
      FinishReshardingLocked(
          v1::Operation::FAILED,
          absl::StrCat(outcome, ", but ", op->shard_id(),
                       " could not be taken out of the map: ",
                       removed.message(), "; run RemoveShard again"));
      return;
    }
    absl::StrAppend(&outcome, "; ", op->shard_id(),
                    " removed, its nodes are unassigned");
  }
  FinishReshardingLocked(v1::Operation::SUCCEEDED, outcome);
}

absl::Status Coordinator::RunMove(MoveRun& run) {
  NodeAdmin* admin = MigrationAdmin();
  const absl::Duration pause = options_.migration_pause;
  auto roll_back = [&](const std::string& why) {
    {
      absl::MutexLock lock(&mu_);
      UpdateMigrationLocked("rolling back", absl::StrCat("rolling back: ", why),
                            nullptr);
    }
    const std::string left = RollBackMove(run.migration_id, run.move);
    if (!left.empty() && stop_.stopped()) {
      // Cut short by the shutdown: the next start rolls it back again.
      return absl::AbortedError("coordinator stopping");
    }
    const std::string text =
        absl::StrCat(run.Name(), " rolled back: ", why, "; ",
                     left.empty() ? absl::StrCat("the slots stay with ",
                                                 run.move.from_shard_id(),
                                                 ", nothing was lost")
                                  : left);
    absl::MutexLock lock(&mu_);
    (void)CommitLocked(StateUpdate(), {{"migration_rolled_back", text}},
                       /*new_map=*/false);
    return absl::FailedPreconditionError(text);
  };
  // Why the move must stop: cancel, a failover of its shards.
  auto interrupted = [&]() {
    absl::MutexLock lock(&mu_);
    return InterruptionLocked();
  };
  auto poll =
      [&](const std::string& step,
          const std::string& progress) -> absl::StatusOr<v1::ImportStatus> {
    absl::StatusOr<v1::ImportStatus> status =
        admin->GetImportStatus(run.target_address, run.migration_id);
    if (status.ok()) {
      run.status = *status;
      absl::MutexLock lock(&mu_);
      UpdateMigrationLocked(step, progress, &run.status);
    }
    return status;
  };

  // Step 1: clean leftovers of an earlier failed import, then start.
  v1::AbortImportRequest abort;
  abort.set_migration_id(run.migration_id);
  v1::StartImportRequest start;
  start.set_migration_id(run.migration_id);
  start.set_source_address(run.source_address);
  for (const v1::SlotRange& r : run.slots) {
    *abort.add_slots() = r;
    *start.add_slots() = r;
  }
  if (auto cleaned = admin->AbortImport(run.target_address, abort);
      !cleaned.ok()) {
    return roll_back(absl::StrCat("could not clean the target first: ",
                                  cleaned.status().message()));
  }
  if (absl::Status s = admin->StartImport(run.target_address, start); !s.ok()) {
    return roll_back(
        absl::StrCat("the target refused the import: ", s.message()));
  }
  SC_LOG(INFO, "%s: %s started", run.migration_id, run.Name());

  // Steps 2-3: snapshot and tail, until the target is close behind.
  const absl::Time catch_up_by =
      absl::Now() + options_.migration_catch_up_timeout;
  // The target may blink (a restart, a slow reply); not for this long.
  const absl::Duration unreachable_limit =
      options_.migration_rollback_attempts * options_.migration_retry_interval;
  absl::Time reachable = absl::Now();
  while (true) {
    if (stop_.stopped()) return absl::AbortedError("coordinator stopping");
    if (std::string why = interrupted(); !why.empty()) return roll_back(why);
    absl::StatusOr<v1::ImportStatus> status =
        poll(run.status.state() == v1::ImportStatus::STREAMING ? "catching up"
                                                               : "snapshot",
             absl::StrCat(run.Name(), ": importing"));
    if (status.ok()) {
      reachable = absl::Now();
      if (status->state() == v1::ImportStatus::FAILED) {
        return roll_back(
            absl::StrCat("the import failed on the target: ", status->error()));
      }
      if (status->state() == v1::ImportStatus::STREAMING &&
          status->source_offset() <= status->applied_source_offset() +
                                         options_.migration_close_behind) {
        break;
      }
    } else if (absl::Now() - reachable > unreachable_limit) {
      return roll_back(absl::StrCat("the target did not answer for ",
                                    Millis(absl::Now() - reachable), ": ",
                                    status.status().message()));
    }
    if (absl::Now() > catch_up_by) {
      return roll_back(absl::StrCat(
          "the target did not catch up within ",
          absl::FormatDuration(options_.migration_catch_up_timeout), " (at ",
          run.status.applied_source_offset(), " of ",
          run.status.source_offset(), ")"));
    }
    stop_.SleepFor(options_.migration_poll);
  }

  // Step 4: the cut-over. The commit must land while the source surely
  // still pauses: before pause start + D, less the source's lease (a
  // lease granted before the commit may run that long after it) and the
  // drift margin (docs/RESHARDING.md, "Why no write is lost").
  const absl::Time pause_sent = absl::Now();
  const absl::Time commit_by =
      pause_sent + pause - options_.primary_lease - options_.lease_drift_margin;
  v1::PauseSlotWritesRequest pause_request;
  pause_request.set_migration_id(run.migration_id);
  *pause_request.mutable_slots() = start.slots();
  pause_request.set_duration_ms(
      static_cast<uint32_t>(absl::ToInt64Milliseconds(pause)));
  absl::StatusOr<v1::PauseSlotWritesResponse> paused =
      admin->PauseSlotWrites(run.source_address, pause_request);
  if (!paused.ok()) {
    return roll_back(absl::StrCat("could not pause writes on the source: ",
                                  paused.status().message()));
  }
  const absl::Time paused_at = absl::Now();
  const std::string waiting =
      absl::StrCat(run.Name(), ": writes paused at ", paused->replication_id(),
                   ":", paused->offset(), "; waiting for the target");
  while (true) {
    if (stop_.stopped()) return absl::AbortedError("coordinator stopping");
    if (std::string why = interrupted(); !why.empty()) return roll_back(why);
    absl::StatusOr<v1::ImportStatus> status = poll("paused", waiting);
    if (status.ok()) {
      if (status->state() == v1::ImportStatus::FAILED) {
        return roll_back(
            absl::StrCat("the import failed on the target: ", status->error()));
      }
      if (!status->source_replication_id().empty() &&
          status->source_replication_id() != paused->replication_id()) {
        return roll_back(absl::StrCat(
            "the source's history changed (", paused->replication_id(), " -> ",
            status->source_replication_id(), ") mid-move"));
      }
      if (status->applied_source_offset() >= paused->offset()) break;
    }
    if (absl::Now() >= commit_by) {
      return roll_back(absl::StrCat(
          "the target did not apply the source's writes through offset ",
          paused->offset(), " (at ", run.status.applied_source_offset(),
          ") before the commit window closed, ",
          Millis(absl::Now() - pause_sent),
          " after the pause started; retry (a longer --migration_pause "
          "gives it more time)"));
    }
    stop_.SleepFor(options_.migration_poll);
  }
  const absl::Time caught_up_at = absl::Now();
  absl::StatusOr<v1::ImportStatus> finished =
      admin->FinishImport(run.target_address, run.migration_id);
  if (!finished.ok()) {
    return roll_back(absl::StrCat("FinishImport failed on the target: ",
                                  finished.status().message()));
  }
  if (finished->applied_source_offset() < paused->offset()) {
    return roll_back(absl::StrCat(
        "the target finished at offset ", finished->applied_source_offset(),
        ", before the pause offset ", paused->offset()));
  }
  run.status = *finished;
  bool replicas_caught_up = finished->replicas_caught_up();
  while (!replicas_caught_up) {
    if (stop_.stopped()) return absl::AbortedError("coordinator stopping");
    if (std::string why = interrupted(); !why.empty()) return roll_back(why);
    if (absl::Now() >= commit_by) {
      return roll_back(absl::StrCat(
          "the target's replicas did not acknowledge the imported data "
          "before the commit window closed, ",
          Millis(absl::Now() - pause_sent),
          " after the pause started; check their replication (slotctl "
          "cluster status) and retry"));
    }
    stop_.SleepFor(options_.migration_poll);
    absl::StatusOr<v1::ImportStatus> status =
        poll("paused",
             absl::StrCat(run.Name(), ": waiting for the target's replicas"));
    replicas_caught_up = status.ok() && status->replicas_caught_up();
  }

  // Step 5: commit, hand the map to the target then the source, resume.
  const absl::Time replicated_at = absl::Now();
  std::shared_ptr<const v1::ClusterMap> map;
  std::string why;
  {
    absl::MutexLock lock(&mu_);
    if (stop_.stopped()) return absl::AbortedError("coordinator stopping");
    why = InterruptionLocked();
    if (why.empty()) {
      if (absl::Status committed = CommitMoveLocked(run, commit_by);
          committed.ok()) {
        map = map_;
      } else {
        why = std::string(committed.message());
      }
    }
  }
  if (map == nullptr) return roll_back(why);
  const absl::Time committed_at = absl::Now();
  (void)admin->ApplyClusterMap(run.target_address, *map);
  (void)admin->ApplyClusterMap(run.source_address, *map);
  (void)admin->ResumeSlotWrites(run.source_address, run.migration_id);
  const absl::Duration paused_for = absl::Now() - pause_sent;
  absl::MutexLock lock(&mu_);
  if (resharding_.has_value()) {
    resharding_->keys_done += run.status.keys_imported();
    resharding_->bytes_done += run.status.bytes_imported();
    resharding_->keys_total_done += run.status.snapshot_keys_total();
    v1::MigrationProgress* m =
        FindOperationLocked(resharding_->op_id)->mutable_migration();
    m->set_max_pause_ms(std::max<uint32_t>(
        m->max_pause_ms(),
        static_cast<uint32_t>(absl::ToInt64Milliseconds(paused_for))));
  }
  // Where the pause went (docs/BENCHMARKS.md reads these lines).
  SC_LOG(INFO,
         "%s: %s committed, writes paused for %s (pause call %s, catch-up "
         "%s, finish + replicas %s, commit %s, maps + resume %s)",
         run.migration_id, run.Name(), Millis(paused_for),
         Millis(paused_at - pause_sent), Millis(caught_up_at - paused_at),
         Millis(replicated_at - caught_up_at),
         Millis(committed_at - replicated_at),
         Millis(absl::Now() - committed_at));
  return absl::OkStatus();
}

absl::Status Coordinator::CommitMoveLocked(MoveRun& run, absl::Time deadline) {
  // Checked under mu_, held until the new map is published: no heartbeat
  // reply (no lease) goes out between this check and the publication, so
  // every lease the source holds was granted before `now` and ends before
  // now + lease, and every later reply carries the new map.
  const absl::Time now = absl::Now();
  if (now >= deadline) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the target was ready ", Millis(now - deadline),
        " after the commit window closed (the source's pause of ",
        Millis(options_.migration_pause), " less its lease ",
        Millis(options_.primary_lease), " and the drift margin ",
        Millis(options_.lease_drift_margin),
        "), so the source could take writes the target would miss; retry "
        "(a longer --migration_pause gives it more time)"));
  }
  const v1::ShardInfo* from = FindShardLocked(run.move.from_shard_id());
  const v1::ShardInfo* to = FindShardLocked(run.move.to_shard_id());
  if (from == nullptr || to == nullptr ||
      !ContainsAll(SlotRanges(from->slots().begin(), from->slots().end()),
                   run.slots) ||
      Overlaps(SlotRanges(to->slots().begin(), to->slots().end()), run.slots)) {
    return absl::InternalError(absl::StrCat(
        "the map changed under the move (", run.move.from_shard_id(),
        " no longer owns all of the slots, or ", run.move.to_shard_id(),
        " already owns some); check `slotctl cluster status`"));
  }
  const StoredMeta meta_before = meta_;
  StateUpdate update;
  // Both records are pushed at once below: references into
  // update.shards would dangle when it grows.
  v1::ShardInfo source = *from;
  v1::ShardInfo target = *to;
  source.clear_slots();
  for (const v1::SlotRange& r : SubtractRanges(
           SlotRanges(from->slots().begin(), from->slots().end()), run.slots)) {
    *source.add_slots() = r;
  }
  target.clear_slots();
  for (const v1::SlotRange& r : AddRanges(
           SlotRanges(to->slots().begin(), to->slots().end()), run.slots)) {
    *target.add_slots() = r;
  }
  // Both shards' ownership changes: both get fresh epochs from the one
  // counter (DESIGN §2.2), so every node prefers this map's claims.
  meta_.set_max_config_epoch(meta_.max_config_epoch() + 1);
  source.set_config_epoch(meta_.max_config_epoch());
  meta_.set_max_config_epoch(meta_.max_config_epoch() + 1);
  target.set_config_epoch(meta_.max_config_epoch());
  update.shards = {source, target};
  v1::Operation& op =
      update.operations.emplace_back(*FindOperationLocked(resharding_->op_id));
  op.mutable_moves(run.index)->set_committed(true);
  v1::MigrationProgress* m = op.mutable_migration();
  m->set_slots_done(m->slots_done() + CountSlots(run.slots));
  m->set_step("committing");
  op.set_progress(absl::StrCat(run.Name(), " committed"));
  const std::string text = absl::StrCat(
      resharding_->op_id, " ", run.Name(), " committed: ", source.shard_id(),
      " epoch ", from->config_epoch(), " -> ", source.config_epoch(), ", ",
      target.shard_id(), " epoch ", to->config_epoch(), " -> ",
      target.config_epoch(), "; ", run.status.keys_imported(), " keys copied");
  if (absl::Status s =
          CommitLocked(std::move(update), {{"migration_committed", text}},
                       /*new_map=*/true);
      !s.ok()) {
    meta_ = meta_before;
    return absl::Status(
        s.code(), absl::StrCat("could not persist the commit: ", s.message()));
  }
  return absl::OkStatus();
}

std::string Coordinator::RollBackMove(const std::string& migration_id,
                                      const v1::SlotMove& move) {
  NodeAdmin* admin = MigrationAdmin();
  v1::AbortImportRequest abort;
  abort.set_migration_id(migration_id);
  *abort.mutable_slots() = move.slots();
  bool aborted = false, resumed = false;
  std::string abort_error, resume_error;
  for (int attempt = 0; attempt < options_.migration_rollback_attempts;
       ++attempt) {
    // The current primaries: a failover may have replaced either.
    std::string target, source;
    {
      absl::MutexLock lock(&mu_);
      target = PrimaryAddressLocked(move.to_shard_id());
      source = PrimaryAddressLocked(move.from_shard_id());
    }
    if (!aborted) {
      if (target.empty()) {
        abort_error = absl::StrCat(move.to_shard_id(), " has no primary");
      } else if (auto r = admin->AbortImport(target, abort); r.ok()) {
        aborted = true;
      } else {
        abort_error = std::string(r.status().message());
      }
    }
    if (!resumed) {
      if (source.empty()) {
        resume_error = absl::StrCat(move.from_shard_id(), " has no primary");
      } else if (absl::Status r = admin->ResumeSlotWrites(source, migration_id);
                 r.ok()) {
        resumed = true;
      } else {
        resume_error = std::string(r.message());
      }
    }
    if ((aborted && resumed) ||
        !stop_.SleepFor(options_.migration_retry_interval)) {
      break;
    }
  }
  std::string left;
  if (!aborted) {
    absl::StrAppend(&left, move.to_shard_id(),
                    " may still hold imported keys of the slots, which it "
                    "does not serve (AbortImport: ",
                    abort_error,
                    "); the next move of these slots drops them first");
  }
  if (!resumed) {
    absl::StrAppend(&left, left.empty() ? "" : "; ", "writes to the slots on ",
                    move.from_shard_id(),
                    " stay paused until the bounded pause ends "
                    "(ResumeSlotWrites: ",
                    resume_error, ")");
  }
  return left;
}

absl::Status Coordinator::CommitRemovalLocked(const std::string& shard_id) {
  const v1::ShardInfo* shard = FindShardLocked(shard_id);
  if (shard == nullptr) return absl::OkStatus();
  if (shard->slots_size() > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        shard_id, " still owns slots ",
        RangesText(SlotRanges(shard->slots().begin(), shard->slots().end()))));
  }
  StateUpdate update;
  update.removed_shard_ids.push_back(shard_id);
  std::vector<std::string> members = {shard->primary_node_id()};
  members.insert(members.end(), shard->replica_node_ids().begin(),
                 shard->replica_node_ids().end());
  for (const std::string& id : members) {
    auto node = nodes_.find(id);
    if (node == nodes_.end()) continue;
    // Back to the pool, as a fresh unassigned node shows: it drops its
    // data when it sees itself in no shard.
    v1::NodeInfo& freed = update.nodes.emplace_back(node->second);
    freed.clear_shard_id();
    freed.set_role(v1::ROLE_UNSPECIFIED);
    if (freed.health() != v1::FAILED) freed.set_health(v1::JOINING);
  }
  const StoredMeta meta_before = meta_;
  uint64_t number = 0;
  if (shard_id.rfind("shard-", 0) == 0 &&
      absl::SimpleAtoi(shard_id.substr(6), &number)) {
    meta_.set_last_shard_number(std::max(meta_.last_shard_number(), number));
  }
  if (absl::Status s = CommitLocked(
          std::move(update),
          {{"shard_removed",
            absl::StrCat(shard_id, " removed from the map; its nodes [",
                         absl::StrJoin(members, " "), "] are unassigned")}},
          /*new_map=*/true);
      !s.ok()) {
    meta_ = meta_before;
    return s;
  }
  failovers_.erase(shard_id);
  down_shards_.erase(shard_id);
  return absl::OkStatus();
}

}  // namespace slotcache::coordinator
