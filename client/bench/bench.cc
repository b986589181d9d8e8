#include "client/bench/bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "client/sdk/client.h"
#include "client/sdk/node_channel.h"
#include "common/rpc.h"
#include "common/status.h"
#include "grpcpp/client_context.h"
#include "proto/cache.grpc.pb.h"

namespace slotcache::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

// What every lane shares: the work counter, the stop condition, tallies.
class Shared {
 public:
  Shared(const BenchConfig& config, int lanes)
      : config_(config),
        value_(std::max(0, config.value_size), 'x'),
        active_lanes_(lanes) {}

  const BenchConfig& config() const { return config_; }
  const std::string& value() const { return value_; }

  void StartClock() {
    start_ = absl::Now();
    end_ = config_.duration > absl::ZeroDuration() ? start_ + config_.duration
                                                   : absl::InfiniteFuture();
  }
  absl::Time start() const { return start_; }

  // Claims up to `n` commands of work; 0 means the run is over.
  int Claim(int n) {
    if (config_.duration > absl::ZeroDuration()) {
      return absl::Now() < end_ ? n : 0;
    }
    const int64_t before = claimed_.fetch_add(n);
    if (before >= config_.requests) return 0;
    return static_cast<int>(std::min<int64_t>(n, config_.requests - before));
  }

  void CountCommand(bool set) { (set ? sets_ : gets_).fetch_add(1); }
  void CountError(absl::string_view message) {
    if (errors_.fetch_add(1) == 0) {
      absl::MutexLock lock(&mu_);
      first_error_ = std::string(message);
    }
  }

  void LaneDone() {
    absl::MutexLock lock(&mu_);
    --active_lanes_;
  }
  void WaitForLanes() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* active) { return *active == 0; }, &active_lanes_));
  }

  int64_t sets() const { return sets_.load(); }
  int64_t gets() const { return gets_.load(); }
  int64_t errors() const { return errors_.load(); }
  std::string first_error() {
    absl::MutexLock lock(&mu_);
    return first_error_;
  }

 private:
  const BenchConfig& config_;
  const std::string value_;
  absl::Time start_;
  absl::Time end_;
  std::atomic<int64_t> claimed_{0};
  std::atomic<int64_t> sets_{0};
  std::atomic<int64_t> gets_{0};
  std::atomic<int64_t> errors_{0};
  absl::Mutex mu_;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
  int active_lanes_ ABSL_GUARDED_BY(mu_);
};

// One stream of requests, one at a time. Subclasses issue the request;
// completions run on gRPC threads, one at a time per lane.
class Lane {
 public:
  Lane(Shared* shared, uint64_t seed) : shared_(shared), rng_(seed) {}
  virtual ~Lane() = default;
  virtual void Start() = 0;
  std::vector<uint32_t>& latencies_us() { return latencies_us_; }

 protected:
  void FillCommand(v1::Command* command) {
    const BenchConfig& config = shared_->config();
    const int total = config.set_weight + config.get_weight;
    const bool set = static_cast<int>(rng_() % static_cast<uint64_t>(total)) <
                     config.set_weight;
    const uint64_t n = rng_() % static_cast<uint64_t>(config.keyspace);
    command->clear_args();
    command->set_name(set ? "SET" : "GET");
    command->add_args(absl::StrFormat("key:%012d", n));
    if (set) command->add_args(shared_->value());
    shared_->CountCommand(set);
  }

  void BeginRequest() { begin_ = SteadyClock::now(); }
  void EndRequest() {
    latencies_us_.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(
            SteadyClock::now() - begin_)
            .count()));
  }
  void CheckReply(const v1::Reply& reply) {
    if (reply.has_error()) shared_->CountError(reply.error().message());
  }
  std::chrono::system_clock::time_point Deadline() const {
    return DeadlineIn(shared_->config().timeout);
  }

  Shared* const shared_;
  std::mt19937_64 rng_;
  SteadyClock::time_point begin_;
  std::vector<uint32_t> latencies_us_;
};

class UnaryLane : public Lane {
 public:
  UnaryLane(Shared* shared, uint64_t seed, v1::CacheService::Stub* stub)
      : Lane(shared, seed), stub_(stub) {}

  void Start() override {
    if (shared_->Claim(1) == 0) {
      shared_->LaneDone();
      return;
    }
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(Deadline());
    FillCommand(request_.mutable_command());
    BeginRequest();
    stub_->async()->Execute(context_.get(), &request_, &response_,
                            [this](grpc::Status status) {
                              EndRequest();
                              if (!status.ok()) {
                                shared_->CountError(status.error_message());
                              } else {
                                CheckReply(response_.reply());
                              }
                              Start();
                            });
  }

 private:
  v1::CacheService::Stub* const stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::ExecuteRequest request_;
  v1::ExecuteResponse response_;
};

class BatchLane : public Lane {
 public:
  BatchLane(Shared* shared, uint64_t seed, v1::CacheService::Stub* stub)
      : Lane(shared, seed), stub_(stub) {}

