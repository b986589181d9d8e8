// ClusterState: what this node is (identity), the cluster map it serves
// with, and the one routing decision every keyed request goes through:
// serve here, or redirect (MOVED / READONLY), or refuse (CLUSTERDOWN).
//
// The cluster map is an immutable snapshot (std::shared_ptr<const
// v1::ClusterMap>): Apply() replaces it whole and never edits it in place;
// a map whose version is not higher than the held one is ignored. From
// each map ClusterState precomputes an immutable RoutingTable (slot ->
// owning shard, the shard's primary address and config_epoch, and this
// node's role in it), so a routing check is an array lookup.
//
// Without a map (standalone: no coordinator and no ApplyClusterMap yet) the
// node is the primary of every slot and GetClusterMap reports a one-shard
// map of version 0 naming this node.
//
// A node managed by a coordinator (Options::coordinated) instead starts
// with an empty map and serves no slot until the first map arrives, and
// is lease-fenced (docs/ARCHITECTURE.md §2.3): a primary accepts writes only
// before the expiry last given to ExtendLease() (the coordinator agent renews
// it from heartbeat replies). Reads never wait for the control plane.
//
// Manual failover pauses a primary's writes (PauseWrites): they get
// TRYAGAIN until ResumeWrites or the bounded pause ends, and PauseWrites
// returns only once every request routed before the pause has finished,
// so the replication log's end offset is then final. A slot migration's
// cut-over pauses only the moving slots' writes the same way
// (PauseSlotWrites, docs/RESHARDING.md step 4).
//
// When a map takes slots away from this node's shard (a migration
// committed), the slots-lost listener is told, so their keys can be
// dropped in the background (node/migration/slot_dropper.h).
//
// Thread-safety: all methods are safe to call from any thread. Readers
// take a RoutingView per request (one short shared lock), then route every
// command of that request against the view without locking.
#ifndef SLOTCACHE_NODE_CLUSTER_CLUSTER_STATE_H_
#define SLOTCACHE_NODE_CLUSTER_CLUSTER_STATE_H_

#include <bitset>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/slot.h"
#include "proto/common.pb.h"

namespace slotcache::node {

// Who this node is. `address` is what clients and peers dial (host:port).
struct NodeIdentity {
  std::string node_id;
  std::string address;
  std::string az;
};

// What a command does to the keyspace, as the routing rules see it.
enum class Access {
  // Reads keys (GET, HGETALL, ...).
  kRead,
  // Changes keys (SET, DEL, FLUSHALL, ...).
  kWrite,
};

// The routing facts derived from one cluster map. Immutable.
struct RoutingTable {
  // Per owning shard, what a redirect to it needs.
  struct Shard {
    std::string shard_id;
    uint64_t config_epoch = 0;
    // Empty when the shard's primary is unknown or has no NodeInfo in the
    // map: requests for its slots then get CLUSTERDOWN.
    std::string primary_node_id;
    std::string primary_address;
    // This node's role in the shard (ROLE_UNSPECIFIED: not a member).
    v1::Role local_role = v1::ROLE_UNSPECIFIED;
  };

  // The map this table was built from (synthesized when standalone).
  std::shared_ptr<const v1::ClusterMap> map;
  bool standalone = false;
  std::vector<Shard> shards;
  // slot -> index into `shards`, or kUnowned.
  static constexpr int16_t kUnowned = -1;
  std::vector<int16_t> slot_owner;
  // This node's shard (index into `shards`) or kUnowned when it is in none.
  int16_t local_shard = kUnowned;

