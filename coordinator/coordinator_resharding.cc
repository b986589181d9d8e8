// The Coordinator's resharding requests (see coordinator.h and
// docs/RESHARDING.md): MigrateSlots, Rebalance, AddShard, RemoveShard,
// GetOperation, CancelOperation, and the recovery of an operation a
// restart interrupted. The moves themselves run in coordinator_migration.cc.
#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/slot.h"
#include "common/status.h"
#include "coordinator/coordinator.h"
#include "coordinator/placement.h"

namespace slotcache::coordinator {
namespace {

SlotRanges SlotsOf(const v1::ShardInfo& shard) {
  return SlotRanges(shard.slots().begin(), shard.slots().end());
}

SlotRanges SlotsOf(const v1::SlotMove& move) {
  return SlotRanges(move.slots().begin(), move.slots().end());
}

std::string MovesText(const std::vector<v1::SlotMove>& moves) {
  std::vector<std::string> parts;
  for (const v1::SlotMove& m : moves) {
    parts.push_back(absl::StrCat(RangesText(SlotsOf(m)), " ", m.from_shard_id(),
                                 "->", m.to_shard_id()));
  }
  return parts.empty() ? "no moves" : absl::StrJoin(parts, "; ");
}

// N of "shard-N", 0 for other ids.
uint64_t ShardNumber(const std::string& shard_id) {
  uint64_t n = 0;
  if (shard_id.rfind("shard-", 0) != 0 ||
      !absl::SimpleAtoi(shard_id.substr(6), &n)) {
    return 0;
  }
  return n;
}

bool IsReshardingKind(const std::string& kind) {
  return kind == "migrate_slots" || kind == "rebalance" ||
         kind == "remove_shard";
}

}  // namespace

v1::Operation* Coordinator::FindOperationLocked(const std::string& id) {
  for (v1::Operation& op : operations_) {
    if (op.id() == id) return &op;
  }
  return nullptr;
}

absl::Status Coordinator::CheckNoReshardingLocked() const {
  if (shutdown_) return absl::UnavailableError("coordinator is shutting down");
  if (meta_.cluster_id().empty()) {
    return absl::FailedPreconditionError(
        "there is no cluster yet; create it first (slotctl cluster create)");
  }
  if (MigrationAdmin() == nullptr) {
    return absl::FailedPreconditionError(
        "this coordinator cannot reach nodes' admin service, so resharding "
        "is off");
  }
  if (options_.migration_pause <=
      options_.primary_lease + options_.lease_drift_margin) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--migration_pause (", absl::FormatDuration(options_.migration_pause),
        ") must be longer than --primary_lease + --lease_drift_margin (",
        absl::FormatDuration(options_.primary_lease +
                             options_.lease_drift_margin),
        "), or no move could ever commit; restart the coordinator with a "
        "longer pause"));
  }
  if (resharding_.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "operation ", resharding_->op_id,
        " is moving slots, and only one such operation runs at a time; wait "
        "until `slotctl operations` shows it finished (or cancel it), then "
        "retry"));
  }
  return absl::OkStatus();
}

std::string Coordinator::MoveBlockerLocked(const std::string& from,
                                           const std::string& to) const {
  for (const std::string& id : {from, to}) {
    if (auto f = failovers_.find(id); f != failovers_.end()) {
      return absl::StrCat("a failover of ", id, " is running (",
                          f->second.op_id,
                          "); retry once `slotctl operations` shows it ended");
    }
    if (PrimaryAddressLocked(id).empty()) {
      return absl::StrCat(
          id,
          " has no healthy primary; retry once it has one "
          "(see `slotctl cluster status` and `slotctl events`)");
    }
  }
  return "";
}

std::string Coordinator::PrimaryAddressLocked(
    const std::string& shard_id) const {
  const v1::ShardInfo* shard = FindShardLocked(shard_id);
  if (shard == nullptr) return "";
  auto node = nodes_.find(shard->primary_node_id());
  if (node == nodes_.end() || node->second.health() == v1::FAILED) return "";
  return node->second.address();
}