  void Start() override {
    const int n = shared_->Claim(shared_->config().pipeline);
    if (n == 0) {
      shared_->LaneDone();
      return;
    }
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(Deadline());
    request_.clear_commands();
    for (int i = 0; i < n; ++i) FillCommand(request_.add_commands());
    BeginRequest();
    stub_->async()->Batch(context_.get(), &request_, &response_,
                          [this, n](grpc::Status status) {
                            EndRequest();
                            if (!status.ok()) {
                              for (int i = 0; i < n; ++i) {
                                shared_->CountError(status.error_message());
                              }
                            } else {
                              for (const v1::Reply& r : response_.replies()) {
                                CheckReply(r);
                              }
                            }
                            Start();
                          });
  }

 private:
  v1::CacheService::Stub* const stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::BatchRequest request_;
  v1::BatchResponse response_;
};

// One Pipeline stream; a new batch is written once the previous batch's
// write and reply have both completed (one write in flight at a time, as
// gRPC requires).
class PipelineLane
    : public Lane,
      public grpc::ClientBidiReactor<v1::BatchRequest, v1::BatchResponse> {
 public:
  PipelineLane(Shared* shared, uint64_t seed, v1::CacheService::Stub* stub)
      : Lane(shared, seed), stub_(stub) {}

  void Start() override {
    stub_->async()->Pipeline(&context_, this);
    if (!WriteNext()) {
      StartWritesDone();
    }
    StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return;  // OnDone reports the stream's status.
    StepDone();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    EndRequest();
    for (const v1::Reply& r : response_.replies()) CheckReply(r);
    StepDone();
  }
  void OnDone(const grpc::Status& status) override {
    if (!status.ok()) shared_->CountError(status.error_message());
    shared_->LaneDone();
  }

 private:
  // False when there is no more work.
  bool WriteNext() {
    const int n = shared_->Claim(shared_->config().pipeline);
    if (n == 0) return false;
    request_.clear_commands();
    request_.set_id(++id_);
    for (int i = 0; i < n; ++i) FillCommand(request_.add_commands());
    pending_.store(2);
    BeginRequest();
    StartRead(&response_);
    StartWrite(&request_);
    return true;
  }
  void StepDone() {
    if (pending_.fetch_sub(1) != 1) return;
    if (!WriteNext()) StartWritesDone();
  }

  v1::CacheService::Stub* const stub_;
  grpc::ClientContext context_;
  v1::BatchRequest request_;
  v1::BatchResponse response_;
  uint64_t id_ = 0;
  std::atomic<int> pending_{0};
};

class SdkLane : public Lane {
 public:
  SdkLane(Shared* shared, uint64_t seed, Client* client)
      : Lane(shared, seed), client_(client) {}

  void Start() override {
    if (shared_->Claim(1) == 0) {
      shared_->LaneDone();
      return;
    }
    FillCommand(&command_);
    BeginRequest();
    client_->ExecuteAsync(command_, [this](absl::StatusOr<v1::Value> value) {
      EndRequest();
      if (!value.ok()) shared_->CountError(value.status().message());
      Start();
    });
  }

 private:
  Client* const client_;
  v1::Command command_;
};

double PercentileMs(std::vector<uint32_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(q * (sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)] / 1000.0;
}

}  // namespace

absl::StatusOr<Mode> ParseMode(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "unary") return Mode::kUnary;
  if (lower == "batch") return Mode::kBatch;
  if (lower == "pipeline") return Mode::kPipeline;
  if (lower == "sdk") return Mode::kSdk;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown --mode '", text, "'; use unary, batch, pipeline or sdk"));
}

std::string ModeName(Mode mode) {
  switch (mode) {
    case Mode::kUnary:
      return "unary";
    case Mode::kBatch:
      return "batch";
    case Mode::kPipeline:
      return "pipeline";
    case Mode::kSdk:
      return "sdk";
  }
  return "?";
}

absl::Status ParseRatio(absl::string_view text, int* set_weight,
                        int* get_weight) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  int s = 0, g = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &s) ||
      !absl::SimpleAtoi(parts[1], &g) || s < 0 || g < 0 || s + g == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--ratio '", text,
        "' is not SET:GET with non-negative weights, e.g. 1:0, 0:1 or 1:10"));
  }
  *set_weight = s;
  *get_weight = g;
  return absl::OkStatus();
}

