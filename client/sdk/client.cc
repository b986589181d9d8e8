// The Client's core: the cluster map, routing, dispatch to node channels,
// redirects and retries. The typed calls are in typed_calls.cc, the
// multi-key split in multi_key.h, the reply parsers in replies.h.
#include "client/sdk/client.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/sdk/multi_key.h"
#include "common/commands/command_table.h"
#include "common/rpc.h"
#include "common/slot.h"
#include "common/status.h"
#include "grpcpp/client_context.h"
#include "proto/cache.grpc.pb.h"

namespace slotcache {
namespace {

// The slot that routes `command`: its first key's, or none for a command
// without keys (PING, DBSIZE: any node answers, the first of the map is
// asked). A command missing from this SDK's table (a newer node may know
// it) is routed by its first argument, where most Redis commands keep
// their key; the node refuses it if that is wrong.
std::optional<uint32_t> RoutingSlot(const CommandSpec* spec,
                                    const v1::Command& command) {
  if (spec == nullptr) {
    if (command.args_size() == 0) return std::nullopt;
    return KeySlot(command.args(0));
  }
  const KeyPositions keys = KeyPositionsOf(*spec, command.args_size());
  if (keys.empty()) return std::nullopt;
  return KeySlot(command.args(keys.first));
}

// `status` with `context` put in front of its message; keeps the typed
// error payload so ErrorCodeOf still works.
absl::Status WithContext(const absl::Status& status,
                         absl::string_view context) {
  absl::Status out(status.code(),
                   absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) {
        out.SetPayload(url, payload);
      });
  return out;
}

// The default map source: the seed nodes, in order.
class SeedMapSource : public ClusterMapSource {
 public:
  explicit SeedMapSource(std::vector<std::string> seeds)
      : seeds_(std::move(seeds)) {}

  absl::StatusOr<Result> Fetch(absl::Duration timeout) override {
    std::vector<std::string> errors;
    for (const std::string& seed : seeds_) {
      auto stub = v1::CacheService::NewStub(MakeChannel(seed));
      grpc::ClientContext context;
      context.set_deadline(DeadlineIn(timeout));
      Result result;
      grpc::Status status = stub->GetClusterMap(
          &context, v1::GetClusterMapRequest(), &result.map);
      if (status.ok()) {
        result.fallback_address = seed;
        return result;
      }
      errors.push_back(absl::StrCat(seed, ": ", status.error_message()));
    }
    return absl::UnavailableError(absl::StrCat(
        "no seed node answered GetClusterMap (", absl::StrJoin(errors, "; "),
        "); check the seed addresses and that the nodes are running"));
  }

 private:
  const std::vector<std::string> seeds_;
};

}  // namespace

// ---- One call in progress.

struct Client::Op {
  v1::Command command;
  // The slot that routes the command; empty for keyless commands.
  std::optional<uint32_t> slot;
  bool is_read = false;
  ReadPolicy read_policy = ReadPolicy::kPrimary;
  // Replica acks asked for (writes only).
  AckRequirement acks;
  absl::Time deadline;
  int redirects = 0;
  int attempts = 0;
  // Set by MOVED/ASK/READONLY: the next send goes here, once.
  std::string redirect_once;
  // The transient error that caused the latest retry: what the caller
  // gets if the deadline passes while retrying.
  absl::Status last_retry_error;
  Callback<v1::Value> done;
};

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(
    const ClientOptions& options) {
  if (options.seeds.empty() && options.map_source == nullptr) {
    return InvalidInputError(
        "ClientOptions has no seeds: give at least one node address "
        "(host:port)");
  }
  std::unique_ptr<Client> client(new Client(options));
  absl::StatusOr<ClusterMapSource::Result> fetched =
      client->map_source_->Fetch(options.default_timeout);
  if (!fetched.ok()) return fetched.status();
  client->InstallTable(
      RoutingTable::FromClusterMap(fetched->map, fetched->fallback_address));
  Client* watcher = client.get();
  client->map_watch_ = client->map_source_->StartWatch(
      fetched->map.version(), [watcher](ClusterMapSource::Result watched) {
        watcher->InstallWatchedMap(watched);
      });
  return client;
}

Client::Client(const ClientOptions& options)
    : options_(options),
      map_source_(options.map_source != nullptr
                      ? options.map_source
                      : std::make_shared<SeedMapSource>(options.seeds)),
      retry_alarms_(std::make_unique<AlarmSet>()) {}

