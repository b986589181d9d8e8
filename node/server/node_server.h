// NodeServer: one cache node assembled from its parts (store, command
// executor, cluster state, the gRPC services), and its life cycle.
//
// Layers, top down: CacheServiceImpl (transport) -> Dispatcher (limits,
// slots, routing through ClusterState) -> CommandExecutor (command table,
// argument parsing) -> storage::Store (keyspace). node/main.cc only turns
// flags into NodeOptions, calls PrepareOptions and ServeUntilSignal.
//
// Thread-safety: construct and ServeUntilSignal from one thread; the
// accessors return components that are themselves thread-safe.
#ifndef SLOTCACHE_NODE_SERVER_NODE_SERVER_H_
#define SLOTCACHE_NODE_SERVER_NODE_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/server_main.h"
#include "node/cluster/cluster_state.h"
#include "node/cluster/coordinator_agent.h"
#include "node/commands/executor.h"
#include "node/migration/importer.h"
#include "node/migration/pull_slots_service.h"
#include "node/migration/slot_dropper.h"
#include "node/persistence/snapshot_service.h"
#include "node/replication/replication_log.h"
#include "node/replication/replication_manager.h"
#include "node/resp/resp_server.h"
#include "node/server/admin_service.h"
#include "node/server/cache_service.h"
#include "node/server/dispatcher.h"
#include "node/storage/store.h"
#include "proto/coordinator.pb.h"

namespace slotcache::node {

struct NodeOptions {
  // node_id empty: a random one is made up (standalone nodes; a
  // coordinator-managed node gets its persisted id from the coordinator
  // agent). The address is filled in once the server is bound.
  NodeIdentity identity;
  // host:port of the coordinator that manages this node (empty: standalone,
  // primary of every slot). A managed node keeps its node id in `data_dir`
  // (see LoadOrCreateNodeId), registers with the coordinator once bound,
  // heartbeats and applies its maps (node/cluster/coordinator_agent.h).
  std::string coordinator_address;
  std::string data_dir;
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
  // Slot migration (node/migration): the source's snapshot streaming rate
  // limit, bytes per second (0: unlimited).
  uint64_t migration_max_bytes_per_sec = 0;
  // The Redis protocol port (node/resp): off while resp.listen_address is
  // empty. Its bound address is written to resp_address_file (before the
  // gRPC address file, so a reader of that one finds both) and registered
  // with the coordinator.
  resp::RespServerOptions resp;
  std::string resp_address_file;
};

class NodeServer {
 public:
  explicit NodeServer(NodeOptions options);
  ~NodeServer();

  NodeServer(const NodeServer&) = delete;
  NodeServer& operator=(const NodeServer&) = delete;

  // The node's persisted identity for `options` (a managed node's id comes
  // from its data_dir, created on first start) and checks that a managed
  // node has what it needs. INVALID_ARGUMENT / an I/O error saying what to
  // fix. Call before constructing the NodeServer.
  static absl::Status PrepareOptions(NodeOptions* options);

  // Binds, starts active expiry, replication and the RESP port, starts the
  // coordinator agent (managed nodes), writes the address files, serves
  // until SIGTERM/SIGINT; then stops the agent, the RESP port, migration
  // streams and imports, replication, active expiry and the server
  // (running calls get the shutdown grace to finish).
  absl::Status ServeUntilSignal();

  ClusterState* cluster() { return &cluster_; }
  storage::Store* store() { return &store_; }
  ReplicationManager* replication() { return &replication_; }

 private:
  bool coordinated() const { return !options_.coordinator_address.empty(); }
  // Starts the RESP port when configured and writes its address file.
  absl::Status StartResp();
  // The acked offsets of the replicas connected to this node.
  std::vector<uint64_t> ReplicaAckedOffsets() const;
  // Replica snapshots and the restore throttle, from replication_.
  persistence::SnapshotServiceOptions SnapshotServiceOptionsFor();
  // Heartbeat fields beyond what the agent fills itself.
  void FillHeartbeat(v1::HeartbeatRequest* beat);

  // Constant after construction.
  const NodeOptions options_;

  // Declared in dependency order (destroyed in reverse). The replication
  // log comes before the store: it is the store's ChangeListener.
  ReplicationLog repl_log_;
  storage::Store store_;
  CommandExecutor executor_;
  ClusterState cluster_;
  ReplicationManager replication_;
  // Slot migration (node/migration): the source's stream, the target's
  // imports, and the drop of slots a new map took away.
  migration::PullSlotsService pull_slots_;
  migration::Importer importer_;
  migration::SlotDropper dropper_;
  Dispatcher dispatcher_;
  CacheServiceImpl cache_service_;
  NodeAdminServiceImpl admin_service_;
  // Snapshots of the shard into a directory (node/persistence).
  persistence::SnapshotServiceImpl snapshot_service_{
      &store_, &repl_log_, &cluster_, persistence::SnapshotWriterOptions(),
      SnapshotServiceOptionsFor()};
  // Started once the gRPC server is bound, stopped before it stops.
  std::unique_ptr<resp::RespServer> resp_;
  // Managed nodes only; created once the server is bound (it needs the
  // address) and stopped before the services go.
  std::unique_ptr<CoordinatorAgent> agent_;
};

// The gRPC transport's receive limit for a node whose requests may be up to
// `max_message_bytes`: with headroom, so that a request somewhat over the
// limit still reaches the node and gets the typed INVALID_ARGUMENT naming
// it; far larger ones are cut off by gRPC itself (RESOURCE_EXHAUSTED)
// before they use memory.
int TransportMessageLimit(uint64_t max_message_bytes);

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_SERVER_NODE_SERVER_H_
