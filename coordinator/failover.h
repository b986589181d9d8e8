// Failover decisions, as pure functions: which replica may replace a
// shard's primary, when that is safe, and the shard record after the
// switch. The Coordinator (coordinator_failover.cc) runs the state machine
// around them; docs/FAILOVER.md has the timing diagram.
//
// docs/ARCHITECTURE.md §2.3 (lease fencing) and §2.5 (never promote an empty or
// stale replica) are decided here:
//
//   - A primary accepts writes until `sent + lease`, where `sent` is when
//     it sent the heartbeat whose reply granted the lease. The coordinator
//     granted that lease after the heartbeat was sent, so on the
//     coordinator's clock the lease is surely over at
//     `last_grant + lease + drift_margin`. The margin covers clock-rate
//     differences and a write routed just before the expiry that is still
//     executing (and replicating) just after it.
//   - Only after that time is a replica promoted, and only with offsets
//     reported after it: once the old primary cannot append, the freshest
//     reports tell which replica has every write it acknowledged (a write
//     acked with min_replica_acks=1 is on at least one replica, and the
//     highest offset has it).
//
// Thread-safety: pure functions, safe from any thread.
#ifndef SLOTCACHE_COORDINATOR_FAILOVER_H_
#define SLOTCACHE_COORDINATOR_FAILOVER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/common.pb.h"

namespace slotcache::coordinator {

// One replica of a shard as the coordinator last heard from it.
struct ReplicaReport {
  std::string node_id;
  std::string az;
  // Heartbeating (not FAILED).
  bool healthy = false;
  // Reported after the old primary's lease was surely over (automatic
  // failover), or simply reporting (manual failover, primary paused).
  bool fresh = false;
  // HeartbeatRequest.replica_synced: holds a copy of the primary's history.
  bool synced = false;
  std::string replication_id;
  uint64_t offset = 0;
};

// The replica to promote: among the healthy, fresh, synced replicas that
// follow `history_id` (the primary's replication id; empty when unknown,
// e.g. the primary never reported since a coordinator restart: then every
// synced replica counts), the highest offset; on a tie, one outside
// `primary_az`; then the lowest node id, so the choice is deterministic.
// FAILED_PRECONDITION when none is eligible; the message names each
// replica and why it was passed over.
absl::StatusOr<ReplicaReport> ChoosePromotion(
    const std::vector<ReplicaReport>& replicas, const std::string& history_id,
    const std::string& primary_az);

// When a primary whose last lease was granted at `last_grant` surely
// stopped accepting writes (see the file comment).
absl::Time LeaseSurelyOver(absl::Time last_grant, absl::Duration lease,
                           absl::Duration drift_margin);

// `shard` after promoting `new_primary` (one of its replicas) with the new
// `config_epoch`: the old primary becomes its last replica, so it rejoins
// as a replica of the new primary when it returns; the others keep their
// order.
v1::ShardInfo PromotedShard(const v1::ShardInfo& shard,
                            const std::string& new_primary,
                            uint64_t config_epoch);

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_FAILOVER_H_
