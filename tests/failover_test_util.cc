#include "tests/failover_test_util.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "client/sdk/coordinator_map_source.h"
#include "common/rpc.h"
#include "common/slot.h"
#include "proto/cache.grpc.pb.h"
#include "proto/replication.grpc.pb.h"
#include "tests/harness/process.h"

namespace slotcache::testing {
namespace {

// Writes wait this long for their replica ack before counting as unacked.
constexpr uint32_t kReplicaAckTimeoutMs = 1000;
constexpr absl::Duration kAttemptDeadline = AckedWriter::kAttemptDeadline;
// Pause after a failed attempt (a client's retry backoff, not a wait for a
// condition).
constexpr absl::Duration kRetryBackoff = absl::Milliseconds(5);
constexpr int kReadBatch = 500;

v1::Command Words(std::initializer_list<std::string> words) {
  v1::Command command;
  auto it = words.begin();
  command.set_name(*it++);
  for (; it != words.end(); ++it) command.add_args(*it);
  return command;
}

bool Owns(const v1::ShardInfo& shard, uint32_t slot) {
  for (const v1::SlotRange& r : shard.slots()) {
    if (slot >= r.start() && slot <= r.end()) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<v1::ExecuteResponse> ExecuteOn(const std::string& address,
                                              const v1::Command& command,
                                              const v1::RequestOptions& options,
                                              absl::Duration deadline) {
  auto stub = v1::CacheService::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(deadline));
  v1::ExecuteRequest request;
  *request.mutable_command() = command;
  *request.mutable_options() = options;
  v1::ExecuteResponse response;
  grpc::Status status = stub->Execute(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("Execute on ", address, ": ", status.error_message()));
  }
  return response;
}

absl::StatusOr<v1::DigestResponse> DigestOf(const std::string& address) {
  auto stub = v1::ReplicationService::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(5)));
  v1::DigestResponse response;
  grpc::Status status = stub->Digest(&context, v1::DigestRequest(), &response);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("Digest on ", address, ": ", status.error_message()));
  }
  return response;
}

std::string PrimaryOf(const v1::ClusterMap& map, const std::string& shard_id) {
  for (const v1::ShardInfo& shard : map.shards()) {
    if (shard.shard_id() == shard_id) return shard.primary_node_id();
  }
  return "";
}

namespace {

// The address of the primary owning `slot` in `map` ("" when none).
std::string SlotPrimary(const v1::ClusterMap& map, uint32_t slot) {
  for (const v1::ShardInfo& shard : map.shards()) {
    if (!Owns(shard, slot)) continue;
    for (const v1::NodeInfo& node : map.nodes()) {
      if (node.node_id() == shard.primary_node_id()) return node.address();
    }
  }
  return "";
}

}  // namespace

absl::Status WriteAcked(const TestCluster& cluster, const std::string& key,
                        const std::string& value, absl::Duration timeout) {
  v1::RequestOptions options;
  options.set_min_replica_acks(1);
  options.set_replica_ack_timeout_ms(kReplicaAckTimeoutMs);
  std::string last_error;
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<v1::ClusterMap> map = cluster.Describe();
    if (map.ok()) {
      absl::StatusOr<v1::ExecuteResponse> response =
          ExecuteOn(SlotPrimary(*map, KeySlot(key)), Words({"SET", key, value}),
                    options, kAttemptDeadline);
      if (response.ok() && !response->reply().has_error() &&
          response->replica_acks() >= 1) {
        return absl::OkStatus();
      }
      last_error = !response.ok() ? std::string(response.status().message())
                   : response->reply().has_error()
                       ? response->reply().error().message()
                       : "no replica ack";
    }
    absl::SleepFor(kRetryBackoff);
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "no replica acknowledged SET ", key, " within ",
      absl::FormatDuration(timeout), "; last error: ", last_error));
}