absl::StatusOr<v1::Operation> Coordinator::BeginReshardingLocked(
    const std::string& kind, const std::string& shard_id,
    const std::string& request, std::vector<v1::SlotMove> moves) {
  for (const v1::SlotMove& m : moves) {
    if (std::string blocker =
            MoveBlockerLocked(m.from_shard_id(), m.to_shard_id());
        !blocker.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot move slots now: ", blocker));
    }
  }
  const StoredMeta meta_before = meta_;
  meta_.set_last_operation_number(meta_.last_operation_number() + 1);
  StateUpdate update;
  v1::Operation& op = update.operations.emplace_back();
  op.set_id(absl::StrCat("op-", meta_.last_operation_number()));
  op.set_kind(kind);
  op.set_shard_id(shard_id);
  op.set_state(v1::Operation::RUNNING);
  op.set_created_unix_ms(absl::ToUnixMillis(options_.clock->Now()));
  op.set_message(request);
  op.set_progress("planned");
  uint32_t slots = 0;
  for (v1::SlotMove& m : moves) {
    slots += CountSlots(SlotsOf(m));
    *op.add_moves() = std::move(m);
  }
  op.mutable_migration()->set_slots_total(slots);
  op.mutable_migration()->set_step("planned");
  const v1::Operation copy = op;
  std::vector<v1::SlotMove> planned(copy.moves().begin(), copy.moves().end());
  if (absl::Status s =
          CommitLocked(std::move(update),
                       {{"migration_started",
                         absl::StrCat(copy.id(), " ", kind, ": ", request, "; ",
                                      slots, " slots in ", planned.size(),
                                      " moves: ", MovesText(planned))}},
                       /*new_map=*/false);
      !s.ok()) {
    meta_ = meta_before;
    return s;
  }
  resharding_ = Resharding{};
  resharding_->op_id = copy.id();
  return copy;
}

absl::StatusOr<v1::MigrateSlotsResponse> Coordinator::MigrateSlots(
    const v1::MigrateSlotsRequest& request) {
  SlotRanges slots(request.slots().begin(), request.slots().end());
  if (absl::Status valid = ValidateRanges(slots); !valid.ok()) return valid;
  v1::Operation op;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = CheckNoReshardingLocked(); !s.ok()) return s;
    const v1::ShardInfo* from = FindShardLocked(request.from_shard_id());
    const v1::ShardInfo* to = FindShardLocked(request.to_shard_id());
    for (const auto& [shard, id] : {std::pair(from, request.from_shard_id()),
                                    std::pair(to, request.to_shard_id())}) {
      if (shard == nullptr) {
        return absl::NotFoundError(absl::StrCat(
            "no shard '", id, "'; `slotctl cluster status` lists the shards"));
      }
    }
    if (from == to) {
      return InvalidInputError(
          absl::StrCat("cannot move slots from ", from->shard_id(),
                       " to itself; give two different shards"));
    }
    if (slots.empty()) {
      absl::StatusOr<SlotRanges> top =
          HighestSlots(SlotsOf(*from), request.slot_count());
      if (!top.ok()) return top.status();
      slots = *std::move(top);
    } else if (!ContainsAll(SlotsOf(*from), slots)) {
      return InvalidInputError(
          absl::StrCat(from->shard_id(), " does not own all of slots ",
                       RangesText(NormalizeRanges(slots)), " (it owns ",
                       RangesText(SlotsOf(*from)),
                       "); pick slots it owns (slotctl cluster status)"));
    }
    slots = NormalizeRanges(std::move(slots));
    v1::SlotMove move;
    move.set_from_shard_id(from->shard_id());
    move.set_to_shard_id(to->shard_id());
    for (const v1::SlotRange& r : slots) *move.add_slots() = r;
    absl::StatusOr<v1::Operation> begun = BeginReshardingLocked(
        "migrate_slots", "",
        absl::StrCat("move slots ", RangesText(slots), " from ",
                     from->shard_id(), " to ", to->shard_id()),
        {move});
    if (!begun.ok()) return begun.status();
    op = *std::move(begun);
  }
  StartMover([this] { RunResharding(); });
  v1::MigrateSlotsResponse response;
  *response.mutable_operation() = std::move(op);
  return response;
}