absl::StatusOr<BenchResult> RunBench(const BenchConfig& config) {
  if (config.seeds.empty()) {
    return absl::InvalidArgumentError("--seeds is empty: give a node address");
  }
  if (config.clients < 1 || config.pipeline < 1 || config.keyspace < 1 ||
      config.value_size < 0 ||
      (config.requests < 1 && config.duration <= absl::ZeroDuration())) {
    return absl::InvalidArgumentError(
        "--clients, --pipeline, --keyspace and --requests (or --duration) "
        "must be positive");
  }
  KeepCallbackQueueAlive();
  const bool per_call_lanes =
      config.mode == Mode::kUnary || config.mode == Mode::kSdk;
  const int lanes_per_client = per_call_lanes ? config.pipeline : 1;
  const int lane_count = config.clients * lanes_per_client;

  // Connections for the raw modes: each its own TCP connection.
  const int connections = config.connections > 0
                              ? std::min(config.connections, config.clients)
                              : config.clients;
  std::vector<std::unique_ptr<v1::CacheService::Stub>> stubs;
  std::unique_ptr<Client> client;
  if (config.mode == Mode::kSdk) {
    ClientOptions options;
    options.seeds = config.seeds;
    options.default_timeout = config.timeout;
    if (config.connections > 0) {
      options.batching.connections_per_node = config.connections;
    }
    absl::StatusOr<std::unique_ptr<Client>> connected =
        Client::Connect(options);
    if (!connected.ok()) return connected.status();
    client = std::move(*connected);
  } else {
    ChannelOptions channel_options;
    channel_options.own_connection = true;
    for (int i = 0; i < connections; ++i) {
      stubs.push_back(v1::CacheService::NewStub(
          MakeChannel(config.seeds[0], channel_options)));
    }
    // Connect every channel before the clock starts.
    for (auto& stub : stubs) {
      grpc::ClientContext context;
      context.set_deadline(DeadlineIn(config.timeout));
      v1::ClusterMap map;
      grpc::Status status =
          stub->GetClusterMap(&context, v1::GetClusterMapRequest(), &map);
      if (!status.ok()) {
        return absl::UnavailableError(
            absl::StrCat("cannot reach ", config.seeds[0], ": ",
                         status.error_message(), "; is the node running?"));
      }
    }
  }

  Shared shared(config, lane_count);
  std::vector<std::unique_ptr<Lane>> lanes;
  for (int i = 0; i < lane_count; ++i) {
    const int client_index = i / lanes_per_client;
    v1::CacheService::Stub* stub =
        stubs.empty() ? nullptr : stubs[client_index % connections].get();
    const uint64_t seed = 0x5107cac4e + i;
    switch (config.mode) {
      case Mode::kUnary:
        lanes.push_back(std::make_unique<UnaryLane>(&shared, seed, stub));
        break;
      case Mode::kBatch:
        lanes.push_back(std::make_unique<BatchLane>(&shared, seed, stub));
        break;
      case Mode::kPipeline:
        lanes.push_back(std::make_unique<PipelineLane>(&shared, seed, stub));
        break;
      case Mode::kSdk:
        lanes.push_back(std::make_unique<SdkLane>(&shared, seed, client.get()));
        break;
    }
  }
  shared.StartClock();
  for (auto& lane : lanes) lane->Start();
  shared.WaitForLanes();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - shared.start());

  std::vector<uint32_t> all;
  for (auto& lane : lanes) {
    all.insert(all.end(), lane->latencies_us().begin(),
               lane->latencies_us().end());
  }
  std::sort(all.begin(), all.end());
  BenchResult result;
  result.mode = ModeName(config.mode);
  result.sets = shared.sets();
  result.gets = shared.gets();
  result.commands = result.sets + result.gets;
  result.errors = shared.errors();
  result.first_error = shared.first_error();
  result.seconds = seconds;
  result.ops_per_sec = seconds > 0 ? result.commands / seconds : 0;
  result.p50_ms = PercentileMs(all, 0.50);
  result.p99_ms = PercentileMs(all, 0.99);
  result.p999_ms = PercentileMs(all, 0.999);
  result.max_ms = all.empty() ? 0 : all.back() / 1000.0;
  return result;
}

std::string FormatText(const BenchConfig& config, const BenchResult& r) {
  std::string out = absl::StrFormat(
      "slotcache-bench mode=%s clients=%d pipeline=%d value_size=%d "
      "keyspace=%d ratio=%d:%d\n"
      "  %d commands (%d SET, %d GET) in %.2f s, %d errors\n"
      "  throughput: %.0f ops/s\n"
      "  latency per request: p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, "
      "max %.3f ms\n",
      r.mode, config.clients, config.pipeline, config.value_size,
      config.keyspace, config.set_weight, config.get_weight, r.commands, r.sets,
      r.gets, r.seconds, r.errors, r.ops_per_sec, r.p50_ms, r.p99_ms, r.p999_ms,
      r.max_ms);
  if (r.errors > 0)
    absl::StrAppend(&out, "  first error: ", r.first_error, "\n");
  return out;
}

std::string FormatJson(const BenchConfig& config, const BenchResult& r) {
  std::string error;
  for (char c : r.first_error) {
    if (c == '"' || c == '\\') error.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) error.push_back(c);
  }
  return absl::StrFormat(
      "{\"mode\":\"%s\",\"clients\":%d,\"pipeline\":%d,\"value_size\":%d,"
      "\"keyspace\":%d,\"set_weight\":%d,\"get_weight\":%d,"
      "\"commands\":%d,\"sets\":%d,\"gets\":%d,\"errors\":%d,"
      "\"first_error\":\"%s\",\"seconds\":%.3f,\"ops_per_sec\":%.1f,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
      r.mode, config.clients, config.pipeline, config.value_size,
      config.keyspace, config.set_weight, config.get_weight, r.commands, r.sets,
      r.gets, r.errors, error, r.seconds, r.ops_per_sec, r.p50_ms, r.p99_ms,
      r.p999_ms, r.max_ms);
}

}  // namespace slotcache::bench
