// slotcache::Client — the cluster-aware C++ SDK.
//
//   ClientOptions options;
//   options.seeds = {"10.0.0.5:7000"};
//   absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
//   (*client)->Set("user:42", "alice", SetOptions::WithTtl(absl::Minutes(5)));
//   absl::StatusOr<std::optional<std::string>> v = (*client)->Get("user:42");
//
// What it does for every call:
// - Routing: the key's hash slot (common/slot.h) picks the node from the
//   cluster map, which the client learns from any seed (GetClusterMap), or
//   from the coordinator, which it then watches for newer maps
//   (ClusterMapSource below).
// - MOVED: the client patches its map (if the redirect's epoch is not
//   older than what it holds), asks the redirecting node for its full map
//   in the background, and resends; at most `max_redirects` times per call.
//   ASK resends this one request to the named node without touching the map.
//   READONLY (a write reached a replica) is followed like MOVED.
// - Retries: TRYAGAIN, CLUSTERDOWN and UNAVAILABLE are retried with
//   jittered exponential backoff (client/sdk/retry.h) until the call's
//   deadline; then the last error is returned.
// - Deadline: every call has one (`default_timeout`, or CallOptions).
// - Batching: concurrent calls to one node share Batch RPCs automatically
//   (client/sdk/node_channel.h). stats() shows how well that works.
// - Commands are known from the command table shared with the node
//   (common/commands/commands.def): its key positions route a call, its
//   kReadOnly flag lets a read policy pick a replica, and its split column
//   says which multi-key calls (MGET, MSET, DEL, EXISTS, UNLINK of many
//   keys) are split per slot — nodes refuse multi-key commands spanning
//   slots with CROSSSLOT — sent concurrently (so they batch per node) and
//   merged back in the caller's order.
//
// Errors are absl::Status carrying a slotcache kind: branch with
// ErrorCodeOf(status) (common/status.h), e.g. v1::WRONGTYPE, v1::OOM. A
// missing key is not an error: Get returns std::nullopt.
//
// Thread-safety: a Client is safe to use from any number of threads. Async
// callbacks run on gRPC's threads: keep them short and never call a
// synchronous Client method from inside one. Destroying the Client fails
// calls still waiting for a retry with CANCELLED and waits for RPCs in
// flight.
#ifndef SLOTCACHE_CLIENT_SDK_CLIENT_H_
#define SLOTCACHE_CLIENT_SDK_CLIENT_H_

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/sdk/alarms.h"
#include "client/sdk/node_channel.h"
#include "client/sdk/retry.h"
#include "client/sdk/routing.h"
#include "client/sdk/stats.h"
#include "proto/cache.pb.h"
#include "proto/common.pb.h"

namespace slotcache {

// Where the client learns the cluster map from. The default (used when
// ClientOptions::map_source is null) asks the seed nodes in turn and
// cannot watch: the client then learns of changes from MOVED and from
// unreachable nodes. CoordinatorMapSource (client/sdk/
// coordinator_map_source.h) asks the coordinator and watches it, so the
// client switches to a new map (a failover's new primary) as soon as it is
// published.
class ClusterMapSource {
 public:
  virtual ~ClusterMapSource() = default;
  // The current map, plus the address of a node that can serve slots the
  // map does not assign (the seed it came from; may be empty).
  struct Result {
    v1::ClusterMap map;
    std::string fallback_address;
  };
  virtual absl::StatusOr<Result> Fetch(absl::Duration timeout) = 0;