absl::StatusOr<v1::RebalanceResponse> Coordinator::Rebalance(
    const v1::RebalanceRequest& request) {
  const std::string by = request.by().empty() ? "slots" : request.by();
  if (by != "slots" && by != "keys" && by != "bytes") {
    return InvalidInputError(absl::StrCat("cannot rebalance by '", by,
                                          "'; use slots, keys or bytes"));
  }
  // Keys per slot from each primary (outside the lock: network calls).
  SlotWeights keys(kNumSlots, 0), bytes(kNumSlots, 0);
  bool have_stats = false;
  std::vector<std::pair<std::string, std::string>> primaries;
  {
    absl::MutexLock lock(&mu_);
    if (MigrationAdmin() != nullptr) {
      for (const v1::ShardInfo& shard : shards_) {
        primaries.emplace_back(shard.shard_id(),
                               PrimaryAddressLocked(shard.shard_id()));
      }
    }
  }
  if (by != "slots") {
    if (MigrationAdmin() == nullptr) {
      return absl::FailedPreconditionError(
          "this coordinator cannot reach nodes' admin service; rebalance "
          "--by=slots");
    }
    for (const auto& [shard_id, address] : primaries) {
      absl::StatusOr<v1::SlotStatsResponse> stats =
          address.empty() ? absl::UnavailableError("it has no healthy primary")
                          : MigrationAdmin()->GetSlotStats(address);
      if (!stats.ok()) {
        return absl::UnavailableError(
            absl::StrCat("could not read the keys per slot of ", shard_id, ": ",
                         stats.status().message(),
                         "; retry once it answers, or rebalance --by=slots"));
      }
      for (const v1::SlotStatsResponse::Slot& s : stats->slots()) {
        if (s.slot() >= kNumSlots) continue;
        keys[s.slot()] = s.keys();
        bytes[s.slot()] = s.keys() * stats->bytes_per_key();
      }
    }
    have_stats = true;
  }
  v1::RebalanceResponse response;
  v1::Operation op;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = CheckNoReshardingLocked();
        !s.ok() && !request.dry_run()) {
      return s;
    }
    std::vector<ShardSlots> shards;
    for (const v1::ShardInfo& shard : shards_) {
      shards.push_back({shard.shard_id(), SlotsOf(shard)});
    }
    std::vector<v1::SlotMove> moves =
        PlanRebalance(shards, by == "slots"  ? SlotWeights()
                              : by == "keys" ? keys
                                             : bytes);
    for (v1::SlotMove& m : moves) {
      if (have_stats) {
        m.set_keys(TotalWeight(SlotsOf(m), keys));
        m.set_bytes(TotalWeight(SlotsOf(m), bytes));
      }
      *response.add_moves() = m;
    }
    if (request.dry_run() || moves.empty()) return response;
    absl::StatusOr<v1::Operation> begun = BeginReshardingLocked(
        "rebalance", "", absl::StrCat("rebalance by ", by), std::move(moves));
    if (!begun.ok()) return begun.status();
    op = *std::move(begun);
  }
  StartMover([this] { RunResharding(); });
  *response.mutable_operation() = std::move(op);
  return response;
}

absl::StatusOr<v1::RemoveShardResponse> Coordinator::RemoveShard(
    const v1::RemoveShardRequest& request) {
  v1::Operation op;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = CheckNoReshardingLocked(); !s.ok()) return s;
    std::vector<ShardSlots> shards;
    for (const v1::ShardInfo& shard : shards_) {
      shards.push_back({shard.shard_id(), SlotsOf(shard)});
    }
    absl::StatusOr<std::vector<v1::SlotMove>> moves =
        PlanDrain(shards, request.shard_id());
    if (!moves.ok()) return moves.status();
    if (auto f = failovers_.find(request.shard_id()); f != failovers_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("a failover of ", request.shard_id(), " is running (",
                       f->second.op_id,
                       "); retry once `slotctl operations` shows it ended"));
    }
    absl::StatusOr<v1::Operation> begun = BeginReshardingLocked(
        "remove_shard", request.shard_id(),
        absl::StrCat("remove ", request.shard_id(),
                     " (drain its slots to the other shards)"),
        *std::move(moves));
    if (!begun.ok()) return begun.status();
    op = *std::move(begun);
  }
  StartMover([this] { RunResharding(); });
  v1::RemoveShardResponse response;
  *response.mutable_operation() = std::move(op);
  return response;
}

