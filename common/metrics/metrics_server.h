// MetricsServer: the process's Prometheus endpoint, GET /metrics in the
// text exposition format, served by prometheus-cpp's Exposer (civetweb) on
// its own threads. Components hand it Collectables (prometheus::Registry,
// or a collector of their own that reads their state at scrape time, so
// the data path pays nothing for metrics it does not record itself).
//
// Thread-safety: Start, Add and the destructor from one thread; scrapes run
// on the exposer's threads and call the collectables' Collect from there,
// so those must be thread-safe.
#ifndef SLOTCACHE_COMMON_METRICS_METRICS_SERVER_H_
#define SLOTCACHE_COMMON_METRICS_METRICS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"

namespace slotcache {

class MetricsServer {
 public:
  // Serves /metrics on `listen` (HOST:PORT; port 0 picks a free port) and,
  // when `address_file` is not empty, writes the bound HOST:PORT there
  // (atomically). INVALID_ARGUMENT for a malformed address, UNAVAILABLE
  // when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& listen, const std::string& address_file);

  // Stops serving (waits for running scrapes) before the collectables go.
  ~MetricsServer();

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Bound HOST:PORT.
  const std::string& address() const { return address_; }

  // Adds `collectable` to every scrape from now on; the server keeps it
  // alive until it is destroyed.
  void Add(std::shared_ptr<prometheus::Collectable> collectable);

 private:
  MetricsServer(std::unique_ptr<prometheus::Exposer> exposer,
                std::string address);

  // Constant after construction.
  const std::string address_;
  // Declared before exposer_: the exposer (and its scrapes) stops first.
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_METRICS_METRICS_SERVER_H_
