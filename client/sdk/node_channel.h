// One node as the SDK sees it: a gRPC channel plus the automatic batching
// queue in front of it.
//
// Commands submitted from any thread wait in a per-node queue. A batch RPC
// (CacheService.Batch) is sent whenever fewer than
// `max_outstanding_batches` are in flight; it takes everything waiting, up
// to `max_batch_size` commands. When a batch completes, the next one takes
// whatever queued up meanwhile. So a lone caller pays one round trip, and
// many concurrent callers share round trips without any timer or tuning:
// the busier the node, the bigger the batches.
//
// The node executes a batch's commands in order, each with its own reply,
// so coalescing is invisible to callers (batches are not transactions).
// The batch's gRPC deadline is the latest deadline among its commands.
// Replica acks (RequestOptions.min_replica_acks) apply to a whole batch, so
// a batch only holds commands with the same ack requirement (AckRequirement):
// a plain write never waits for replicas because a WAIT-like one shared its
// batch, and a WAIT-like write never gets a shorter wait than it asked for.
//
// Thread-safety: Submit may be called from any thread, including from a
// completion callback. Completion callbacks run on gRPC's threads and must
// not block. The destructor waits for batches in flight.
#ifndef SLOTCACHE_CLIENT_SDK_NODE_CHANNEL_H_
#define SLOTCACHE_CLIENT_SDK_NODE_CHANNEL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/sdk/stats.h"
#include "grpcpp/channel.h"
#include "proto/cache.grpc.pb.h"

namespace slotcache {

struct BatchingOptions {
  // Most commands per Batch RPC (keep below the node's max batch size).
  int max_batch_size = 128;
  // Batch RPCs in flight per node; more waiting commands queue up and
  // travel in the next batch.
  int max_outstanding_batches = 4;
  // HTTP/2 connections to each node; batches take turns. gRPC works on one
  // connection with one thread at a time, so a second connection lets a
  // node (and this client) use two cores (docs/BENCHMARKS.md).
  int connections_per_node = 2;
};

// Pins gRPC's process-wide callback completion queue for the life of the
// process (works around a gRPC 1.51 shutdown race; see node_channel.cc).
// NodeChannel calls it; other code using gRPC's callback API for clients
// (slotcache-bench) should call it before creating channels. Idempotent.
void KeepCallbackQueueAlive();

// What a command asks of the replicas before its reply (none by default).
struct AckRequirement {
  uint32_t min_replica_acks = 0;
  // 0: the node's default (1 s).
  uint32_t timeout_ms = 0;

  friend bool operator==(const AckRequirement& a, const AckRequirement& b) {
    return a.min_replica_acks == b.min_replica_acks &&
           a.timeout_ms == b.timeout_ms;
  }
};

class NodeChannel {
 public:
  // Called once per command: OK, the node's reply and how many replicas had
  // applied its batch (BatchResponse.replica_acks; 0 unless acks were asked
  // for), or the transport error of its batch (reply then nullptr).
  using Done =
      std::function<void(const absl::Status&, v1::Reply*, uint32_t acks)>;

  // `channels` (at least one) all lead to `address`.
  NodeChannel(std::string address,
              const std::vector<std::shared_ptr<grpc::Channel>>& channels,
              const BatchingOptions& options, StatsCounters* stats);
  NodeChannel(const NodeChannel&) = delete;
  NodeChannel& operator=(const NodeChannel&) = delete;
  ~NodeChannel();

  // Queues `command` for this node. `replica_read` asks the node to allow
  // replica reads for it; `acks` is what it waits for from replicas.
  void Submit(v1::Command command, absl::Time deadline, bool replica_read,
              AckRequirement acks, Done done);

  const std::string& address() const { return address_; }
  v1::CacheService::Stub* stub() { return stubs_[0].get(); }

 private:
  struct Item {
    v1::Command command;
    absl::Time deadline;
    bool replica_read;
    AckRequirement acks;
    Done done;
  };
  struct Call;

  // The commands at the head of the queue that share the first one's ack
  // requirement, at most max_batch_size.
  std::vector<Item> TakeBatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Send(std::vector<Item> batch);
  void OnBatchDone(Call* call, const grpc::Status& status);

  // Constant after construction.
  const std::string address_;
  const std::vector<std::unique_ptr<v1::CacheService::Stub>> stubs_;
  const BatchingOptions options_;
  StatsCounters* const stats_;

  // Which stub the next batch uses.
  std::atomic<size_t> next_stub_{0};

  // State below is protected by mu_.
  absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace slotcache

#endif  // SLOTCACHE_CLIENT_SDK_NODE_CHANNEL_H_
