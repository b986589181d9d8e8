// CoordinatorAgent: a cache node's link to the coordinator. It registers
// the node (by its persisted id, see LoadOrCreateNodeId), keeps one
// heartbeat stream open, hands every newer cluster map to the node, renews
// the primary's write lease from the heartbeat replies, and reconnects with
// exponential backoff when the coordinator goes away.
//
// docs/ARCHITECTURE.md §2.1: the data plane never waits on the control plane.
// The agent runs on its own thread; while the coordinator is down the node
// keeps serving with the last map it applied (only the lease, which the agent
// can no longer renew, runs out).
//
// The agent knows the node only through the callbacks in
// CoordinatorAgentOptions (BindToClusterState wires them to the node's
// ClusterState), so it is tested without a data plane.
//
// Maps arrive in heartbeat replies and, pushed by the coordinator as soon
// as it publishes them, between replies (HeartbeatResponse.pushed; a push
// grants no lease, and the agent heartbeats at once after one so that a
// promotion's lease comes without waiting for the next interval).
//
// Thread-safety: Start() and Stop() from one thread; the accessors from any
// thread. The callbacks run on the agent's threads (apply_map on the
// stream's reader too), one at a time.
#ifndef SLOTCACHE_NODE_CLUSTER_COORDINATOR_AGENT_H_
#define SLOTCACHE_NODE_CLUSTER_COORDINATOR_AGENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/stop_signal.h"
#include "grpcpp/client_context.h"
#include "proto/common.pb.h"
#include "proto/coordinator.pb.h"

namespace slotcache::node {

// The node id kept in `data_dir`/node_id. When the file does not exist yet
// (first start), it is created (with its folder) holding `preferred`, or a
// fresh NewNodeId() when `preferred` is empty. A stored id wins over
// `preferred`: identity must not change across restarts.
absl::StatusOr<std::string> LoadOrCreateNodeId(const std::string& data_dir,
                                               absl::string_view preferred);

struct CoordinatorAgentOptions {
  // host:port of the coordinator.
  std::string coordinator_address;
  // This node's persisted id, its host:port for clients and peers, its AZ.
  std::string node_id;
  std::string address;
  std::string az;
  // host:port of the node's Redis protocol port (empty: none), registered
  // so the cluster map can point Redis clients at it.
  std::string resp_address;
  // Reconnect backoff: starts at `initial_backoff`, doubles up to
  // `max_backoff` (kept below the coordinator's startup grace so nodes are
  // back before failure detection resumes after a coordinator restart).
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(1);
  // Deadline of RegisterNode, and of each heartbeat reply: a coordinator
  // that stops answering (hung, or a silent network partition) is dropped
  // after this long and reconnected to, instead of waiting on TCP.
  absl::Duration rpc_timeout = absl::Seconds(2);
  // Not owned. Lease expiries are computed on it.
  Clock* clock = Clock::Real();

  // Installs a map; returns the version the node holds afterwards (maps
  // not newer than the held one are ignored by the node). Required.
  std::function<absl::StatusOr<uint64_t>(const v1::ClusterMap&)> apply_map;
  // Lets a primary accept writes until the given time. Optional.
  std::function<void(absl::Time)> extend_lease;
  // Adds replication offset, key count, memory to a heartbeat. Optional.
  std::function<void(v1::HeartbeatRequest*)> fill_heartbeat;
};

class ClusterState;

// Points `options` at `cluster` (not owned; must outlive the agent): maps
// go to ClusterState::Apply, leases to ClusterState::ExtendLease, and the
// node id, AZ and address come from its identity.
void BindToClusterState(ClusterState* cluster,
                        CoordinatorAgentOptions* options);

class CoordinatorAgent {
 public:
  explicit CoordinatorAgent(CoordinatorAgentOptions options);
  CoordinatorAgent(const CoordinatorAgent&) = delete;
  CoordinatorAgent& operator=(const CoordinatorAgent&) = delete;
  // Stops the agent.
  ~CoordinatorAgent();

  // Starts the agent's thread (registers in the background).
  void Start();
  // Ends the heartbeat stream and joins the thread. Idempotent.
  void Stop();

  // True while a heartbeat stream is established.
  bool connected() const;
  // Version of the last map the node accepted (0 before any).
  uint64_t map_version() const;
  // How many times the node registered (1 + reconnects).
  int registrations() const;

 private:
  void Run();
  // One connection: register, then heartbeat until the stream breaks or
  // Stop(). Returns why it ended.
  absl::Status RunSession();
  void ApplyMap(const v1::ClusterMap& map);
  // What the heartbeat stream's reader hands to the heartbeat loop.
  struct Inbox {
    absl::Mutex mu;
    // The reply to the heartbeat in flight.
    std::optional<v1::HeartbeatResponse> reply ABSL_GUARDED_BY(mu);
    // A map was pushed: heartbeat now rather than after the interval.
    bool beat_now ABSL_GUARDED_BY(mu) = false;
    // The stream ended (broken, cancelled or closed).
    bool ended ABSL_GUARDED_BY(mu) = false;
  };

  // Sleeps `d` or until Stop(); false when stopping.
  bool SleepUnlessStopped(absl::Duration d);
  // Sleeps `d`, or less when a map was pushed; false when the stream ended
  // or the agent is stopping.
  bool SleepUntilNextBeat(absl::Duration d, Inbox* inbox);
  // Cancels the heartbeat stream when a reply is overdue (see rpc_timeout).
  void WatchdogLoop();

  // Constant after construction.
  const CoordinatorAgentOptions options_;

  // Serializes options_.apply_map.
  absl::Mutex apply_mu_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t map_version_ ABSL_GUARDED_BY(mu_) = 0;
  int registrations_ ABSL_GUARDED_BY(mu_) = 0;
  // The call in flight, so Stop() and the watchdog can cancel it.
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;
  // When the heartbeat now awaiting its reply was sent (InfiniteFuture
  // when none is awaited). Real time, read by the watchdog.
  absl::Time awaiting_since_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_) =
      absl::Milliseconds(200);

  // The sleeps of both threads (reconnect backoff, heartbeat interval,
  // watchdog tick); Stop() ends them at once. stopping_ stays the flag the
  // RPC paths check under mu_.
  StopSignal stop_;
  std::thread thread_;
  std::thread watchdog_;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_CLUSTER_COORDINATOR_AGENT_H_