Client::~Client() {
  // First: the watch calls back into the client until it is gone.
  map_watch_.reset();
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }
  // Pending retries are cancelled now and fail with CANCELLED; a retry
  // whose time has just come finds the client shutting down.
  retry_alarms_->Shutdown();
  absl::flat_hash_map<std::string, std::unique_ptr<NodeChannel>> channels;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](Client* c) {
          c->mu_.AssertHeld();
          return !c->refresh_in_flight_ && c->active_dispatches_ == 0;
        },
        this));
    channels.swap(channels_);
  }
  // Each channel waits for its batches in flight; their callbacks find the
  // client shutting down and fail instead of resending.
  channels.clear();
}

void Client::InstallTable(std::shared_ptr<const RoutingTable> table) {
  absl::MutexLock lock(&mu_);
  table_ = std::move(table);
}

void Client::InstallWatchedMap(const ClusterMapSource::Result& watched) {
  std::shared_ptr<const RoutingTable> fresh =
      RoutingTable::FromClusterMap(watched.map, watched.fallback_address);
  absl::MutexLock lock(&mu_);
  // Never back to an older map (a MOVED may have brought a newer one from
  // a node first); an equal version is the map we already hold.
  if (fresh->version() <= table_->version()) return;
  table_ = std::move(fresh);
  StatsCounters::Add(stats_.watched_maps);
}

std::shared_ptr<const RoutingTable> Client::routing() const {
  absl::MutexLock lock(&mu_);
  return table_;
}

absl::Status Client::RefreshClusterMap() {
  absl::StatusOr<ClusterMapSource::Result> fetched =
      map_source_->Fetch(options_.default_timeout);
  if (!fetched.ok()) return fetched.status();
  InstallTable(
      RoutingTable::FromClusterMap(fetched->map, fetched->fallback_address));
  StatsCounters::Add(stats_.map_refreshes);
  return absl::OkStatus();
}

NodeChannel* Client::ChannelFor(const std::string& address) {
  auto it = channels_.find(address);
  if (it != channels_.end()) return it->second.get();
  // One connection shared with the rest of the process, or several of
  // this client's own.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  const int connections = std::max(1, options_.batching.connections_per_node);
  if (connections == 1) {
    channels.push_back(MakeChannel(address));
  } else {
    ChannelOptions own;
    own.own_connection = true;
    for (int i = 0; i < connections; ++i) {
      channels.push_back(MakeChannel(address, own));
    }
  }
  auto channel = std::make_unique<NodeChannel>(address, channels,
                                               options_.batching, &stats_);
  NodeChannel* out = channel.get();
  channels_.emplace(address, std::move(channel));
  return out;
}

void Client::RefreshFromAsync(const std::string& address) {
  struct Call {
    grpc::ClientContext context;
    v1::GetClusterMapRequest request;
    v1::ClusterMap response;
  };
  NodeChannel* channel = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (refresh_in_flight_ || shutting_down_ || address.empty()) return;
    refresh_in_flight_ = true;
    channel = ChannelFor(address);
  }
  auto* call = new Call;
  call->context.set_deadline(
      DeadlineIn(std::min(options_.default_timeout, absl::Seconds(2))));
  channel->stub()->async()->GetClusterMap(
      &call->context, &call->request, &call->response,
      [this, call, address](grpc::Status status) {
        std::shared_ptr<const RoutingTable> fresh;
        if (status.ok()) {
          fresh = RoutingTable::FromClusterMap(call->response, address);
        }
        delete call;
        absl::MutexLock lock(&mu_);
        // A map with the version we hold replaces our MOVED-patched copy:
        // it is the redirecting node's complete view.
        if (fresh != nullptr && fresh->version() >= table_->version()) {
          table_ = std::move(fresh);
          StatsCounters::Add(stats_.map_refreshes);
        }
        refresh_in_flight_ = false;
      });
}

// ---- The core: dispatch, reply handling, retries.

void Client::ExecuteAsync(const v1::Command& command, Callback<v1::Value> done,
                          const CallOptions& options) {
  if (ExecuteSplit(command, options, done)) return;
  ExecuteSingle(command, options, std::move(done));
}

