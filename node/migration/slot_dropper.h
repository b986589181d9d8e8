// SlotDropper: drops, in the background, the keys of slots this node's
// shard lost in a new cluster map (a migration committed: the source
// primary and its replicas, docs/RESHARDING.md step 5).
//
// ClusterState's slots-lost listener queues the slots (Drop); one thread
// removes their keys in small batches (Store::DropSlotKeys), so no stripe
// lock is held long and client requests interleave. The drop is not
// logged: every member of the old shard drops on its own when it sees the
// map. Just before each batch the dropper re-reads the map and skips a
// slot this node's shard owns again by then (moved back), so it never
// deletes keys the shard serves. Slots the shard never owned (keys an
// import is bringing in) are never queued.
//
// Thread-safety: all methods may be called from any thread.
#ifndef SLOTCACHE_NODE_MIGRATION_SLOT_DROPPER_H_
#define SLOTCACHE_NODE_MIGRATION_SLOT_DROPPER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "node/cluster/cluster_state.h"
#include "node/storage/store.h"

namespace slotcache::node::migration {

class SlotDropper {
 public:
  // Keys removed per batch (one stripe lock hold).
  static constexpr size_t kBatchKeys = 256;

  // Not owned; both must outlive the dropper. Starts its thread.
  SlotDropper(storage::Store* store, ClusterState* cluster);
  // Stops (what is still queued stays).
  ~SlotDropper();

  SlotDropper(const SlotDropper&) = delete;
  SlotDropper& operator=(const SlotDropper&) = delete;

  // Queues `slots` for dropping (a ClusterState slots-lost listener).
  void Drop(std::vector<uint32_t> slots);
  // Runs `sweep` once on the dropper's thread, soon (repeated calls before
  // it ran coalesce). The node uses it when it becomes a primary, to
  // delete keys of slots its shard does not own (Importer::DropStrayKeys).
  void Sweep(std::function<uint64_t()> sweep);
  // Ends the thread after its current batch. Idempotent.
  void Stop();

  // Keys dropped so far, and whether nothing is queued or running.
  uint64_t keys_dropped() const { return dropped_.load(); }
  bool idle() const;

 private:
  void Loop();

  // Constant after construction.
  storage::Store* const store_;
  ClusterState* const cluster_;

  std::atomic<uint64_t> dropped_{0};
  // std:: types (not absl::Mutex): waits TSAN can see.
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::set<uint32_t> queued_;        // Guarded by mu_.
  std::function<uint64_t()> sweep_;  // Guarded by mu_; null when none.
  bool busy_ = false;                // Guarded by mu_.
  bool stopping_ = false;            // Guarded by mu_.
  std::thread thread_;
};

}  // namespace slotcache::node::migration

#endif  // SLOTCACHE_NODE_MIGRATION_SLOT_DROPPER_H_
