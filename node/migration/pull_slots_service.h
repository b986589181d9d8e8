// MigrationService.PullSlots (proto/migration.proto) on a source node:
// streams the requested slots to an importing target, as
// docs/RESHARDING.md steps 2-3 describe.
//
// The stream: MigrationBegin(replication id, O = the log's end once the
// backlog is on, key count), the slots' keys in MigrationChunks of about
// kChunkBytes (values over that in pieces), MigrationSnapshotEnd, then the
// log entries after O that touch the slots, in log order, as LogEntries
// whose primary_offset says how far the source looked (an empty message
// moves the target on when only other slots' entries went by, and at
// least every kIdleTick while the log is quiet). The snapshot is fuzzy
// (writes go on while it is read), but every change after O is replayed
// after it and entries are whole-key states, so the target converges to
// the source's state (the full-sync argument of docs/REPLICATION.md).
//
// Refused with FAILED_PRECONDITION unless this node is the primary owning
// every slot; ended with FAILED_PRECONDITION when the entries after the
// target's position fell out of the backlog (raise --repl_backlog_bytes),
// or when the node stops owning the slots as primary.
//
// A stream is a blocking handler on gRPC's sync thread pool (one thread
// per running migration: at most one per slot, so few). It ends when the
// target cancels, or soon after Stop().
//
// Thread-safety: called by gRPC from many threads; Stop() from any.
#ifndef SLOTCACHE_NODE_MIGRATION_PULL_SLOTS_SERVICE_H_
#define SLOTCACHE_NODE_MIGRATION_PULL_SLOTS_SERVICE_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "node/cluster/cluster_state.h"
#include "node/migration/migration_records.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"
#include "proto/migration.grpc.pb.h"

namespace slotcache::node::migration {

struct PullSlotsOptions {
  // About this many bytes per message.
  uint64_t chunk_bytes = 256 << 10;
  // Longest wait without a message while the log is quiet.
  absl::Duration idle_tick = absl::Milliseconds(100);
  // Snapshot streaming rate limit in bytes per second (0: as fast as the
  // target takes it), so a migration can be kept from competing with
  // client traffic for the source's CPU and network
  // (--migration_max_bytes_per_sec).
  uint64_t max_bytes_per_sec = 0;
};

class PullSlotsService final : public v1::MigrationService::Service {
 public:
  // Not owned; all must outlive the service.
  PullSlotsService(ReplicationLog* log, storage::Store* store,
                   ClusterState* cluster,
                   PullSlotsOptions options = PullSlotsOptions());

  grpc::Status PullSlots(
      grpc::ServerContext* context, const v1::PullSlotsRequest* request,
      grpc::ServerWriter<v1::MigrationMessage>* writer) override;

  // Makes running streams end (UNAVAILABLE) within about one idle tick
  // and refuses new ones; the server's shutdown then finds no handler
  // waiting on the log. A stream blocked on a target that stopped
  // reading ends when the server's shutdown cancels it.
  void Stop();

  // Streams running now (tests, status).
  int active_streams() const { return active_.load(); }

 private:
  // The error to end the stream with when it must stop (target gone,
  // shutdown, ownership lost), OK to go on.
  grpc::Status CheckGoOn(grpc::ServerContext* context,
                         const SlotSet& slots) const;
  // Why a write to the target failed (CheckGoOn's reason, else
  // UNAVAILABLE).
  grpc::Status WriteFailed(grpc::ServerContext* context,
                           const SlotSet& slots) const;

  // Constant after construction.
  ReplicationLog* const log_;
  storage::Store* const store_;
  ClusterState* const cluster_;
  const PullSlotsOptions options_;

  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};
};

}  // namespace slotcache::node::migration

#endif  // SLOTCACHE_NODE_MIGRATION_PULL_SLOTS_SERVICE_H_
