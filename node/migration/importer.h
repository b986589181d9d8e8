// Importer: the target side of slot migrations (docs/RESHARDING.md steps
// 1-4 and 6, node parts). Each running import pulls its slots from the
// source's primary (PullSlots, pull_slots_service.h) on its own thread and
// applies what arrives to the store as LOCAL writes: they go into this
// node's replication log like client writes, so this shard's replicas get
// the imported keys by normal replication (no full sync). Snapshot pieces
// are assembled in memory and a key is stored once, when complete.
//
// An import may touch only slots this node's shard does not own (it is
// not serving them: clients get MOVED to the source until the commit),
// and at most one running import may touch a slot. While this node's
// replicas lag far behind what the import wrote (options.max_replica_lag_
// bytes), applying pauses, so an import never overruns the backlog and
// forces a replica into a full sync.
//
// A FAILED import (stream broke, the source refused, an apply failed)
// keeps what it imported until AbortImport, which deletes every key of
// the slots as logged deletes.
//
// Thread-safety: all methods may be called from any thread.
#ifndef SLOTCACHE_NODE_MIGRATION_IMPORTER_H_
#define SLOTCACHE_NODE_MIGRATION_IMPORTER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node/cluster/cluster_state.h"
#include "node/migration/migration_records.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"
#include "proto/admin.pb.h"

namespace slotcache::node::migration {

struct ImporterOptions {
  // The acked offsets of the replicas connected to this node (empty when
  // none). Null: no replicas.
  std::function<std::vector<uint64_t>()> replica_acked_offsets;
  // Applying pauses while the slowest replica has not acked this many
  // bytes of what the import wrote (about a quarter of the backlog).
  uint64_t max_replica_lag_bytes = 16ull << 20;
  // How often a paused import looks again.
  absl::Duration throttle_poll = absl::Milliseconds(5);
  // The receive limit of the stream from the source.
  int max_message_bytes = 1 << 30;
};

class Import;

class Importer {
 public:
  // Not owned; all must outlive the importer.
  Importer(storage::Store* store, ReplicationLog* log, ClusterState* cluster,
           ImporterOptions options);
  // Stops every running import.
  ~Importer();

  Importer(const Importer&) = delete;
  Importer& operator=(const Importer&) = delete;

  // Starts pulling `slots` from `source_address`. FAILED_PRECONDITION when
  // this node is not a primary, its shard owns one of the slots, or a
  // running import (this id or another) holds one of them;
  // INVALID_ARGUMENT for bad slots or an empty id/address. A finished or
  // failed import of the same id is replaced.
  absl::Status StartImport(const std::string& migration_id,
                           const std::string& source_address,
                           const SlotSet& slots);
  // NOT_FOUND for an unknown id.
  absl::StatusOr<v1::ImportStatus> GetImportStatus(
      const std::string& migration_id) const;
  // Stops applying (cancels the stream, joins the thread) and returns the
  // final status: FINISHED, or FAILED when the import failed or had not
  // applied its snapshot yet (then it must not be committed). NOT_FOUND
  // for an unknown id.
  absl::StatusOr<v1::ImportStatus> FinishImport(
      const std::string& migration_id);
  // Stops the import `migration_id` if it runs and forgets it, then
  // deletes every key of `slots` as logged deletes; returns how many.
  // FAILED_PRECONDITION when this node's shard owns one of the slots.
  // Idempotent (an unknown id is fine).
  absl::StatusOr<uint64_t> AbortImport(const std::string& migration_id,
                                       const SlotSet& slots);

  // On a primary: deletes, as logged deletes, the keys of every slot its
  // shard does not own and no import of this node holds (running,
  // finished or failed: the coordinator decides about those). Such keys
  // are left behind when a rollback's AbortImport ran on a primary that
  // was then failed over (its deletes were lost with its history), or
  // when a replica of an importing target is promoted. Nothing serves
  // them; this frees their memory. Runs when the node becomes a primary
  // (SlotDropper::Sweep). Returns how many keys it deleted.
  uint64_t DropStrayKeys();

  // Stops every running import (node shutdown). They end FAILED.
  void Stop();

 private:
  // Constant after construction.
  storage::Store* const store_;
  ReplicationLog* const log_;
  ClusterState* const cluster_;
  const ImporterOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Import>> imports_ ABSL_GUARDED_BY(mu_);
};

// Deletes every key of `slots` from `store` as ordinary (logged) deletes,
// in batches. Returns the number deleted.
uint64_t DeleteSlotKeys(storage::Store* store, const SlotSet& slots);

}  // namespace slotcache::node::migration

#endif  // SLOTCACHE_NODE_MIGRATION_IMPORTER_H_
