// ReplicaAgent: a replica's link to its primary. On its own thread it opens
// a Sync stream to the primary it is told to follow, asking to continue
// from its (replication_id, offset); applies the full sync or the tail in
// order to the store (in replica mode), records the applied entries in its
// own ReplicationLog (same id and offsets, so it can serve partial resyncs
// after a promotion), acks its applied offset after every message, and
// reconnects with backoff. Follow() with another address switches primary
// (the next sync asks the new one to continue from the same history).
//
// Thread-safety: all methods may be called from any thread.
#ifndef SLOTCACHE_NODE_REPLICATION_REPLICA_AGENT_H_
#define SLOTCACHE_NODE_REPLICATION_REPLICA_AGENT_H_

#include <cstdint>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/stop_signal.h"
#include "grpcpp/client_context.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"

namespace slotcache::node {

struct ReplicaAgentOptions {
  // Sent to the primary (shows in its NodeStatus.replicas).
  std::string node_id;
  // Reconnect backoff, doubling up to the max.
  absl::Duration initial_backoff = absl::Milliseconds(20);
  absl::Duration max_backoff = absl::Seconds(1);
};

struct ReplicaAgentStatus {
  // Empty when not following anyone.
  std::string primary_address;
  bool link_up = false;
  // The last full sync completed (the store holds the primary's data).
  bool synced = false;
  uint64_t full_syncs = 0;
  uint64_t partial_syncs = 0;
  // Entries the primary announced that are not applied yet, and the time
  // since everything announced was applied (0 when caught up; since the
  // link went down or the follow started, when it is down).
  uint64_t lag_entries = 0;
  double lag_seconds = 0;
};

class ReplicaAgent {
 public:
  // Not owned; both must outlive the agent.
  ReplicaAgent(ReplicaAgentOptions options, ReplicationLog* log,
               storage::Store* store);
  ~ReplicaAgent();

  ReplicaAgent(const ReplicaAgent&) = delete;
  ReplicaAgent& operator=(const ReplicaAgent&) = delete;

  // Follows the primary at `address` (host:port): puts the store in replica
  // mode and (re)connects. An empty address stops following: the store
  // leaves replica mode and the log starts a new history (promotion), if
  // the node followed someone before.
  void Follow(const std::string& address);
  // Ends the stream and joins the thread. Idempotent.
  void Stop();

  ReplicaAgentStatus status() const;

 private:
  void Run();
  // One connection to `address`, until it breaks, Stop() or Follow()
  // elsewhere. Returns why it ended.
  absl::Status RunSession(const std::string& address);
  absl::Status Apply(const v1::PrimaryMessage& message, bool* ack);
  // The primary announced `primary_offset`; updates the lag bookkeeping.
  void NoteApplied(uint64_t primary_offset);

  // Constant after construction.
  const ReplicaAgentOptions options_;
  ReplicationLog* const log_;
  storage::Store* const store_;

  mutable absl::Mutex mu_;
  std::string address_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool link_up_ ABSL_GUARDED_BY(mu_) = false;
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t full_syncs_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t partial_syncs_ ABSL_GUARDED_BY(mu_) = 0;
  // The primary's last announced offset, and when this replica last had
  // applied up to it.
  uint64_t primary_offset_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time caught_up_at_ ABSL_GUARDED_BY(mu_) = absl::Now();
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;
  // The reconnect backoff's sleep; woken by Follow() and Stop().
  StopSignal wake_;
  std::thread thread_;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_REPLICATION_REPLICA_AGENT_H_
