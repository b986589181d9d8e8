// ClientRegistry: the RESP port's connected clients as the connection and
// server commands see them (CLIENT LIST / INFO / KILL, INFO clients and
// stats, maxclients), shared by every event loop.
//
// The loops register a client on accept and remove it on close; its
// summary is updated only when the session changes it (CLIENT SETNAME,
// HELLO, RESET), so the registry's lock is off the per-command path.
// A kill is a callback that each loop provides: it closes the connection
// on the loop that owns it.
//
// Thread-safety: every method may be called from any thread (one
// slotcache::Mutex, visible to --config=tsan, guards the client table).
#ifndef SLOTCACHE_NODE_RESP_CLIENT_REGISTRY_H_
#define SLOTCACHE_NODE_RESP_CLIENT_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace slotcache::node::resp {

// A connection's buffer sizes (CLIENT LIST qbuf, qbuf-free, obl, omem),
// published by its loop after each read round and send (relaxed stores),
// read by CLIENT LIST on any loop.
struct ClientBuffers {
  std::atomic<int64_t> qbuf{0};       // Unparsed input bytes.
  std::atomic<int64_t> qbuf_free{0};  // Free bytes of the input buffer.
  std::atomic<int64_t> obl{0};        // Unsent reply bytes.
  std::atomic<int64_t> omem{0};       // Allocation holding them (0: none).
};

// What CLIENT LIST shows of one client.
struct ClientSummary {
  uint64_t id = 0;
  std::string address;        // Peer host:port.
  std::string local_address;  // This port's host:port.
  std::string name;
  absl::Time connected_at;
  int protocol = 2;
  bool readonly = false;
  int fd = -1;
  // Shared by every copy of the summary; null in tests without a server.
  std::shared_ptr<ClientBuffers> buffers;
};

class ClientRegistry {
 public:
  ClientRegistry() = default;
  ClientRegistry(const ClientRegistry&) = delete;
  ClientRegistry& operator=(const ClientRegistry&) = delete;

  // A fresh client id (Redis: increasing from 1, never reused).
  uint64_t NextId() { return next_id_.fetch_add(1) + 1; }

  // Adds `client`; `kill` closes it on its loop (callable from any thread).
  void Add(const ClientSummary& client, std::function<void()> kill);
  void Remove(uint64_t id);
  // Replaces the stored summary of client `summary.id` (if still there).
  void Update(const ClientSummary& summary);

  std::vector<ClientSummary> List() const;
  // Kills the clients for which `match` is true; returns how many.
  int Kill(const std::function<bool(const ClientSummary&)>& match);
  int connected() const;

  // Counters for INFO stats.
  void CountConnection() { connections_received_.fetch_add(1); }
  void CountRejected() { rejected_connections_.fetch_add(1); }
  // Called once per read round with the round's command count; every
  // 100 ms or so it also records a sample for InstantaneousOpsPerSec.
  void CountCommands(uint64_t n) {
    commands_processed_.fetch_add(n, std::memory_order_relaxed);
    const int64_t now = absl::GetCurrentTimeNanos();
    if (now >= next_sample_ns_.load(std::memory_order_relaxed)) Sample(now);
  }
  // Reads of keys (INFO keyspace_hits / keyspace_misses).
  void CountLookups(uint64_t hits, uint64_t misses) {
    if (hits > 0) keyspace_hits_.fetch_add(hits, std::memory_order_relaxed);
    if (misses > 0) {
      keyspace_misses_.fetch_add(misses, std::memory_order_relaxed);
    }
  }
  // Connections parked in WAIT (INFO blocked_clients): +1 / -1.
  void CountBlocked(int delta) { blocked_.fetch_add(delta); }
  uint64_t keyspace_hits() const { return keyspace_hits_.load(); }
  uint64_t keyspace_misses() const { return keyspace_misses_.load(); }
  int64_t blocked() const { return blocked_.load(); }
  // Commands per second over the last second or two (Redis'
  // instantaneous_ops_per_sec; over a longer span when the port was idle).
  int64_t InstantaneousOpsPerSec() const;
  uint64_t connections_received() const { return connections_received_.load(); }
  uint64_t rejected_connections() const { return rejected_connections_.load(); }
  uint64_t commands_processed() const { return commands_processed_.load(); }

 private:
  struct Entry {
    ClientSummary summary;
    std::function<void()> kill;
  };

  std::atomic<uint64_t> next_id_{0};
  std::atomic<uint64_t> connections_received_{0};
  std::atomic<uint64_t> rejected_connections_{0};
  std::atomic<uint64_t> commands_processed_{0};
  std::atomic<uint64_t> keyspace_hits_{0};
  std::atomic<uint64_t> keyspace_misses_{0};
  std::atomic<int64_t> blocked_{0};
  std::atomic<int64_t> next_sample_ns_{0};

  struct OpsSample {
    int64_t at_ns;
    uint64_t commands;
  };
  void Sample(int64_t now_ns);
  mutable Mutex samples_mu_;
  // Oldest first, about 100 ms apart, the last ~2 s.
  std::deque<OpsSample> samples_ ABSL_GUARDED_BY(samples_mu_);

  mutable Mutex mu_;
  absl::flat_hash_map<uint64_t, Entry> clients_ ABSL_GUARDED_BY(mu_);
};

}  // namespace slotcache::node::resp

#endif  // SLOTCACHE_NODE_RESP_CLIENT_REGISTRY_H_