absl::StatusOr<v1::AddShardResponse> Coordinator::AddShard(
    const v1::AddShardRequest& request) {
  absl::MutexLock lock(&mu_);
  if (shutdown_) return absl::UnavailableError("coordinator is shutting down");
  if (meta_.cluster_id().empty()) {
    return absl::FailedPreconditionError(
        "there is no cluster yet; create it first (slotctl cluster create)");
  }
  std::vector<const v1::NodeInfo*> free;
  for (const auto& [id, node] : nodes_) {
    if (node.shard_id().empty() && node.health() != v1::FAILED) {
      free.push_back(&node);
    }
  }
  std::sort(free.begin(), free.end(),
            [](const v1::NodeInfo* a, const v1::NodeInfo* b) {
              return a->node_id() < b->node_id();
            });
  std::vector<PlacementCandidate> candidates;
  for (const v1::NodeInfo* node : free) {
    candidates.push_back({node->node_id(), node->az()});
  }
  absl::StatusOr<std::vector<ShardPlacement>> placements =
      PlaceShards(candidates, 1, request.replicas());
  if (!placements.ok()) {
    if (placements.status().code() != absl::StatusCode::kFailedPrecondition) {
      return placements.status();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "a new shard with ", request.replicas(), " replicas needs ",
        1 + request.replicas(),
        " registered, healthy nodes in no shard; there are ", candidates.size(),
        ". Start more slotcache-node processes (they register as JOINING) "
        "or ask for fewer replicas"));
  }
  const ShardPlacement& placement = placements->front();
  uint64_t number = meta_.last_shard_number();
  for (const v1::ShardInfo& shard : shards_) {
    number = std::max(number, ShardNumber(shard.shard_id()));
  }
  ++number;
  const StoredMeta meta_before = meta_;
  meta_.set_last_shard_number(number);
  meta_.set_max_config_epoch(meta_.max_config_epoch() + 1);
  StateUpdate update;
  v1::ShardInfo& shard = update.shards.emplace_back();
  shard.set_shard_id(absl::StrCat("shard-", number));
  shard.set_primary_node_id(placement.primary);
  for (const std::string& r : placement.replicas) shard.add_replica_node_ids(r);
  shard.set_config_epoch(meta_.max_config_epoch());
  std::vector<std::string> members;
  auto assign = [&](const std::string& id, v1::Role role)
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                      v1::NodeInfo node = nodes_.at(id);
                      node.set_role(role);
                      node.set_shard_id(shard.shard_id());
                      node.set_health(v1::HEALTHY);
                      members.push_back(absl::StrCat(id, " (", node.az(), ")"));
                      update.nodes.push_back(std::move(node));
                    };
  assign(placement.primary, v1::PRIMARY);
  for (const std::string& r : placement.replicas) assign(r, v1::REPLICA);
  const v1::ShardInfo added = shard;
  if (absl::Status s = CommitLocked(
          std::move(update),
          {{"shard_added",
            absl::StrCat(added.shard_id(), ": no slots yet, primary ",
                         members.front(), ", replicas [",
                         absl::StrJoin(members.begin() + 1, members.end(), " "),
                         "], epoch ", added.config_epoch(),
                         "; run `slotctl rebalance` to give it slots")}},
          /*new_map=*/true);
      !s.ok()) {
    meta_ = meta_before;
    return s;
  }
  v1::AddShardResponse response;
  *response.mutable_shard() = added;
  *response.mutable_cluster_map() = *map_;
  return response;
}

absl::StatusOr<v1::Operation> Coordinator::GetOperation(
    const std::string& id) const {
  absl::MutexLock lock(&mu_);
  for (const v1::Operation& op : operations_) {
    if (op.id() == id) return op;
  }
  return absl::NotFoundError(
      absl::StrCat("no operation '", id, "'; `slotctl operations` lists them"));
}

