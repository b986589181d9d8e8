#include "client/sdk/client.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
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

absl::Status UnexpectedReply(absl::string_view what, const v1::Value& value) {
  return MakeError(
      v1::INTERNAL,
      absl::StrCat("expected ", what, " but the node replied ",
                   value.ShortDebugString(),
                   "; the node and the SDK may be of different versions"));
}

// ---- Reply parsers: v1::Value -> typed result.

absl::StatusOr<std::optional<std::string>> ParseOptionalString(
    v1::Value value) {
  switch (value.kind_case()) {
    case v1::Value::kNil:
      return std::optional<std::string>();
    case v1::Value::kBulk:
      return std::optional<std::string>(std::move(*value.mutable_bulk()));
    case v1::Value::kStatus:
      return std::optional<std::string>(std::move(*value.mutable_status()));
    default:
      return UnexpectedReply("a string or nil", value);
  }
}

absl::StatusOr<int64_t> ParseInteger(v1::Value value) {
  if (value.kind_case() == v1::Value::kInteger) return value.integer();
  return UnexpectedReply("an integer", value);
}

absl::StatusOr<bool> ParseIntegerAsBool(v1::Value value) {
  if (value.kind_case() == v1::Value::kInteger) return value.integer() != 0;
  return UnexpectedReply("an integer", value);
}

// SET: "OK" when written, nil when NX/XX prevented it.
absl::StatusOr<bool> ParseSetReply(v1::Value value) {
  if (value.kind_case() == v1::Value::kNil) return false;
  if (value.kind_case() == v1::Value::kStatus) return true;
  return UnexpectedReply("OK or nil", value);
}

absl::StatusOr<double> ParseDouble(v1::Value value) {
  double out = 0;
  switch (value.kind_case()) {
    case v1::Value::kInteger:
      return static_cast<double>(value.integer());
    case v1::Value::kBulk:
      if (absl::SimpleAtod(value.bulk(), &out)) return out;
      break;
    case v1::Value::kStatus:
      if (absl::SimpleAtod(value.status(), &out)) return out;
      break;
    default:
      break;
  }
  return UnexpectedReply("a number", value);
}

absl::StatusOr<std::vector<std::optional<std::string>>> ParseOptionalStrings(
    v1::Value value) {
  if (value.kind_case() != v1::Value::kArray) {
    return UnexpectedReply("an array", value);
  }
  std::vector<std::optional<std::string>> out;
  out.reserve(value.array().values_size());
  for (v1::Value& element : *value.mutable_array()->mutable_values()) {
    absl::StatusOr<std::optional<std::string>> s =
        ParseOptionalString(std::move(element));
    if (!s.ok()) return s.status();
    out.push_back(std::move(*s));
  }
  return out;
}

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ParseFieldMap(
    v1::Value value) {
  absl::flat_hash_map<std::string, std::string> out;
  if (value.kind_case() == v1::Value::kNil) return out;
  if (value.kind_case() != v1::Value::kArray ||
      value.array().values_size() % 2 != 0) {
    return UnexpectedReply("an array of field/value pairs", value);
  }
  auto* values = value.mutable_array()->mutable_values();
  for (int i = 0; i + 1 < values->size(); i += 2) {
    out[std::move(*values->Mutable(i)->mutable_bulk())] =
        std::move(*values->Mutable(i + 1)->mutable_bulk());
  }
  return out;
}

absl::StatusOr<v1::Value> ParseValue(v1::Value value) { return value; }

// ---- Glue from the callback-based core to the typed sync/async API.

template <typename T, typename Parse>
Client::Callback<v1::Value> Parsed(Parse parse, Client::Callback<T> done) {
  return [parse, done = std::move(done)](absl::StatusOr<v1::Value> value) {
    if (!value.ok()) {
      done(value.status());
    } else {
      done(parse(std::move(*value)));
    }
  };
}

template <typename T>
std::pair<Client::Callback<T>, std::future<absl::StatusOr<T>>> MakePromise() {
  auto promise = std::make_shared<std::promise<absl::StatusOr<T>>>();
  std::future<absl::StatusOr<T>> future = promise->get_future();
  return {[promise](absl::StatusOr<T> result) {
            promise->set_value(std::move(result));
          },
          std::move(future)};
}