  // A running watch. Destroying it stops the watch and waits until its
  // callback is no longer running and will not run again.
  class Watch {
   public:
    virtual ~Watch() = default;
  };
  using OnMap = std::function<void(Result)>;
  // Calls `on_map` with every map newer than `after_version` the source
  // learns of, from a background thread, one at a time, until the returned
  // Watch is destroyed. nullptr (the default) when the source cannot watch.
  virtual std::unique_ptr<Watch> StartWatch(uint64_t /*after_version*/,
                                            OnMap /*on_map*/) {
    return nullptr;
  }
};

struct ClientOptions {
  // host:port of one or more nodes of the cluster; any one reachable is
  // enough.
  std::vector<std::string> seeds;
  // Overrides `seeds` as the source of the cluster map (see above).
  std::shared_ptr<ClusterMapSource> map_source;
  // Deadline of a call that does not set its own.
  absl::Duration default_timeout = absl::Seconds(5);
  // MOVED/ASK/READONLY redirects followed per call before giving up.
  int max_redirects = 5;
  RetryPolicy retry;
  ReadPolicy read_policy = ReadPolicy::kPrimary;
  // The client's availability zone, for ReadPolicy::kSameAzReplica.
  std::string az;
  BatchingOptions batching;
};

// Per-call overrides.
struct CallOptions {
  // Zero means ClientOptions::default_timeout.
  absl::Duration timeout = absl::ZeroDuration();
  std::optional<ReadPolicy> read_policy;
  // WAIT-like durability for writes (ignored for read-only commands): the
  // node replies once this many replicas applied the write, or after
  // `replica_ack_timeout` (zero: the node's default, 1 s; keep it below the
  // call's timeout). When fewer replicas acknowledged, the call fails with
  // v1::NOT_ENOUGH_REPLICA_ACKS (absl kDeadlineExceeded) whose message
  // gives the count — but, as with a Redis WAIT that returns less than
  // asked, the write WAS applied on the primary and is not retried (it
  // may be lost if that primary fails before a replica has it). A write
  // that succeeds with min_replica_acks >= 1 survives a failover: the
  // coordinator promotes the replica with the highest offset
  // (docs/FAILOVER.md).
  int min_replica_acks = 0;
  absl::Duration replica_ack_timeout = absl::ZeroDuration();
};

// SET's options, Redis semantics.
struct SetOptions {
  enum class Condition { kAlways, kIfNotExists /* NX */, kIfExists /* XX */ };
  // Expire after `ttl` (zero: no expiry, or keep the old one if keep_ttl).
  absl::Duration ttl = absl::ZeroDuration();
  Condition condition = Condition::kAlways;
  // KEEPTTL: keep the key's current expiry (ttl must be zero).
  bool keep_ttl = false;

  static SetOptions WithTtl(absl::Duration ttl) {
    SetOptions o;
    o.ttl = ttl;
    return o;
  }
};

class Client {
 public:
  template <typename T>
  using Callback = std::function<void(absl::StatusOr<T>)>;

  // Learns the cluster map from the seeds (or options.map_source) and
  // returns a ready client; UNAVAILABLE naming the seeds when none answers.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const ClientOptions& options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // ---- Strings and keys.
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key);
  // True when the value was written; false when NX/XX prevented it.
  absl::StatusOr<bool> Set(absl::string_view key, absl::string_view value,
                           const SetOptions& options = {});
  // Number of keys removed.
  absl::StatusOr<int64_t> Del(absl::string_view key);
  absl::StatusOr<int64_t> Del(const std::vector<std::string>& keys);
  // Number of the given keys that exist (a key given twice counts twice).
  absl::StatusOr<int64_t> Exists(const std::vector<std::string>& keys);
  // True when the key exists and now has the timeout.
  absl::StatusOr<bool> Expire(absl::string_view key, absl::Duration ttl);
  // Remaining time to live in seconds (rounded like Redis TTL), -1 when
  // the key has no expiry, -2 when it does not exist.
  absl::StatusOr<int64_t> Ttl(absl::string_view key);
  absl::StatusOr<std::vector<std::optional<std::string>>> MGet(
      const std::vector<std::string>& keys);
  absl::Status MSet(
      const std::vector<std::pair<std::string, std::string>>& pairs);

  // ---- Counters (OUT_OF_RANGE when the value is not a number or would
  // overflow).
  absl::StatusOr<int64_t> Incr(absl::string_view key);
  absl::StatusOr<int64_t> IncrBy(absl::string_view key, int64_t delta);
  absl::StatusOr<int64_t> DecrBy(absl::string_view key, int64_t delta);
  absl::StatusOr<double> IncrByFloat(absl::string_view key, double delta);

  // ---- Hashes.
  // Number of fields that were new.
  absl::StatusOr<int64_t> HSet(absl::string_view key, absl::string_view field,
                               absl::string_view value);
  absl::StatusOr<int64_t> HSet(
      absl::string_view key,
      const std::vector<std::pair<std::string, std::string>>& fields);
  absl::StatusOr<std::optional<std::string>> HGet(absl::string_view key,
                                                  absl::string_view field);
  absl::StatusOr<std::vector<std::optional<std::string>>> HMGet(
      absl::string_view key, const std::vector<std::string>& fields);
  absl::StatusOr<int64_t> HDel(absl::string_view key,
                               const std::vector<std::string>& fields);
  // Empty when the key does not exist.
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> HGetAll(
      absl::string_view key);
  absl::StatusOr<int64_t> HIncrBy(absl::string_view key,
                                  absl::string_view field, int64_t delta);
  absl::StatusOr<int64_t> HLen(absl::string_view key);