  // True when this node's shard owns `slot` (standalone: every slot).
  bool LocalShardOwns(uint32_t slot) const {
    return local_shard != kUnowned && slot < slot_owner.size() &&
           slot_owner[slot] == local_shard;
  }
  // True when this node is the primary of the shard that owns `slot`.
  bool LocalPrimaryOf(uint32_t slot) const {
    return LocalShardOwns(slot) &&
           shards[local_shard].local_role == v1::PRIMARY;
  }
};

// The slots a migration's cut-over paused, until when. Immutable once
// published to RoutingViews.
struct SlotWritePause {
  std::string migration_id;
  std::bitset<kNumSlots> slots;
  absl::Time until;
};
using SlotWritePauses = std::vector<SlotWritePause>;

// A consistent routing snapshot for one request (or one pipeline batch).
// Cheap to copy; holds the table alive.
class RoutingView {
 public:
  // The routing rules, all in one place. The checks run in this order:
  //
  //  1. Standalone (no map applied): every slot is served here, reads and
  //     writes.
  //  2. The slot belongs to no shard of the map -> CLUSTERDOWN ("slot N is
  //     not served by any shard"). The map is incomplete (e.g. while a
  //     cluster is being created); retry after refreshing the map.
  //  3. The owning shard has no known primary (no primary_node_id, or no
  //     NodeInfo/address for it) -> CLUSTERDOWN. A failover is in flight.
  //  4. This node is the owning shard's primary:
  //       reads  -> served here;
  //       writes -> TRYAGAIN while a manual failover paused them (the
  //                 client retries after retry_after_ms and lands on the
  //                 new primary or here again), or while a migration's
  //                 cut-over paused writes to this slot (PauseSlotWrites;
  //                 the retry lands here again, or after the commit gets
  //                 MOVED to the new owner); else served here, unless
  //                 lease fencing is on and the lease expired ->
  //                 CLUSTERDOWN (docs/ARCHITECTURE.md §2.3: a primary cut off
  //                 from the coordinator must stop acknowledging writes before
  //                 another node may be promoted).
  //  5. This node is a replica of the owning shard:
  //       writes -> READONLY naming the primary's address (the client
  //                 should send writes there; its map is not stale);
  //       reads with allow_replica_read -> served here (possibly stale);
  //       reads without it -> MOVED to the primary, like a Redis replica
  //                 that has not been sent READONLY.
  //  6. Otherwise (another shard owns the slot) -> MOVED with the slot, the
  //     owner's primary address and node id, and the owning shard's
  //     config_epoch, so the client can tell a stale redirect from a new
  //     one and refresh its map.
  //
  // Never produced: ASK. A slot moves whole at the commit
  // (docs/RESHARDING.md), so clients never see a half-moved slot.
  absl::Status RouteSlot(uint32_t slot, Access access) const;

  // For commands that touch the whole node rather than keys (DBSIZE,
  // FLUSHALL, SCAN): reads are always served (they describe this node's
  // own data); writes follow the rules of a slot this node holds: refused
  // with READONLY on a replica, TRYAGAIN while paused (also while any
  // slot's writes are paused: FLUSHALL touches the moving slots too) and
  // CLUSTERDOWN without a valid lease.
  absl::Status RouteNodeWide(Access access) const;

  const RoutingTable& table() const { return *table_; }

 private:
  friend class ClusterState;
  RoutingView(std::shared_ptr<const RoutingTable> table,
              std::shared_ptr<const int> in_flight,
              std::shared_ptr<const SlotWritePauses> slot_pauses,
              absl::Time now, bool allow_replica_read, bool write_lease_valid,
              bool writes_paused)
      : table_(std::move(table)),
        in_flight_(std::move(in_flight)),
        slot_pauses_(std::move(slot_pauses)),
        now_(now),
        allow_replica_read_(allow_replica_read),
        write_lease_valid_(write_lease_valid),
        writes_paused_(writes_paused) {}

  absl::Status WriteFenced() const;
  // The migration whose cut-over pauses writes to `slot` now (any slot
  // with kAnySlot), or nullptr.
  static constexpr uint32_t kAnySlot = ~uint32_t{0};
  const SlotWritePause* SlotPaused(uint32_t slot) const;

  std::shared_ptr<const RoutingTable> table_;
  // Held while the request runs; PauseWrites waits for it (see there).
  std::shared_ptr<const int> in_flight_;
  // Null when no slot pause was ever set.
  std::shared_ptr<const SlotWritePauses> slot_pauses_;
  absl::Time now_;
  bool allow_replica_read_;
  bool write_lease_valid_;
  bool writes_paused_;
};

class ClusterState {
 public:
  struct Options {
    // Managed by a coordinator: no slots until the first map, and writes
    // need an unexpired lease. Off for standalone nodes (whose maps, if
    // any, come from an operator via ApplyClusterMap).
    bool coordinated = false;
    // Not owned; must outlive the ClusterState. Used for lease expiry.
    Clock* clock = Clock::Real();
  };

  ClusterState(NodeIdentity identity, Options options);

  ClusterState(const ClusterState&) = delete;
  ClusterState& operator=(const ClusterState&) = delete;