template <typename T, typename Parse>
std::future<absl::StatusOr<T>> RunFuture(Client* client, v1::Command command,
                                         Parse parse,
                                         const CallOptions& options = {}) {
  auto [callback, future] = MakePromise<T>();
  client->ExecuteAsync(command, Parsed<T>(parse, std::move(callback)), options);
  return std::move(future);
}

template <typename T, typename Parse>
absl::StatusOr<T> RunSync(Client* client, v1::Command command, Parse parse) {
  return RunFuture<T>(client, std::move(command), parse).get();
}

std::string DurationSeconds(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Seconds(d));
}

// Whole seconds use the seconds form (EX/EXPIRE), anything finer the
// milliseconds form (PX/PEXPIRE).
bool IsWholeSeconds(absl::Duration d) {
  return d == absl::Seconds(absl::ToInt64Seconds(d));
}

v1::Command SetCommand(absl::string_view key, absl::string_view value,
                       const SetOptions& options) {
  v1::Command command =
      MakeCommand("SET", {std::string(key), std::string(value)});
  if (options.ttl > absl::ZeroDuration()) {
    if (IsWholeSeconds(options.ttl)) {
      command.add_args("EX");
      command.add_args(DurationSeconds(options.ttl));
    } else {
      command.add_args("PX");
      command.add_args(absl::StrCat(absl::ToInt64Milliseconds(options.ttl)));
    }
  }
  if (options.condition == SetOptions::Condition::kIfNotExists) {
    command.add_args("NX");
  } else if (options.condition == SetOptions::Condition::kIfExists) {
    command.add_args("XX");
  }
  if (options.keep_ttl) command.add_args("KEEPTTL");
  return command;
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

v1::Command MakeCommand(absl::string_view name, std::vector<std::string> args) {
  v1::Command command;
  command.set_name(std::string(name));
  for (std::string& arg : args) command.add_args(std::move(arg));
  return command;
}

// ---- Timer: runs retries after their backoff on one thread.

class Client::Timer {
 public:
  Timer() : thread_([this] { Run(); }) {}
  ~Timer() { Stop(); }

  // False when the timer is stopped (the task is then not run).
  bool RunAt(absl::Time when, std::function<void()> task) {
    absl::MutexLock lock(&mu_);
    if (stopped_) return false;
    tasks_.emplace(when, std::move(task));
    cv_.Signal();
    return true;
  }

  // Runs every pending task now (callers see the client shutting down)
  // and joins the thread. Idempotent.
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = true;
      cv_.Signal();
    }
    thread_.join();
    std::multimap<absl::Time, std::function<void()>> rest;
    {
      absl::MutexLock lock(&mu_);
      rest.swap(tasks_);
    }
    for (auto& entry : rest) entry.second();
  }

 private:
  void Run() {
    absl::MutexLock lock(&mu_);
    while (!stopped_) {
      if (tasks_.empty()) {
        cv_.Wait(&mu_);
      } else if (tasks_.begin()->first > absl::Now()) {
        cv_.WaitWithDeadline(&mu_, tasks_.begin()->first);
      } else {
        std::function<void()> task = std::move(tasks_.begin()->second);
        tasks_.erase(tasks_.begin());
        mu_.Unlock();
        task();
        mu_.Lock();
      }
    }
  }

  absl::Mutex mu_;
  absl::CondVar cv_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::multimap<absl::Time, std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// ---- One call in progress.

struct Client::Op {
  v1::Command command;
  // The slot that routes the command; empty for keyless commands.
  std::optional<uint32_t> slot;
  bool is_read = false;
  ReadPolicy read_policy = ReadPolicy::kPrimary;
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
  return client;
}

Client::Client(const ClientOptions& options)
    : options_(options),
      map_source_(options.map_source != nullptr
                      ? options.map_source
                      : std::make_shared<SeedMapSource>(options.seeds)),
      timer_(std::make_unique<Timer>()) {}

Client::~Client() {
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }
  // Pending retries run now and fail with CANCELLED.
  timer_->Stop();
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
  channel->Submit(
      op->command, op->deadline, route.replica,
      [this, op, address](const absl::Status& transport, v1::Reply* reply) {
        OnReply(op, address, transport, reply);
      });
  absl::MutexLock lock(&mu_);
  --active_dispatches_;
}