void Client::ExecuteSingle(const v1::Command& command,
                           const CallOptions& options,
                           Callback<v1::Value> done) {
  auto op = std::make_shared<Op>();
  op->command = command;
  const CommandSpec* spec = FindCommand(command.name());
  op->slot = RoutingSlot(spec, command);
  // Only commands known to read only may go to a replica.
  op->is_read = spec != nullptr && (spec->flags & kReadOnly) != 0;
  op->read_policy = options.read_policy.value_or(options_.read_policy);
  if (!op->is_read && options.min_replica_acks > 0) {
    op->acks.min_replica_acks = static_cast<uint32_t>(options.min_replica_acks);
    op->acks.timeout_ms = static_cast<uint32_t>(
        absl::ToInt64Milliseconds(options.replica_ack_timeout));
  }
  op->deadline = absl::Now() + (options.timeout > absl::ZeroDuration()
                                    ? options.timeout
                                    : options_.default_timeout);
  op->done = std::move(done);
  Dispatch(std::move(op));
}

void Client::Dispatch(std::shared_ptr<Op> op) {
  if (absl::Now() >= op->deadline) {
    Finish(op,
           absl::DeadlineExceededError(absl::StrCat(
               op->command.name(), " did not complete before its deadline",
               op->attempts > 0 ? absl::StrCat(" (", op->attempts, " retries)")
                                : "",
               "; raise the timeout or check the cluster's health")));
    return;
  }
  Route route;
  NodeChannel* channel = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (!shutting_down_) {
      if (!op->redirect_once.empty()) {
        route.address = std::move(op->redirect_once);
        op->redirect_once.clear();
      } else if (op->slot.has_value()) {
        route = table_->Pick(*op->slot, op->is_read, op->read_policy,
                             options_.az, ++salt_);
      } else {
        route.address = table_->PrimaryFor(0);
      }
      channel = ChannelFor(route.address);
      ++active_dispatches_;
    }
  }
  if (channel == nullptr) {
    Finish(op, absl::CancelledError(
                   "the slotcache client is shutting down; the call was not "
                   "sent"));
    return;
  }
  std::string address = route.address;
  channel->Submit(op->command, op->deadline, route.replica, op->acks,
                  [this, op, address](const absl::Status& transport,
                                      v1::Reply* reply, uint32_t acks) {
                    OnReply(op, address, transport, reply, acks);
                  });
  absl::MutexLock lock(&mu_);
  --active_dispatches_;
}

void Client::OnReply(std::shared_ptr<Op> op, const std::string& address,
                     const absl::Status& transport, v1::Reply* reply,
                     uint32_t replica_acks) {
  if (!transport.ok()) {
    if (absl::IsUnavailable(transport)) {
      // The node may be gone: ask another node for a newer map meanwhile.
      std::shared_ptr<const RoutingTable> table = routing();
      for (const std::string& other : table->Addresses()) {
        if (other != address) {
          RefreshFromAsync(other);
          break;
        }
      }
      RetryLater(std::move(op),
                 WithContext(transport, absl::StrCat("node ", address)),
                 absl::ZeroDuration());
      return;
    }
    if (absl::IsDeadlineExceeded(transport) && !op->last_retry_error.ok()) {
      Finish(op, WithContext(op->last_retry_error,
                             absl::StrCat("deadline passed after ",
                                          op->attempts, " retries")));
      return;
    }
    Finish(op, WithContext(transport, absl::StrCat("node ", address)));
    return;
  }
  if (!reply->has_error() ||
      reply->error().code() == v1::ERROR_CODE_UNSPECIFIED) {
    if (replica_acks < op->acks.min_replica_acks) {
      Finish(op,
             MakeError(v1::NOT_ENOUGH_REPLICA_ACKS,
                       absl::StrCat(
                           op->command.name(), " was applied on ", address,
                           " but only ", replica_acks, " of the ",
                           op->acks.min_replica_acks,
                           " replicas asked for acknowledged it in time; it "
                           "may be lost if that primary fails now. Check the "
                           "shard's replicas (slotctl cluster status) or raise "
                           "replica_ack_timeout; the write was not retried")));
      return;
    }
    Finish(op, std::move(*reply->mutable_value()));
    return;
  }
  const v1::Error& error = reply->error();
  switch (error.code()) {
    case v1::MOVED:
    case v1::ASK:
    case v1::READONLY: {
      const v1::Redirect& redirect = error.redirect();
      if (redirect.address().empty() ||
          ++op->redirects > options_.max_redirects) {
        Finish(op, WithContext(
                       StatusFromError(error),
                       absl::StrCat("gave up after ", op->redirects - 1,
                                    " redirects (the cluster map is changing "
                                    "or inconsistent; retry later)")));
        return;
      }
      if (error.code() == v1::MOVED) {
        StatsCounters::Add(stats_.moved_redirects);
        {
          absl::MutexLock lock(&mu_);
          std::shared_ptr<const RoutingTable> patched = table_->WithSlotMoved(
              redirect.slot(), redirect.address(), redirect.config_epoch());
          if (patched != nullptr) table_ = std::move(patched);
        }
        // Route this request to the redirect even if the patch was refused
        // as stale: the node that owns the key said so.
        op->redirect_once = redirect.address();
        RefreshFromAsync(redirect.address());
      } else if (error.code() == v1::ASK) {
        // ASK: this one request goes to the importing node; the map stays.
        StatsCounters::Add(stats_.ask_redirects);
        op->redirect_once = redirect.address();
      } else {
        // READONLY: a write reached a replica, so our map is stale.
        StatsCounters::Add(stats_.moved_redirects);
        op->redirect_once = redirect.address();
        RefreshFromAsync(redirect.address());
      }
      Dispatch(std::move(op));
      return;
    }
    case v1::CLUSTERDOWN:
      // The node's map leaves the slot unserved or its shard without a
      // primary (e.g. mid-failover): a newer map may already exist.
      RefreshFromAsync(address);
      RetryLater(std::move(op), StatusFromError(error),
                 absl::Milliseconds(error.retry_after_ms()));
      return;
    case v1::TRYAGAIN:
    case v1::UNAVAILABLE:
      RetryLater(std::move(op), StatusFromError(error),
                 absl::Milliseconds(error.retry_after_ms()));
      return;
    default:
      Finish(op, StatusFromError(error));
      return;
  }
}

