// The coordinator's durable state, behind an interface so that an HA
// backend (etcd, Raft) can replace the embedded RocksDB store later.
//
// The store holds records, not logic: the nodes, the shards (slot ranges,
// members, config_epoch), the counters in StoredMeta (map version, highest
// epoch), operations and the event log. Coordinator decides what to write;
// the store makes each Write atomic and durable before it returns, which is
// what lets the coordinator persist a change before publishing it.
//
// Thread-safety: implementations are safe to call from any thread.
#ifndef SLOTCACHE_COORDINATOR_STATE_STORE_H_
#define SLOTCACHE_COORDINATOR_STATE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/state.pb.h"
#include "proto/common.pb.h"
#include "proto/coordinator.pb.h"

namespace slotcache::coordinator {

// Everything the store holds except the event log (read that with
// ReadEvents: it can be long).
struct StoredState {
  StoredMeta meta;
  std::vector<v1::NodeInfo> nodes;
  std::vector<v1::ShardInfo> shards;
  // Oldest first.
  std::vector<v1::Operation> operations;
};

// One atomic change: every record here is written (upserted by its id), or
// none is.
struct StateUpdate {
  std::optional<StoredMeta> meta;
  std::vector<v1::NodeInfo> nodes;
  std::vector<v1::ShardInfo> shards;
  // Shards deleted (RemoveShard), by id.
  std::vector<std::string> removed_shard_ids;
  std::vector<v1::Operation> operations;
  std::vector<v1::Event> events;

  bool empty() const {
    return !meta.has_value() && nodes.empty() && shards.empty() &&
           removed_shard_ids.empty() && operations.empty() && events.empty();
  }
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Reads the whole state (empty on a fresh store).
  virtual absl::StatusOr<StoredState> Load() = 0;

  // Applies `update` atomically; returns only once it is durable.
  virtual absl::Status Write(const StateUpdate& update) = 0;

  // Events with seq > `after_seq`, oldest first, at most `limit`.
  virtual absl::StatusOr<std::vector<v1::Event>> ReadEvents(uint64_t after_seq,
                                                            size_t limit) = 0;
};

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_STATE_STORE_H_