void Client::OnReply(std::shared_ptr<Op> op, const std::string& address,
                     const absl::Status& transport, v1::Reply* reply) {
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
  if (!timer_->RunAt(when, [this, op] { Dispatch(op); })) {
    Finish(op, absl::CancelledError("the slotcache client is shutting down"));
  }
}

void Client::Finish(const std::shared_ptr<Op>& op,
                    absl::StatusOr<v1::Value> result) {
  Callback<v1::Value> done = std::move(op->done);
  if (done) done(std::move(result));
}

// ---- Multi-key commands.

bool Client::ExecuteSplit(const v1::Command& command,
                          const CallOptions& options,
                          Callback<v1::Value> done) {
  const CommandSpec* spec = FindCommand(command.name());
  if (spec == nullptr || spec->split == SplitMerge::kNone) return false;
  // Each key travels with the key_step - 1 arguments after it (MSET's
  // value); the table guarantees the keys run from the first argument to
  // the last (command_table_test).
  const int step = spec->key_step;
  const KeyPositions keys = KeyPositionsOf(*spec, command.args_size());
  if (!HasValidArity(*spec, command) || command.args_size() % step != 0 ||
      keys.size() < 2) {
    return false;  // one key, or malformed: the node answers it.
  }
  const SplitMerge merge = spec->split;
  // Slot -> indices (of the key argument) in caller order.
  absl::btree_map<uint32_t, std::vector<int>> groups;
  for (int i = keys.first; i <= keys.last; i += step) {
    groups[KeySlot(command.args(i))].push_back(i);
  }
  if (groups.size() == 1) return false;

  struct Shared {
    absl::Mutex mu;
    int remaining;
    std::vector<std::vector<int>> indices;
    std::vector<absl::StatusOr<v1::Value>> results;
    Callback<v1::Value> done;
    SplitMerge merge;
    int keys;
  };
  auto shared = std::make_shared<Shared>();
  shared->remaining = static_cast<int>(groups.size());
  shared->merge = merge;
  shared->keys = keys.size();
  shared->done = std::move(done);
  std::vector<v1::Command> parts;
  for (auto& [slot, indices] : groups) {
    v1::Command part;
    part.set_name(command.name());
    for (int i : indices) {
      for (int j = 0; j < step; ++j) part.add_args(command.args(i + j));
    }
    parts.push_back(std::move(part));
    shared->indices.push_back(std::move(indices));
    shared->results.emplace_back(absl::UnknownError("not completed"));
  }
  for (size_t p = 0; p < parts.size(); ++p) {
    ExecuteSingle(
        parts[p], options, [shared, p, step](absl::StatusOr<v1::Value> result) {
          {
            absl::MutexLock lock(&shared->mu);
            shared->results[p] = std::move(result);
            if (--shared->remaining > 0) return;
          }
          // Every part is done: merge in caller order. The first failed part
          // fails the whole call (parts that succeeded stay applied: like a
          // Redis Cluster client, a split MSET/DEL is not atomic).
          v1::Value merged;
          std::vector<v1::Value> by_key(shared->keys);
          int64_t sum = 0;
          for (size_t i = 0; i < shared->results.size(); ++i) {
            absl::StatusOr<v1::Value>& r = shared->results[i];
            if (!r.ok()) {
              shared->done(r.status());
              return;
            }
            if (shared->merge == SplitMerge::kSum) {
              if (r->kind_case() != v1::Value::kInteger) {
                shared->done(UnexpectedReply("an integer", *r));
                return;
              }
              sum += r->integer();
            } else if (shared->merge == SplitMerge::kArray) {
              if (r->kind_case() != v1::Value::kArray ||
                  r->array().values_size() !=
                      static_cast<int>(shared->indices[i].size())) {
                shared->done(
                    UnexpectedReply("an array, one value per key", *r));
                return;
              }
              for (size_t k = 0; k < shared->indices[i].size(); ++k) {
                by_key[shared->indices[i][k] / step] =
                    std::move(*r->mutable_array()->mutable_values(k));
              }
            }
          }
          switch (shared->merge) {
            case SplitMerge::kSum:
              merged.set_integer(sum);
              break;
            case SplitMerge::kArray:
              for (v1::Value& v : by_key) {
                *merged.mutable_array()->add_values() = std::move(v);
              }
              break;
            case SplitMerge::kOk:
              merged.set_status("OK");
              break;
            case SplitMerge::kNone:
              break;  // Never split (see above).
          }
          shared->done(std::move(merged));
        });
  }
  return true;
}