absl::StatusOr<v1::Operation> Coordinator::CancelOperation(
    const std::string& id) {
  absl::MutexLock lock(&mu_);
  v1::Operation* op = FindOperationLocked(id);
  if (op == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "no operation '", id, "'; `slotctl operations` lists them"));
  }
  if (op->state() != v1::Operation::RUNNING) {
    return absl::FailedPreconditionError(absl::StrCat(
        id, " already finished (", v1::Operation::State_Name(op->state()),
        "); nothing to cancel"));
  }
  if (!IsReshardingKind(op->kind())) {
    return absl::FailedPreconditionError(absl::StrCat(
        id, " is a ", op->kind(),
        " operation, which cannot be cancelled; wait for it to finish"));
  }
  if (op->cancel_requested()) return *op;
  StateUpdate update;
  v1::Operation& cancelled = update.operations.emplace_back(*op);
  cancelled.set_cancel_requested(true);
  if (absl::Status s = CommitLocked(
          std::move(update),
          {{"operation_cancel_requested",
            absl::StrCat(id, " ", cancelled.kind(),
                         ": cancel requested; its move in flight rolls back")}},
          /*new_map=*/false);
      !s.ok()) {
    return s;
  }
  if (resharding_.has_value() && resharding_->op_id == id &&
      resharding_->abort_reason.empty()) {
    resharding_->abort_reason = "cancelled by request";
  }
  return *FindOperationLocked(id);
}

void Coordinator::RecoverReshardingLocked(const v1::Operation& op) {
  // A move commits in one write that gives its slots to the target and
  // marks it committed, so the map decides: slots still the source's never
  // moved (the target may hold part of them: AbortImport drops that), and
  // slots already the target's mean the move is done.
  v1::Operation* stored = FindOperationLocked(op.id());
  int to_roll_back = 0;
  for (int i = 0; i < stored->moves_size(); ++i) {
    v1::SlotMove* move = stored->mutable_moves(i);
    if (move->committed()) continue;
    const SlotRanges slots = SlotsOf(*move);
    const v1::ShardInfo* to = FindShardLocked(move->to_shard_id());
    const v1::ShardInfo* from = FindShardLocked(move->from_shard_id());
    if (to != nullptr && ContainsAll(SlotsOf(*to), slots)) {
      move->set_committed(true);
    } else if (from != nullptr && ContainsAll(SlotsOf(*from), slots)) {
      recovered_.push_back({MigrationId(op.id(), i), *move});
      ++to_roll_back;
    }
  }
  resharding_ = Resharding{};
  resharding_->op_id = op.id();
  stored->set_progress("rolling back after a coordinator restart");
  stored->mutable_migration()->set_step("rolling back");
  SC_LOG(INFO, "%s %s was interrupted by a restart: %d moves to roll back",
         op.id(), op.kind(), to_roll_back);
  if (to_roll_back == 0) {
    FinishReshardingLocked(
        v1::Operation::FAILED,
        "interrupted by a coordinator restart (no move was in flight); run "
        "it again for the slots it did not move");
  }
}

void Coordinator::RecoverInterrupted() {
  std::vector<PendingRollback> pending;
  {
    absl::MutexLock lock(&mu_);
    pending = std::move(recovered_);
    recovered_.clear();
  }
  std::vector<std::string> left;
  for (const PendingRollback& p : pending) {
    // The node side may still be reconnecting; RollBackMove retries.
    std::string rest = RollBackMove(p.migration_id, p.move);
    if (!rest.empty()) left.push_back(rest);
    if (stop_.stopped()) return;  // Still RUNNING: the next start retries.
  }
  absl::MutexLock lock(&mu_);
  FinishReshardingLocked(
      v1::Operation::FAILED,
      absl::StrCat("interrupted by a coordinator restart; the move in flight "
                   "was rolled back (its slots stay with their source)",
                   left.empty() ? "" : "; ", absl::StrJoin(left, "; "),
                   "; run it again for the slots it did not move"));
}

}  // namespace slotcache::coordinator
