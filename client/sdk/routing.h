// Slot routing for the SDK: an immutable snapshot of "which node serves
// which slot", built from a slotcache.v1.ClusterMap.
//
// A RoutingTable is never edited in place. MOVED redirects produce a new
// table (WithSlotMoved) that the client swaps in whole, and a fresh map from
// a node replaces it entirely. Epochs keep stale information out: a redirect
// whose config_epoch is older than the shard epoch the table holds for the
// slot is ignored.
//
// A map without shards, or of version 0 (a standalone node that has never
// been given a map and describes itself), routes every slot to the
// "fallback" address: the node the map came from, as the client dialled it.
//
// Thread-safety: immutable after construction; share as
// std::shared_ptr<const RoutingTable> between threads freely.
#ifndef SLOTCACHE_CLIENT_SDK_ROUTING_H_
#define SLOTCACHE_CLIENT_SDK_ROUTING_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/slot.h"
#include "proto/common.pb.h"

namespace slotcache {

// Where reads go. Writes always go to the slot's primary.
enum class ReadPolicy {
  // Every read goes to the primary: always up to date. The default.
  kPrimary,
  // Reads go to a replica of the slot's shard when it has a healthy one
  // (spread over them), else to the primary. Replica reads may be stale.
  kPreferReplica,
  // Reads go to a healthy replica in the client's AZ (ClientOptions::az);
  // when the shard has none there, to the primary. Saves cross-AZ traffic.
  kSameAzReplica,
};

// The node chosen for one request.
struct Route {
  std::string address;
  // True when `address` is a replica: the request must set
  // RequestOptions.allow_replica_read.
  bool replica = false;
};

class RoutingTable {
 public:
  // The table for `map`. `fallback_address` serves slots that no shard of
  // the map owns (all of them when the map has no shards).
  static std::shared_ptr<const RoutingTable> FromClusterMap(
      const v1::ClusterMap& map, absl::string_view fallback_address);

  // The node for a request on `slot`. `salt` spreads reads over replicas
  // (any changing number, e.g. a request counter).
  Route Pick(uint32_t slot, bool is_read, ReadPolicy policy,
             absl::string_view local_az, uint64_t salt) const;

  // The primary address for `slot`.
  const std::string& PrimaryFor(uint32_t slot) const;

  // A copy in which `slot` is owned by the primary at `address` with
  // `config_epoch`, or nullptr when this table already knows a newer epoch
  // for the slot (the redirect is stale and must be ignored).
  std::shared_ptr<const RoutingTable> WithSlotMoved(
      uint32_t slot, absl::string_view address, uint64_t config_epoch) const;

  // The version of the map this table came from (0 for a standalone node).
  uint64_t version() const { return version_; }
  // Every distinct address the table routes to, primaries first.
  std::vector<std::string> Addresses() const;
  const std::string& fallback_address() const { return fallback_; }

 private:
  struct Replica {
    std::string address;
    std::string az;
  };
  struct Shard {
    std::string primary_address;
    std::vector<Replica> replicas;
    uint64_t config_epoch = 0;
  };
  // Marks a slot that no shard owns.
  static constexpr int32_t kNoShard = -1;

  RoutingTable() = default;
  const Shard* ShardFor(uint32_t slot) const;

  uint64_t version_ = 0;
  std::string fallback_;
  std::vector<Shard> shards_;
  std::array<int32_t, kNumSlots> slot_to_shard_;
};

}  // namespace slotcache

#endif  // SLOTCACHE_CLIENT_SDK_ROUTING_H_
