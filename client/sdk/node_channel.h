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
//
// Thread-safety: Submit may be called from any thread, including from a
// completion callback. Completion callbacks run on gRPC's threads and must
// not block. The destructor waits for batches in flight.
#ifndef SLOTCACHE_CLIENT_SDK_NODE_CHANNEL_H_
#define SLOTCACHE_CLIENT_SDK_NODE_CHANNEL_H_

#include <atomic>
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

class NodeChannel {
 public:
  // Called once per command: OK and the node's reply, or the transport
  // error of its batch (reply then nullptr).
  using Done = std::function<void(const absl::Status&, v1::Reply*)>;

  // `channels` (at least one) all lead to `address`.
  NodeChannel(std::string address,
              const std::vector<std::shared_ptr<grpc::Channel>>& channels,
              const BatchingOptions& options, StatsCounters* stats);
  NodeChannel(const NodeChannel&) = delete;
  NodeChannel& operator=(const NodeChannel&) = delete;
  ~NodeChannel();

  // Queues `command` for this node. `replica_read` asks the node to allow
  // replica reads for it.
  void Submit(v1::Command command, absl::Time deadline, bool replica_read,
              Done done);

  const std::string& address() const { return address_; }
  v1::CacheService::Stub* stub() { return stubs_[0].get(); }

 private:
  struct Item {
    v1::Command command;
    absl::Time deadline;
    bool replica_read;
    Done done;
  };
  struct Call;

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