void Client::RetryLater(std::shared_ptr<Op> op, absl::Status error,
                        absl::Duration server_hint) {
  thread_local absl::BitGen gen;
  ++op->attempts;
  const absl::Duration delay =
      BackoffDelay(options_.retry, op->attempts, server_hint, gen);
  const absl::Time when = absl::Now() + delay;
  if (when >= op->deadline) {
    Finish(op, WithContext(error, absl::StrCat("gave up after ", op->attempts,
                                               " attempts (deadline)")));
    return;
  }
  StatsCounters::Add(stats_.retries);
  op->last_retry_error = error;
  const bool scheduled = retry_alarms_->RunAt(when, [this, op](bool fired) {
    if (fired) {
      Dispatch(op);
    } else {
      Finish(op, absl::CancelledError(
                     "the slotcache client is shutting down; the call was "
                     "waiting to be retried"));
    }
  });
  if (!scheduled) {
    Finish(op, absl::CancelledError("the slotcache client is shutting down"));
  }
}

void Client::Finish(const std::shared_ptr<Op>& op,
                    absl::StatusOr<v1::Value> result) {
  Callback<v1::Value> done = std::move(op->done);
  if (done) done(std::move(result));
}

// ---- Multi-key commands (split and merge: multi_key.h).

bool Client::ExecuteSplit(const v1::Command& command,
                          const CallOptions& options,
                          Callback<v1::Value> done) {
  std::optional<SplitCommand> split = SplitPerSlot(command);
  if (!split.has_value()) return false;
  struct Shared {
    Shared(SplitCommand split, Callback<v1::Value> done)
        : split(std::move(split)),
          done(std::move(done)),
          remaining(this->split.parts.size()),
          results(this->split.parts.size(),
                  absl::UnknownError("not completed")) {}
    // Constant after construction.
    const SplitCommand split;
    const Callback<v1::Value> done;
    absl::Mutex mu;
    size_t remaining ABSL_GUARDED_BY(mu);
    std::vector<absl::StatusOr<v1::Value>> results ABSL_GUARDED_BY(mu);
  };
  auto shared = std::make_shared<Shared>(std::move(*split), std::move(done));
  for (size_t p = 0; p < shared->split.parts.size(); ++p) {
    ExecuteSingle(shared->split.parts[p], options,
                  [shared, p](absl::StatusOr<v1::Value> result) {
                    std::vector<absl::StatusOr<v1::Value>> results;
                    {
                      absl::MutexLock lock(&shared->mu);
                      shared->results[p] = std::move(result);
                      if (--shared->remaining > 0) return;
                      results.swap(shared->results);
                    }
                    shared->done(MergeParts(shared->split, std::move(results)));
                  });
  }
  return true;
}

}  // namespace slotcache