  NodeIdentity identity() const;
  // The bound address is known only after the server started (port 0).
  void SetAddress(std::string address);

  // Installs `map` when its version is higher than the held one (a map of
  // version 0 never is: 0 means standalone). Returns the version held
  // after the call. INVALID_ARGUMENT, changing nothing, when the map is
  // malformed (slot out of range, a slot owned twice, duplicate shard ids)
  // or lowers the config_epoch of a shard the held map has.
  absl::StatusOr<uint64_t> Apply(const v1::ClusterMap& map);

  // The map the node serves with (standalone: a synthesized version-0 map).
  std::shared_ptr<const v1::ClusterMap> map() const;
  // The routing table in force (for components that reason about
  // ownership rather than route one request).
  std::shared_ptr<const RoutingTable> table() const;
  // 0 when standalone.
  uint64_t map_version() const;
  // This node's role and shard ("" when in none) in the held map.
  v1::Role role() const;
  std::string shard_id() const;

  // Lets a primary accept writes until `expiry` (never shortens a lease).
  void ExtendLease(absl::Time expiry);

  // Manual failover: writes get TRYAGAIN for `duration` (or until
  // ResumeWrites). Returns once every request routed before the call has
  // finished (DEADLINE_EXCEEDED if one still runs when the pause ends).
  // FAILED_PRECONDITION, changing nothing, when this node is not a
  // primary in its map.
  absl::Status PauseWrites(absl::Duration duration);
  void ResumeWrites();

  // A migration's cut-over: writes to `slots` get TRYAGAIN for `duration`
  // (or until ResumeSlotWrites(migration_id), or until a map gives the
  // slots to another shard: MOVED then). Reads go on. Returns once every
  // request routed before the call has finished (DEADLINE_EXCEEDED if one
  // still runs when the pause ends). FAILED_PRECONDITION, changing
  // nothing, unless this node is the primary owning every slot. A second
  // call with the same id replaces that pause.
  absl::Status PauseSlotWrites(const std::string& migration_id,
                               const std::vector<uint32_t>& slots,
                               absl::Duration duration);
  // Ends the pause of `migration_id` (no-op when there is none).
  void ResumeSlotWrites(const std::string& migration_id);

  // Called (outside any lock, on the applying thread) with the slots this
  // node's shard owned in the previous map and does not own in the map
  // just applied. The standalone map counts as owning nothing here: its
  // keys are an operator's, not a shard's. Set before maps arrive.
  using SlotsLostListener = std::function<void(std::vector<uint32_t> slots)>;
  void SetSlotsLostListener(SlotsLostListener listener);
  // Told (on the applying thread, after the map took effect) when a map
  // makes this node a shard primary that was not one in the previous map
  // (a promotion, or the first map of a new shard). Set before maps
  // arrive.
  void SetBecamePrimaryListener(std::function<void()> listener);

  // A routing snapshot for one request.
  RoutingView View(bool allow_replica_read) const;

 private:
  // What PauseWrites waits on: `token` is copied into every RoutingView;
  // `drained` becomes ready once every copy is gone.
  struct InFlightToken {
    std::shared_ptr<const int> token;
    std::shared_future<void> drained;
  };
  static InFlightToken NewInFlightToken();

  // Swaps in a new in-flight token and waits (up to `timeout`) until every
  // request holding the old one finished. Call without mu_ held.
  absl::Status DrainInFlight(InFlightToken before, absl::Duration timeout);

  // The table before any map: standalone (all slots) or, when
  // coordinated, an empty version-0 map (no slots).
  void BuildInitialTableLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const Options options_;

  mutable absl::Mutex mu_;
  NodeIdentity identity_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const RoutingTable> table_ ABSL_GUARDED_BY(mu_);
  absl::Time lease_expiry_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time pause_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Every RoutingView holds a copy of the token; PauseWrites swaps in a
  // new one and waits until the old one is released by all (no request
  // routed before the pause is still running).
  InFlightToken in_flight_ ABSL_GUARDED_BY(mu_) = NewInFlightToken();
  // Replaced whole on every change (RoutingViews share it).
  std::shared_ptr<const SlotWritePauses> slot_pauses_ ABSL_GUARDED_BY(mu_);
  SlotsLostListener slots_lost_ ABSL_GUARDED_BY(mu_);
  std::function<void()> became_primary_ ABSL_GUARDED_BY(mu_);
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_CLUSTER_CLUSTER_STATE_H_