absl::StatusOr<int> CountMissing(
    const TestCluster& cluster,
    const std::vector<std::pair<std::string, std::string>>& expected) {
  absl::StatusOr<v1::ClusterMap> map = cluster.Describe();
  if (!map.ok()) return map.status();
  // One Batch of GETs per primary and chunk.
  std::map<std::string, std::vector<const std::pair<std::string, std::string>*>>
      by_primary;
  for (const auto& kv : expected) {
    by_primary[SlotPrimary(*map, KeySlot(kv.first))].push_back(&kv);
  }
  int missing = 0;
  for (const auto& [address, kvs] : by_primary) {
    auto stub = v1::CacheService::NewStub(MakeChannel(address));
    for (size_t i = 0; i < kvs.size(); i += kReadBatch) {
      const size_t end = std::min(kvs.size(), i + kReadBatch);
      v1::BatchRequest request;
      for (size_t k = i; k < end; ++k) {
        *request.add_commands() = Words({"GET", kvs[k]->first});
      }
      grpc::ClientContext context;
      context.set_deadline(DeadlineIn(absl::Seconds(10)));
      v1::BatchResponse response;
      grpc::Status status = stub->Batch(&context, request, &response);
      if (!status.ok() || response.replies_size() != request.commands_size()) {
        return absl::UnavailableError(absl::StrCat(
            "reading back from ", address, ": ", status.error_message()));
      }
      for (size_t k = i; k < end; ++k) {
        const v1::Reply& reply = response.replies(static_cast<int>(k - i));
        if (reply.has_error() || reply.value().bulk() != kvs[k]->second) {
          ++missing;
        }
      }
    }
  }
  return missing;
}

AckedWriter::~AckedWriter() { Stop(); }

absl::Status AckedWriter::Start() {
  absl::StatusOr<v1::ClusterMap> map = cluster_->Describe();
  if (!map.ok()) return map.status();
  ClientOptions options;
  options.map_source =
      std::make_shared<CoordinatorMapSource>(cluster_->coordinator_address());
  options.default_timeout = kAttemptDeadline;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  if (!client.ok()) return client.status();
  client_ = *std::move(client);
  absl::MutexLock lock(&mu_);
  for (const v1::ShardInfo& info : map->shards()) {
    Shard& shard = shards_.emplace_back();
    shard.shard_id = info.shard_id();
    for (int n = 0;; ++n) {
      std::string tag = absl::StrCat("w", n);
      if (Owns(info, KeySlot(tag))) {
        shard.tag = tag;
        break;
      }
    }
    shard.last_ack = absl::Now();
  }
  for (size_t i = 0; i < shards_.size(); ++i) {
    threads_.emplace_back([this, i] { Run(static_cast<int>(i)); });
  }
  return absl::OkStatus();
}

void AckedWriter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void AckedWriter::Run(int index) {
  std::string shard_id, tag;
  {
    absl::MutexLock lock(&mu_);
    shard_id = shards_[index].shard_id;
    tag = shards_[index].tag;
  }
  CallOptions options;
  options.timeout = kAttemptDeadline;
  options.min_replica_acks = 1;
  options.replica_ack_timeout = absl::Milliseconds(kReplicaAckTimeoutMs);
  for (uint64_t n = 0;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    const std::string key = absl::StrCat("{", tag, "}.", n);
    const std::string value = absl::StrCat("v", n);
    absl::StatusOr<v1::Value> reply =
        client_->Execute(MakeCommand("SET", {key, value}), options);
    absl::MutexLock lock(&mu_);
    Shard& shard = shards_[index];
    if (reply.ok()) {
      const absl::Time now = absl::Now();
      shard.stats.longest_gap =
          std::max(shard.stats.longest_gap, now - shard.last_ack);
      shard.last_ack = now;
      ++shard.stats.acked;
      shard.acked.emplace_back(key, value);
      ++n;
      continue;
    }
    ++shard.stats.errors;
    shard.stats.last_error = std::string(reply.status().message());
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), kRetryBackoff);
  }
}

ClientStats AckedWriter::SdkStats() const {
  return client_ == nullptr ? ClientStats{} : client_->stats();
}

AckedWriter::ShardStats AckedWriter::Stats(const std::string& shard_id) const {
  absl::MutexLock lock(&mu_);
  for (const Shard& shard : shards_) {
    if (shard.shard_id == shard_id) return shard.stats;
  }
  return {};
}

absl::Status AckedWriter::WaitForAcks(const std::string& shard_id,
                                      uint64_t acked,
                                      absl::Duration timeout) const {
  return PollUntil(
      [&] { return Stats(shard_id).acked >= acked; }, timeout,
      absl::StrCat(shard_id, " to have ", acked, " acknowledged writes"));
}

absl::StatusOr<int> AckedWriter::CountLost() const {
  std::vector<std::pair<std::string, std::string>> expected;
  {
    absl::MutexLock lock(&mu_);
    for (const Shard& shard : shards_) {
      expected.insert(expected.end(), shard.acked.begin(), shard.acked.end());
    }
  }
  return CountMissing(*cluster_, expected);
}

}  // namespace slotcache::testing
