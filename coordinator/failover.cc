#include "coordinator/failover.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace slotcache::coordinator {

absl::StatusOr<ReplicaReport> ChoosePromotion(
    const std::vector<ReplicaReport>& replicas, const std::string& history_id,
    const std::string& primary_az) {
  const ReplicaReport* best = nullptr;
  // Ordering key: higher offset, then another AZ, then lower id.
  auto better = [&](const ReplicaReport& a, const ReplicaReport& b) {
    const bool a_away = a.az != primary_az;
    const bool b_away = b.az != primary_az;
    if (a.offset != b.offset) return a.offset > b.offset;
    if (a_away != b_away) return a_away;
    return a.node_id < b.node_id;
  };
  std::vector<std::string> passed_over;
  for (const ReplicaReport& r : replicas) {
    std::string why;
    if (!r.healthy) {
      why = "is FAILED";
    } else if (!r.fresh) {
      why = "has not reported since the primary's lease ran out";
    } else if (!r.synced) {
      why = "has not completed a full sync (it may be empty)";
    } else if (!history_id.empty() && r.replication_id != history_id) {
      why = absl::StrCat("follows another history (replication id '",
                         r.replication_id, "', the primary's is '", history_id,
                         "')");
    }
    if (!why.empty()) {
      passed_over.push_back(absl::StrCat(r.node_id, " ", why));
      continue;
    }
    if (best == nullptr || better(r, *best)) best = &r;
  }
  if (best != nullptr) return *best;
  return absl::FailedPreconditionError(absl::StrCat(
      "no replica can take over",
      replicas.empty() ? " (the shard has no replicas)"
                       : absl::StrCat(": ", absl::StrJoin(passed_over, "; ")),
      ". The shard stays down rather than promote an empty or stale copy; "
      "bring the primary back (restart it) or a synced replica"));
}

absl::Time LeaseSurelyOver(absl::Time last_grant, absl::Duration lease,
                           absl::Duration drift_margin) {
  return last_grant + lease + drift_margin;
}

v1::ShardInfo PromotedShard(const v1::ShardInfo& shard,
                            const std::string& new_primary,
                            uint64_t config_epoch) {
  v1::ShardInfo promoted = shard;
  promoted.set_primary_node_id(new_primary);
  promoted.clear_replica_node_ids();
  for (const std::string& r : shard.replica_node_ids()) {
    if (r != new_primary) promoted.add_replica_node_ids(r);
  }
  if (!shard.primary_node_id().empty()) {
    promoted.add_replica_node_ids(shard.primary_node_id());
  }
  promoted.set_config_epoch(config_epoch);
  return promoted;
}

}  // namespace slotcache::coordinator