// ---- Typed API.

absl::StatusOr<v1::Value> Client::Execute(const v1::Command& command,
                                          const CallOptions& options) {
  return RunFuture<v1::Value>(this, command, ParseValue, options).get();
}

std::future<absl::StatusOr<v1::Value>> Client::ExecuteAsync(
    const v1::Command& command, const CallOptions& options) {
  return RunFuture<v1::Value>(this, command, ParseValue, options);
}

absl::StatusOr<std::optional<std::string>> Client::Get(absl::string_view key) {
  return RunSync<std::optional<std::string>>(
      this, MakeCommand("GET", {std::string(key)}), ParseOptionalString);
}

void Client::GetAsync(absl::string_view key,
                      Callback<std::optional<std::string>> done) {
  ExecuteAsync(
      MakeCommand("GET", {std::string(key)}),
      Parsed<std::optional<std::string>>(ParseOptionalString, std::move(done)));
}

std::future<absl::StatusOr<std::optional<std::string>>> Client::GetAsync(
    absl::string_view key) {
  return RunFuture<std::optional<std::string>>(
      this, MakeCommand("GET", {std::string(key)}), ParseOptionalString);
}

absl::StatusOr<bool> Client::Set(absl::string_view key, absl::string_view value,
                                 const SetOptions& options) {
  return RunSync<bool>(this, SetCommand(key, value, options), ParseSetReply);
}

void Client::SetAsync(absl::string_view key, absl::string_view value,
                      const SetOptions& options, Callback<bool> done) {
  ExecuteAsync(SetCommand(key, value, options),
               Parsed<bool>(ParseSetReply, std::move(done)));
}

std::future<absl::StatusOr<bool>> Client::SetAsync(absl::string_view key,
                                                   absl::string_view value,
                                                   const SetOptions& options) {
  return RunFuture<bool>(this, SetCommand(key, value, options), ParseSetReply);
}

absl::StatusOr<int64_t> Client::Del(absl::string_view key) {
  return RunSync<int64_t>(this, MakeCommand("DEL", {std::string(key)}),
                          ParseInteger);
}

std::future<absl::StatusOr<int64_t>> Client::DelAsync(absl::string_view key) {
  return RunFuture<int64_t>(this, MakeCommand("DEL", {std::string(key)}),
                            ParseInteger);
}

absl::StatusOr<int64_t> Client::Del(const std::vector<std::string>& keys) {
  if (keys.empty()) return 0;
  return RunSync<int64_t>(this, MakeCommand("DEL", keys), ParseInteger);
}

absl::StatusOr<int64_t> Client::Exists(const std::vector<std::string>& keys) {
  if (keys.empty()) return 0;
  return RunSync<int64_t>(this, MakeCommand("EXISTS", keys), ParseInteger);
}

absl::StatusOr<bool> Client::Expire(absl::string_view key, absl::Duration ttl) {
  v1::Command command =
      IsWholeSeconds(ttl)
          ? MakeCommand("EXPIRE", {std::string(key), DurationSeconds(ttl)})
          : MakeCommand("PEXPIRE",
                        {std::string(key),
                         absl::StrCat(absl::ToInt64Milliseconds(ttl))});
  return RunSync<bool>(this, std::move(command), ParseIntegerAsBool);
}

absl::StatusOr<int64_t> Client::Ttl(absl::string_view key) {
  return RunSync<int64_t>(this, MakeCommand("TTL", {std::string(key)}),
                          ParseInteger);
}

absl::StatusOr<std::vector<std::optional<std::string>>> Client::MGet(
    const std::vector<std::string>& keys) {
  if (keys.empty()) return std::vector<std::optional<std::string>>();
  return RunSync<std::vector<std::optional<std::string>>>(
      this, MakeCommand("MGET", keys), ParseOptionalStrings);
}

