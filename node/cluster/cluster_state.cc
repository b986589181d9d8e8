#include "node/cluster/cluster_state.h"

#include <future>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/slot.h"
#include "common/status.h"

namespace slotcache::node {
namespace {

constexpr char kStandaloneShardId[] = "standalone";
// What a paused primary tells clients to wait before retrying: short, as
// a manual failover's switch takes tens of milliseconds.
constexpr uint32_t kPausedRetryAfterMs = 10;

// The slots `table`'s local shard owns (none when standalone, see
// SetSlotsLostListener).
std::bitset<kNumSlots> OwnedSlots(const RoutingTable& table) {
  std::bitset<kNumSlots> owned;
  if (table.standalone) return owned;
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (table.LocalShardOwns(slot)) owned.set(slot);
  }
  return owned;
}

std::shared_ptr<const v1::ClusterMap> StandaloneMap(
    const NodeIdentity& identity) {
  auto map = std::make_shared<v1::ClusterMap>();
  map->set_version(0);
  v1::ShardInfo* shard = map->add_shards();
  shard->set_shard_id(kStandaloneShardId);
  v1::SlotRange* range = shard->add_slots();
  range->set_start(0);
  range->set_end(kNumSlots - 1);
  shard->set_primary_node_id(identity.node_id);
  v1::NodeInfo* node = map->add_nodes();
  node->set_node_id(identity.node_id);
  node->set_address(identity.address);
  node->set_az(identity.az);
  node->set_role(v1::PRIMARY);
  node->set_shard_id(kStandaloneShardId);
  node->set_health(v1::HEALTHY);
  return map;
}

// Derives the routing table of `map` for the node `local_node_id`, or
// INVALID_ARGUMENT when the map is malformed.
absl::StatusOr<std::shared_ptr<const RoutingTable>> BuildTable(
    std::shared_ptr<const v1::ClusterMap> map, const std::string& local_node_id,
    bool standalone) {
  if (map->shards_size() > std::numeric_limits<int16_t>::max()) {
    return InvalidInputError(
        absl::StrCat("cluster map version ", map->version(), " has ",
                     map->shards_size(), " shards; at most ",
                     std::numeric_limits<int16_t>::max(), " are supported"));
  }
  absl::flat_hash_map<absl::string_view, const v1::NodeInfo*> nodes;
  for (const v1::NodeInfo& node : map->nodes()) nodes[node.node_id()] = &node;

  auto table = std::make_shared<RoutingTable>();
  table->standalone = standalone;
  table->slot_owner.assign(kNumSlots, RoutingTable::kUnowned);
  absl::flat_hash_map<absl::string_view, int> shard_ids;
  for (int i = 0; i < map->shards_size(); ++i) {
    const v1::ShardInfo& info = map->shards(i);
    if (!shard_ids.emplace(info.shard_id(), i).second) {
      return InvalidInputError(absl::StrCat("cluster map version ",
                                            map->version(), " lists shard '",
                                            info.shard_id(), "' twice"));
    }
    RoutingTable::Shard shard;
    shard.shard_id = info.shard_id();
    shard.config_epoch = info.config_epoch();
    auto primary = nodes.find(info.primary_node_id());
    if (!info.primary_node_id().empty() && primary != nodes.end() &&
        !primary->second->address().empty()) {
      shard.primary_node_id = info.primary_node_id();
      shard.primary_address = primary->second->address();
    }
    if (!local_node_id.empty()) {
      if (info.primary_node_id() == local_node_id) {
        shard.local_role = v1::PRIMARY;
      } else {
        for (const std::string& replica : info.replica_node_ids()) {
          if (replica == local_node_id) shard.local_role = v1::REPLICA;
        }
      }
    }
    if (shard.local_role != v1::ROLE_UNSPECIFIED &&
        table->local_shard == RoutingTable::kUnowned) {
      table->local_shard = static_cast<int16_t>(i);
    }
    for (const v1::SlotRange& range : info.slots()) {
      if (range.start() > range.end() || range.end() >= kNumSlots) {
        return InvalidInputError(absl::StrCat(
            "cluster map version ", map->version(), " gives shard '",
            info.shard_id(), "' the slot range ", range.start(), "-",
            range.end(),
            "; ranges must satisfy start <= end <= ", kNumSlots - 1));
      }
      for (uint32_t slot = range.start(); slot <= range.end(); ++slot) {
        int16_t& owner = table->slot_owner[slot];
        if (owner != RoutingTable::kUnowned) {
          return InvalidInputError(absl::StrCat(
              "cluster map version ", map->version(), " gives slot ", slot,
              " to both shard '", map->shards(owner).shard_id(), "' and '",
              info.shard_id(), "'; a slot has exactly one owner"));
        }
        owner = static_cast<int16_t>(i);
      }
    }
    table->shards.push_back(std::move(shard));
  }
  table->map = std::move(map);
  return std::shared_ptr<const RoutingTable>(std::move(table));
}

// INVALID_ARGUMENT when `next` lowers the config_epoch of a shard that
// `current` also has (docs/ARCHITECTURE.md §2.2: epochs never go backwards).
absl::Status CheckEpochsDoNotRegress(const RoutingTable& current,
                                     const v1::ClusterMap& next) {
  if (current.standalone) return absl::OkStatus();
  absl::flat_hash_map<absl::string_view, uint64_t> held;
  for (const RoutingTable::Shard& shard : current.shards) {
    held[shard.shard_id] = shard.config_epoch;
  }
  for (const v1::ShardInfo& shard : next.shards()) {
    auto it = held.find(shard.shard_id());
    if (it != held.end() && shard.config_epoch() < it->second) {
      return InvalidInputError(absl::StrCat(
          "cluster map version ", next.version(),
          " lowers the config_epoch "
          "of shard '",
          shard.shard_id(), "' from ", it->second, " to ", shard.config_epoch(),
          "; epochs never go backwards, so the map is "
          "refused (is the coordinator's state lost?)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const SlotWritePause* RoutingView::SlotPaused(uint32_t slot) const {
  if (slot_pauses_ == nullptr) return nullptr;
  for (const SlotWritePause& pause : *slot_pauses_) {
    if (now_ >= pause.until) continue;
    if (slot == kAnySlot || (slot < kNumSlots && pause.slots.test(slot))) {
      return &pause;
    }
  }
  return nullptr;
}

absl::Status RoutingView::WriteFenced() const {
  if (writes_paused_) {
    return TryAgainError(
        "TRYAGAIN writes are paused for a manual failover of this shard; "
        "retry shortly (the new primary takes over within a second)",
        kPausedRetryAfterMs);
  }
  if (write_lease_valid_) return absl::OkStatus();
  return ClusterDownError(
      "CLUSTERDOWN this primary's write lease expired (no heartbeat reply "
      "from the coordinator in time); writes resume once the coordinator "
      "renews the lease or the client's refreshed map names a new primary");
}

absl::Status RoutingView::RouteSlot(uint32_t slot, Access access) const {
  const RoutingTable& table = *table_;
  if (table.standalone) return absl::OkStatus();  // Rule 1.
  int16_t owner =
      slot < kNumSlots ? table.slot_owner[slot] : RoutingTable::kUnowned;
  if (owner == RoutingTable::kUnowned) {  // Rule 2.
    if (table.map->version() == 0) {
      return ClusterDownError(
          "CLUSTERDOWN this node has no cluster map from the coordinator "
          "yet; retry shortly or ask another node");
    }
    return ClusterDownError(
        absl::StrCat("CLUSTERDOWN slot ", slot,
                     " is not served by any shard in cluster "
                     "map version ",
                     table.map->version(),
                     "; retry after the cluster "
                     "map assigns it"));
  }
  const RoutingTable::Shard& shard = table.shards[owner];
  if (shard.primary_address.empty()) {  // Rule 3.
    return ClusterDownError(absl::StrCat(
        "CLUSTERDOWN shard '", shard.shard_id, "' that owns slot ", slot,
        " has no known primary in cluster map version ", table.map->version(),
        "; retry after the failover completes"));
  }
  switch (shard.local_role) {
    case v1::PRIMARY:  // Rule 4.
      if (access == Access::kRead) return absl::OkStatus();
      if (const SlotWritePause* pause = SlotPaused(slot)) {
        return TryAgainError(
            absl::StrCat("TRYAGAIN writes to slot ", slot,
                         " are paused while migration '", pause->migration_id,
                         "' hands the slot to its new shard; retry shortly "
                         "(after the hand-over the slot answers MOVED)"),
            kPausedRetryAfterMs);
      }
      return WriteFenced();
    case v1::REPLICA:  // Rule 5.
      if (access == Access::kWrite) {
        return ReadOnlyError(shard.primary_address);
      }
      if (allow_replica_read_) return absl::OkStatus();
      break;
    default:
      break;
  }
  return MovedError(slot, shard.primary_address,  // Rules 5 and 6.
                    shard.primary_node_id, shard.config_epoch);
}

absl::Status RoutingView::RouteNodeWide(Access access) const {
  const RoutingTable& table = *table_;
  if (access == Access::kRead || table.standalone) return absl::OkStatus();
  if (table.local_shard != RoutingTable::kUnowned) {
    const RoutingTable::Shard& shard = table.shards[table.local_shard];
    if (shard.local_role == v1::REPLICA) {
      return ReadOnlyError(shard.primary_address);
    }
  }
  if (const SlotWritePause* pause = SlotPaused(kAnySlot)) {
    return TryAgainError(
        absl::StrCat("TRYAGAIN node-wide writes are refused while migration '",
                     pause->migration_id,
                     "' pauses writes to some slots for its hand-over; retry "
                     "shortly"),
        kPausedRetryAfterMs);
  }
  return WriteFenced();
}

ClusterState::ClusterState(NodeIdentity identity, Options options)
    : options_(options), identity_(std::move(identity)) {
  absl::MutexLock lock(&mu_);
  BuildInitialTableLocked();
}

void ClusterState::BuildInitialTableLocked() {
  bool standalone = !options_.coordinated;
  absl::StatusOr<std::shared_ptr<const RoutingTable>> table =
      BuildTable(standalone ? StandaloneMap(identity_)
                            : std::make_shared<const v1::ClusterMap>(),
                 identity_.node_id, standalone);
  // Both maps are well formed by construction.
  table_ = *std::move(table);
}

NodeIdentity ClusterState::identity() const {
  absl::MutexLock lock(&mu_);
  return identity_;
}

void ClusterState::SetAddress(std::string address) {
  absl::MutexLock lock(&mu_);
  identity_.address = std::move(address);
  if (table_->standalone) BuildInitialTableLocked();
}

absl::StatusOr<uint64_t> ClusterState::Apply(const v1::ClusterMap& map) {
  // Cheap early exit without copying the map.
  std::string local_node_id;
  {
    absl::MutexLock lock(&mu_);
    if (map.version() == 0 || map.version() <= table_->map->version()) {
      return table_->map->version();
    }
    local_node_id = identity_.node_id;
  }
  // Build outside the lock: routing goes on with the old table meanwhile.
  absl::StatusOr<std::shared_ptr<const RoutingTable>> table =
      BuildTable(std::make_shared<const v1::ClusterMap>(map), local_node_id,
                 /*standalone=*/false);
  if (!table.ok()) return table.status();

  std::shared_ptr<const RoutingTable> previous;
  SlotsLostListener listener;
  std::function<void()> became_primary;
  {
    absl::MutexLock lock(&mu_);
    // Another Apply may have won the race meanwhile.
    if (map.version() <= table_->map->version()) {
      return table_->map->version();
    }
    absl::Status epochs = CheckEpochsDoNotRegress(*table_, map);
    if (!epochs.ok()) return epochs;
    previous = std::move(table_);
    table_ = *table;
    listener = slots_lost_;
    became_primary = became_primary_;
  }
  auto is_primary = [](const RoutingTable& t) {
    return !t.standalone && t.local_shard != RoutingTable::kUnowned &&
           t.shards[t.local_shard].local_role == v1::PRIMARY;
  };
  if (became_primary && is_primary(**table) && !is_primary(*previous)) {
    became_primary();
  }
  if (listener) {
    const std::bitset<kNumSlots> lost =
        OwnedSlots(*previous) & ~OwnedSlots(**table);
    if (lost.any()) {
      std::vector<uint32_t> slots;
      for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
        if (lost.test(slot)) slots.push_back(slot);
      }
      listener(std::move(slots));
    }
  }
  return map.version();
}

void ClusterState::SetBecamePrimaryListener(std::function<void()> listener) {
  absl::MutexLock lock(&mu_);
  became_primary_ = std::move(listener);
}

void ClusterState::SetSlotsLostListener(SlotsLostListener listener) {
  absl::MutexLock lock(&mu_);
  slots_lost_ = std::move(listener);
}

std::shared_ptr<const RoutingTable> ClusterState::table() const {
  absl::ReaderMutexLock lock(&mu_);
  return table_;
}

std::shared_ptr<const v1::ClusterMap> ClusterState::map() const {
  return table()->map;
}

uint64_t ClusterState::map_version() const { return table()->map->version(); }

v1::Role ClusterState::role() const {
  std::shared_ptr<const RoutingTable> table = this->table();
  if (table->local_shard == RoutingTable::kUnowned) {
    return v1::ROLE_UNSPECIFIED;
  }
  return table->shards[table->local_shard].local_role;
}

std::string ClusterState::shard_id() const {
  std::shared_ptr<const RoutingTable> table = this->table();
  if (table->local_shard == RoutingTable::kUnowned) return "";
  return table->shards[table->local_shard].shard_id;
}

void ClusterState::ExtendLease(absl::Time expiry) {
  absl::MutexLock lock(&mu_);
  if (expiry > lease_expiry_) lease_expiry_ = expiry;
}

ClusterState::InFlightToken ClusterState::NewInFlightToken() {
  auto released = std::make_shared<std::promise<void>>();
  InFlightToken token;
  token.drained = released->get_future().share();
  // The deleter runs when the last RoutingView holding the token is gone;
  // the promise makes that visible to the waiter (also to TSAN).
  token.token =
      std::shared_ptr<const int>(new int(0), [released](const int* p) {
        delete p;
        released->set_value();
      });
  return token;
}

absl::Status ClusterState::PauseWrites(absl::Duration duration) {
  InFlightToken before;
  {
    absl::MutexLock lock(&mu_);
    const RoutingTable& table = *table_;
    if (table.standalone || table.local_shard == RoutingTable::kUnowned ||
        table.shards[table.local_shard].local_role != v1::PRIMARY) {
      return absl::FailedPreconditionError(
          absl::StrCat("node ", identity_.node_id,
                       " is not a shard primary in its cluster map version ",
                       table.map->version(),
                       "; pause writes on the primary the current map names"));
    }
    pause_until_ = options_.clock->Now() + duration;
    before = std::move(in_flight_);
    in_flight_ = NewInFlightToken();
  }
  return DrainInFlight(std::move(before), duration);
}

absl::Status ClusterState::DrainInFlight(InFlightToken before,
                                         absl::Duration timeout) {
  // Requests routed before the pause hold the old token; once the last
  // of them finished (and logged its writes), its deleter fulfils
  // `drained`.
  before.token.reset();
  if (before.drained.wait_for(absl::ToChronoMilliseconds(timeout)) !=
      std::future_status::ready) {
    return absl::DeadlineExceededError(absl::StrCat(
        "writes admitted before the pause were still running after ",
        absl::FormatDuration(timeout), "; retry the pause (it has ended)"));
  }
  return absl::OkStatus();
}

absl::Status ClusterState::PauseSlotWrites(const std::string& migration_id,
                                           const std::vector<uint32_t>& slots,
                                           absl::Duration duration) {
  InFlightToken before;
  {
    absl::MutexLock lock(&mu_);
    const RoutingTable& table = *table_;
    SlotWritePause pause;
    pause.migration_id = migration_id;
    pause.until = options_.clock->Now() + duration;
    for (uint32_t slot : slots) {
      if (!table.LocalPrimaryOf(slot)) {
        return absl::FailedPreconditionError(
            absl::StrCat("node ", identity_.node_id,
                         " is not the primary of the shard owning slot ", slot,
                         " in its cluster map version ", table.map->version(),
                         "; pause the slots' writes on their owner's primary"));
      }
      pause.slots.set(slot);
    }
    auto pauses = std::make_shared<SlotWritePauses>();
    if (slot_pauses_ != nullptr) {
      // Ended pauses go too, so the list stays as short as the pauses
      // running.
      const absl::Time now = options_.clock->Now();
      for (const SlotWritePause& held : *slot_pauses_) {
        if (held.migration_id != migration_id && held.until > now) {
          pauses->push_back(held);
        }
      }
    }
    pauses->push_back(std::move(pause));
    slot_pauses_ = std::move(pauses);
    before = std::move(in_flight_);
    in_flight_ = NewInFlightToken();
  }
  return DrainInFlight(std::move(before), duration);
}

void ClusterState::ResumeSlotWrites(const std::string& migration_id) {
  absl::MutexLock lock(&mu_);
  if (slot_pauses_ == nullptr) return;
  auto pauses = std::make_shared<SlotWritePauses>();
  for (const SlotWritePause& held : *slot_pauses_) {
    if (held.migration_id != migration_id) pauses->push_back(held);
  }
  slot_pauses_ = std::move(pauses);
}

void ClusterState::ResumeWrites() {
  absl::MutexLock lock(&mu_);
  pause_until_ = absl::InfinitePast();
}

RoutingView ClusterState::View(bool allow_replica_read) const {
  std::shared_ptr<const RoutingTable> table;
  std::shared_ptr<const int> in_flight;
  absl::Time lease_expiry;
  absl::Time pause_until;
  std::shared_ptr<const SlotWritePauses> slot_pauses;
  {
    absl::ReaderMutexLock lock(&mu_);
    table = table_;
    in_flight = in_flight_.token;
    lease_expiry = lease_expiry_;
    pause_until = pause_until_;
    slot_pauses = slot_pauses_;
  }
  const absl::Time now = options_.clock->Now();
  const bool lease_valid = !options_.coordinated || now < lease_expiry;
  return RoutingView(std::move(table), std::move(in_flight),
                     std::move(slot_pauses), now, allow_replica_read,
                     lease_valid, now < pause_until);
}

}  // namespace slotcache::node
