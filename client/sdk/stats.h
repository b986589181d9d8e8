// Counters the SDK keeps about its own traffic, for tests, dashboards and
// for checking that automatic batching works.
//
// Thread-safety: StatsCounters is updated with relaxed atomics from any
// thread; ClientStats is a plain snapshot.
#ifndef SLOTCACHE_CLIENT_SDK_STATS_H_
#define SLOTCACHE_CLIENT_SDK_STATS_H_

#include <atomic>
#include <cstdint>

namespace slotcache {

struct ClientStats {
  // Commands handed to nodes (retries and redirects count again).
  uint64_t commands_sent = 0;
  // Batch RPCs those commands travelled in; commands_sent / rpcs_sent is
  // the average batch size that automatic batching achieved.
  uint64_t rpcs_sent = 0;
  uint64_t moved_redirects = 0;
  uint64_t ask_redirects = 0;
  // Requests sent again after a transient error (TRYAGAIN, CLUSTERDOWN,
  // UNAVAILABLE).
  uint64_t retries = 0;
  // Cluster maps fetched and installed after startup.
  uint64_t map_refreshes = 0;
  // Newer cluster maps pushed by a watching map source and installed.
  uint64_t watched_maps = 0;
};

struct StatsCounters {
  std::atomic<uint64_t> commands_sent{0};
  std::atomic<uint64_t> rpcs_sent{0};
  std::atomic<uint64_t> moved_redirects{0};
  std::atomic<uint64_t> ask_redirects{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> map_refreshes{0};
  std::atomic<uint64_t> watched_maps{0};

  static void Add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
  ClientStats Snapshot() const {
    ClientStats s;
    s.commands_sent = commands_sent.load(std::memory_order_relaxed);
    s.rpcs_sent = rpcs_sent.load(std::memory_order_relaxed);
    s.moved_redirects = moved_redirects.load(std::memory_order_relaxed);
    s.ask_redirects = ask_redirects.load(std::memory_order_relaxed);
    s.retries = retries.load(std::memory_order_relaxed);
    s.map_refreshes = map_refreshes.load(std::memory_order_relaxed);
    s.watched_maps = watched_maps.load(std::memory_order_relaxed);
    return s;
  }
};

}  // namespace slotcache

#endif  // SLOTCACHE_CLIENT_SDK_STATS_H_