absl::Status Client::MSet(
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  if (pairs.empty()) return absl::OkStatus();
  std::vector<std::string> args;
  args.reserve(2 * pairs.size());
  for (const auto& [key, value] : pairs) {
    args.push_back(key);
    args.push_back(value);
  }
  return RunSync<v1::Value>(this, MakeCommand("MSET", std::move(args)),
                            ParseValue)
      .status();
}

absl::StatusOr<int64_t> Client::Incr(absl::string_view key) {
  return RunSync<int64_t>(this, MakeCommand("INCR", {std::string(key)}),
                          ParseInteger);
}

absl::StatusOr<int64_t> Client::IncrBy(absl::string_view key, int64_t delta) {
  return RunSync<int64_t>(
      this, MakeCommand("INCRBY", {std::string(key), absl::StrCat(delta)}),
      ParseInteger);
}

std::future<absl::StatusOr<int64_t>> Client::IncrByAsync(absl::string_view key,
                                                         int64_t delta) {
  return RunFuture<int64_t>(
      this, MakeCommand("INCRBY", {std::string(key), absl::StrCat(delta)}),
      ParseInteger);
}

absl::StatusOr<int64_t> Client::DecrBy(absl::string_view key, int64_t delta) {
  return RunSync<int64_t>(
      this, MakeCommand("DECRBY", {std::string(key), absl::StrCat(delta)}),
      ParseInteger);
}

absl::StatusOr<double> Client::IncrByFloat(absl::string_view key,
                                           double delta) {
  return RunSync<double>(
      this, MakeCommand("INCRBYFLOAT", {std::string(key), absl::StrCat(delta)}),
      ParseDouble);
}

absl::StatusOr<int64_t> Client::HSet(absl::string_view key,
                                     absl::string_view field,
                                     absl::string_view value) {
  return RunSync<int64_t>(
      this,
      MakeCommand("HSET",
                  {std::string(key), std::string(field), std::string(value)}),
      ParseInteger);
}

absl::StatusOr<int64_t> Client::HSet(
    absl::string_view key,
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<std::string> args = {std::string(key)};
  for (const auto& [field, value] : fields) {
    args.push_back(field);
    args.push_back(value);
  }
  return RunSync<int64_t>(this, MakeCommand("HSET", std::move(args)),
                          ParseInteger);
}

absl::StatusOr<std::optional<std::string>> Client::HGet(
    absl::string_view key, absl::string_view field) {
  return RunSync<std::optional<std::string>>(
      this, MakeCommand("HGET", {std::string(key), std::string(field)}),
      ParseOptionalString);
}

std::future<absl::StatusOr<std::optional<std::string>>> Client::HGetAsync(
    absl::string_view key, absl::string_view field) {
  return RunFuture<std::optional<std::string>>(
      this, MakeCommand("HGET", {std::string(key), std::string(field)}),
      ParseOptionalString);
}

absl::StatusOr<std::vector<std::optional<std::string>>> Client::HMGet(
    absl::string_view key, const std::vector<std::string>& fields) {
  std::vector<std::string> args = {std::string(key)};
  args.insert(args.end(), fields.begin(), fields.end());
  return RunSync<std::vector<std::optional<std::string>>>(
      this, MakeCommand("HMGET", std::move(args)), ParseOptionalStrings);
}

absl::StatusOr<int64_t> Client::HDel(absl::string_view key,
                                     const std::vector<std::string>& fields) {
  std::vector<std::string> args = {std::string(key)};
  args.insert(args.end(), fields.begin(), fields.end());
  return RunSync<int64_t>(this, MakeCommand("HDEL", std::move(args)),
                          ParseInteger);
}

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> Client::HGetAll(
    absl::string_view key) {
  return RunSync<absl::flat_hash_map<std::string, std::string>>(
      this, MakeCommand("HGETALL", {std::string(key)}), ParseFieldMap);
}

absl::StatusOr<int64_t> Client::HIncrBy(absl::string_view key,
                                        absl::string_view field,
                                        int64_t delta) {
  return RunSync<int64_t>(
      this,
      MakeCommand("HINCRBY",
                  {std::string(key), std::string(field), absl::StrCat(delta)}),
      ParseInteger);
}

absl::StatusOr<int64_t> Client::HLen(absl::string_view key) {
  return RunSync<int64_t>(this, MakeCommand("HLEN", {std::string(key)}),
                          ParseInteger);
}

}  // namespace slotcache
