// CoordinatorCollector: the coordinator's /metrics families, read at scrape
// time from the Coordinator's own views (Describe, ListOperations,
// ListEvents): per-shard health, primary and epoch, nodes by health,
// operations by kind and state (failovers and migrations among them), events
// by kind, the map version. docs/OPERATIONS.md lists them.
//
// Thread-safety: Collect may run on several metrics threads at once; the
// event cursor is under mu_.
#ifndef SLOTCACHE_COORDINATOR_COORDINATOR_METRICS_H_
#define SLOTCACHE_COORDINATOR_COORDINATOR_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/coordinator.h"
#include "prometheus/collectable.h"

namespace slotcache::coordinator {

class CoordinatorCollector final : public prometheus::Collectable {
 public:
  // `coordinator` is not owned and must outlive the collector.
  explicit CoordinatorCollector(const Coordinator* coordinator);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  void CollectMap(std::vector<prometheus::MetricFamily>* out) const;
  void CollectOperations(std::vector<prometheus::MetricFamily>* out) const;
  void CollectEvents(std::vector<prometheus::MetricFamily>* out) const;

  // Constant after construction.
  const Coordinator* const coordinator_;

  // Events counted so far, by kind, and the last one read: each scrape
  // reads only the events after it.
  mutable absl::Mutex mu_;
  mutable uint64_t last_event_seq_ ABSL_GUARDED_BY(mu_) = 0;
  mutable absl::btree_map<std::string, uint64_t> events_by_kind_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_COORDINATOR_METRICS_H_
