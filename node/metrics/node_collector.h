// NodeCollector: the node's /metrics families, read at scrape time from
// the components that already keep them (Store stats and per-slot key
// counts, the replication status, the cluster map, the RESP client
// registry) plus the data path's CommandStats. Names follow
// redis_exporter where it has one (slotcache_ for redis_); docs/OPERATIONS.md
// lists them all.
//
// Thread-safety: Collect runs on the metrics server's threads; everything
// it reads is thread-safe.
#ifndef SLOTCACHE_NODE_METRICS_NODE_COLLECTOR_H_
#define SLOTCACHE_NODE_METRICS_NODE_COLLECTOR_H_

#include <vector>

#include "node/cluster/cluster_state.h"
#include "node/metrics/command_stats.h"
#include "node/replication/replication_manager.h"
#include "node/resp/client_registry.h"
#include "node/storage/store.h"
#include "prometheus/collectable.h"

namespace slotcache::node::metrics {

struct NodeCollectorSources {
  // Required; not owned, must outlive the collector.
  const storage::Store* store = nullptr;
  const ClusterState* cluster = nullptr;
  // Optional (nullptr: their families are left out).
  const ReplicationManager* replication = nullptr;
  const CommandStats* commands = nullptr;
  const resp::ClientRegistry* resp_clients = nullptr;
};

class NodeCollector final : public prometheus::Collectable {
 public:
  // How many slots slotcache_slot_keys lists (those with the most keys).
  static constexpr int kTopSlots = 16;

  explicit NodeCollector(NodeCollectorSources sources);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  void CollectKeyspace(std::vector<prometheus::MetricFamily>* out) const;
  void CollectCluster(std::vector<prometheus::MetricFamily>* out) const;
  void CollectReplication(std::vector<prometheus::MetricFamily>* out) const;
  void CollectClients(std::vector<prometheus::MetricFamily>* out) const;

  // Constant after construction.
  const NodeCollectorSources sources_;
};

}  // namespace slotcache::node::metrics

#endif  // SLOTCACHE_NODE_METRICS_NODE_COLLECTOR_H_