  // ---- Any command, e.g. Execute(MakeCommand("APPEND", {"k", "v"})).
  // Routed by its first key (commands without keys, such as PING or
  // DBSIZE, go to the first node of the map; a command this SDK's table
  // lacks, by its first argument); multi-key commands are split per slot
  // and merged (see the top of this file).
  absl::StatusOr<v1::Value> Execute(const v1::Command& command,
                                    const CallOptions& options = {});

  // ---- Asynchronous forms: a std::future, or a callback run on a gRPC
  // thread when the call completes.
  void ExecuteAsync(const v1::Command& command, Callback<v1::Value> done,
                    const CallOptions& options = {});
  std::future<absl::StatusOr<v1::Value>> ExecuteAsync(
      const v1::Command& command, const CallOptions& options = {});
  void GetAsync(absl::string_view key,
                Callback<std::optional<std::string>> done);
  std::future<absl::StatusOr<std::optional<std::string>>> GetAsync(
      absl::string_view key);
  void SetAsync(absl::string_view key, absl::string_view value,
                const SetOptions& options, Callback<bool> done);
  std::future<absl::StatusOr<bool>> SetAsync(absl::string_view key,
                                             absl::string_view value,
                                             const SetOptions& options = {});
  std::future<absl::StatusOr<int64_t>> DelAsync(absl::string_view key);
  std::future<absl::StatusOr<int64_t>> IncrByAsync(absl::string_view key,
                                                   int64_t delta);
  std::future<absl::StatusOr<std::optional<std::string>>> HGetAsync(
      absl::string_view key, absl::string_view field);

  // Fetches the map again now (normally the client does this by itself on
  // MOVED and on unreachable nodes).
  absl::Status RefreshClusterMap();
  // The routing table in use.
  std::shared_ptr<const RoutingTable> routing() const;
  ClientStats stats() const { return stats_.Snapshot(); }

 private:
  struct Op;

  explicit Client(const ClientOptions& options);

  // Starts (or resumes) `op`: picks a node and submits to its channel.
  void Dispatch(std::shared_ptr<Op> op);
  // `replica_acks`: how many replicas had applied the reply's batch.
  void OnReply(std::shared_ptr<Op> op, const std::string& address,
               const absl::Status& transport, v1::Reply* reply,
               uint32_t replica_acks);
  // Retries `op` after a backoff, or finishes it with `error` when the
  // deadline would pass first.
  void RetryLater(std::shared_ptr<Op> op, absl::Status error,
                  absl::Duration server_hint);
  void Finish(const std::shared_ptr<Op>& op, absl::StatusOr<v1::Value> result);
  // Splits a multi-key command per slot; returns false when `command` is
  // not one.
  bool ExecuteSplit(const v1::Command& command, const CallOptions& options,
                    Callback<v1::Value> done);
  void ExecuteSingle(const v1::Command& command, const CallOptions& options,
                     Callback<v1::Value> done);

  NodeChannel* ChannelFor(const std::string& address)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void InstallTable(std::shared_ptr<const RoutingTable> table);
  // A map pushed by map_source_'s watch; installed only when newer than
  // the one in use.
  void InstallWatchedMap(const ClusterMapSource::Result& watched);
  // Background map fetch from `address` (one at a time).
  void RefreshFromAsync(const std::string& address);

  // Constant after construction.
  const ClientOptions options_;
  std::shared_ptr<ClusterMapSource> map_source_;
  // Retries waiting out their backoff.
  std::unique_ptr<AlarmSet> retry_alarms_;
  // map_source_'s watch (null when it cannot watch); set once by Connect.
  std::unique_ptr<ClusterMapSource::Watch> map_watch_;

  mutable StatsCounters stats_;

  // State below is protected by mu_.
  mutable absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  bool refresh_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  // Dispatch calls between choosing a channel and submitting to it; the
  // destructor waits for zero before destroying channels.
  int active_dispatches_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<const RoutingTable> table_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<NodeChannel>> channels_
      ABSL_GUARDED_BY(mu_);
  uint64_t salt_ ABSL_GUARDED_BY(mu_) = 0;
};

// Builds a command: MakeCommand("SET", {"k", "v", "EX", "10"}).
v1::Command MakeCommand(absl::string_view name,
                        std::vector<std::string> args = {});

}  // namespace slotcache

#endif  // SLOTCACHE_CLIENT_SDK_CLIENT_H_
