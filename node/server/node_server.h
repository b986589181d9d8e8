// NodeServer: one cache node assembled from its parts (store, command
// executor, cluster state, the gRPC services), and its life cycle.
//
// Layers, top down: CacheServiceImpl (transport) -> Dispatcher (limits,
// slots, routing through ClusterState) -> CommandExecutor (command table,
// argument parsing) -> storage::Store (keyspace). node/main.cc only turns
// flags into NodeOptions and calls ServeUntilSignal.
//
// Thread-safety: construct and ServeUntilSignal from one thread; the
// accessors return components that are themselves thread-safe.
#ifndef SLOTCACHE_NODE_SERVER_NODE_SERVER_H_
#define SLOTCACHE_NODE_SERVER_NODE_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/server_main.h"
#include "node/cluster/cluster_state.h"
#include "node/commands/executor.h"
#include "node/replication/replication_log.h"
#include "node/replication/replication_manager.h"
#include "node/server/admin_service.h"
#include "node/server/cache_service.h"
#include "node/server/dispatcher.h"
#include "node/storage/store.h"

namespace slotcache::node {

struct NodeOptions {
  // node_id empty: a random one is made up (standalone nodes; a
  // coordinator-managed node gets its persisted id from the coordinator
  // agent). The address is filled in once the server is bound.
  NodeIdentity identity;
  // Managed by a coordinator (see ClusterState::Options::coordinated).
  bool coordinated = false;
  storage::StoreOptions store;
  RequestLimits limits;
  // name, listen address, address file, shutdown grace. The transport's
  // message limit is derived from limits.max_message_bytes.
  ServeOptions serve;
  // Replication (node/replication): the backlog kept for partial resyncs,
  // and host:port of a primary to follow without a coordinator (empty: the
  // role comes from the cluster map).
  uint64_t repl_backlog_bytes = 64ull << 20;
  std::string replicaof;
};

class NodeServer {
 public:
  explicit NodeServer(NodeOptions options);
  ~NodeServer();

  NodeServer(const NodeServer&) = delete;
  NodeServer& operator=(const NodeServer&) = delete;

  // Binds, starts active expiry, runs `on_started` (e.g. start the
  // coordinator agent with the bound address), writes the address file,
  // serves until SIGTERM/SIGINT; then runs `on_shutdown` (stop the agent),
  // stops active expiry, then the server (running calls get the shutdown
  // grace to finish). Both hooks are optional.
  absl::Status ServeUntilSignal(
      const std::function<absl::Status(const std::string& address)>&
          on_started = nullptr,
      const std::function<void()>& on_shutdown = nullptr);

  ClusterState* cluster() { return &cluster_; }
  storage::Store* store() { return &store_; }
  ReplicationManager* replication() { return &replication_; }

 private:
  // Constant after construction.
  const NodeOptions options_;

  // Declared in dependency order (destroyed in reverse). The replication
  // log comes before the store: it is the store's ChangeListener.
  ReplicationLog repl_log_;
  storage::Store store_;
  CommandExecutor executor_;
  ClusterState cluster_;
  ReplicationManager replication_;
  Dispatcher dispatcher_;
  CacheServiceImpl cache_service_;
  NodeAdminServiceImpl admin_service_;
};

// The gRPC transport's receive limit for a node whose requests may be up to
// `max_message_bytes`: with headroom, so that a request somewhat over the
// limit still reaches the node and gets the typed INVALID_ARGUMENT naming
// it; far larger ones are cut off by gRPC itself (RESOURCE_EXHAUSTED)
// before they use memory.
int TransportMessageLimit(uint64_t max_message_bytes);

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_SERVER_NODE_SERVER_H_
