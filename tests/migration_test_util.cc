#include "tests/migration_test_util.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "client/sdk/coordinator_map_source.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/slot.h"
#include "grpcpp/grpcpp.h"
#include "proto/admin.grpc.pb.h"
#include "proto/coordinator.grpc.pb.h"

namespace slotcache::testing {
namespace {

constexpr absl::Duration kRpcDeadline = absl::Seconds(10);

std::unique_ptr<v1::CoordinatorService::Stub> Coordinator(
    const TestCluster& cluster) {
  return v1::CoordinatorService::NewStub(
      MakeChannel(cluster.coordinator_address()));
}

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + kRpcDeadline));
}

absl::Status FromGrpc(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

bool Owns(const v1::ShardInfo& shard, uint32_t slot) {
  for (const v1::SlotRange& r : shard.slots()) {
    if (slot >= r.start() && slot <= r.end()) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<v1::Operation> MigrateSlots(const TestCluster& cluster,
                                           const v1::MigrateSlotsRequest& req) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::MigrateSlotsResponse response;
  if (absl::Status s = FromGrpc(
          Coordinator(cluster)->MigrateSlots(&context, req, &response),
          "MigrateSlots");
      !s.ok()) {
    return s;
  }
  return response.operation();
}

absl::StatusOr<v1::Operation> GetOperation(const TestCluster& cluster,
                                           const std::string& id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::GetOperationRequest request;
  request.set_operation_id(id);
  v1::Operation op;
  if (absl::Status s = FromGrpc(
          Coordinator(cluster)->GetOperation(&context, request, &op),
          "GetOperation");
      !s.ok()) {
    return s;
  }
  return op;
}

absl::StatusOr<v1::Operation> CancelOperation(const TestCluster& cluster,
                                              const std::string& id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::CancelOperationRequest request;
  request.set_operation_id(id);
  v1::Operation op;
  if (absl::Status s = FromGrpc(
          Coordinator(cluster)->CancelOperation(&context, request, &op),
          "CancelOperation");
      !s.ok()) {
    return s;
  }
  return op;
}

absl::StatusOr<v1::Operation> WaitOperation(
    const TestCluster& cluster, const std::string& id,
    const std::function<bool(const v1::Operation&)>& condition,
    const std::string& what, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last = absl::OkStatus();
  v1::Operation op;
  while (absl::Now() < deadline) {
    absl::StatusOr<v1::Operation> got = GetOperation(cluster, id);
    if (got.ok()) {
      op = *got;
      if (condition(op)) return op;
      if (op.state() != v1::Operation::RUNNING) {
        return absl::FailedPreconditionError(
            absl::StrCat(id, " finished before ", what, ": ",
                         v1::Operation::State_Name(op.state()), " ",
                         op.progress()));
      }
    } else {
      last = got.status();  // The coordinator may be restarting.
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("timed out waiting for ", what, " of ", id, " (step '",
                   op.migration().step(), "', ", op.progress(), "; ",
                   last.ToString(), ")"));
}

absl::StatusOr<v1::Operation> WaitOperationDone(const TestCluster& cluster,
                                                const std::string& id,
                                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last = absl::OkStatus();
  while (absl::Now() < deadline) {
    absl::StatusOr<v1::Operation> op = GetOperation(cluster, id);
    if (op.ok() && op->state() != v1::Operation::RUNNING) return op;
    if (!op.ok()) last = op.status();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      id, " still RUNNING after ", absl::FormatDuration(timeout), " (",
      last.ToString(), ")"));
}

std::vector<uint32_t> SlotsOf(const v1::ClusterMap& map,
                              const std::string& shard_id, uint32_t count) {
  std::vector<uint32_t> slots;
  for (const v1::ShardInfo& shard : map.shards()) {
    if (shard.shard_id() != shard_id) continue;
    for (const v1::SlotRange& r : shard.slots()) {
      for (uint32_t s = r.start(); s <= r.end(); ++s) slots.push_back(s);
    }
  }
  std::sort(slots.begin(), slots.end());
  if (slots.size() > count) slots.erase(slots.begin(), slots.end() - count);
  return slots;
}

std::string OwnerOf(const v1::ClusterMap& map, uint32_t slot) {
  for (const v1::ShardInfo& shard : map.shards()) {
    if (Owns(shard, slot)) return shard.shard_id();
  }
  return "";
}

absl::StatusOr<uint64_t> KeysInSlots(const std::string& address,
                                     const std::vector<uint32_t>& slots) {
  auto stub = v1::NodeAdminService::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::SlotStatsResponse response;
  if (absl::Status s =
          FromGrpc(stub->GetSlotStats(&context, {}, &response),
                   absl::StrCat("GetSlotStats on ", address));
      !s.ok()) {
    return s;
  }
  absl::flat_hash_set<uint32_t> wanted(slots.begin(), slots.end());
  uint64_t keys = 0;
  for (const auto& slot : response.slots()) {
    if (wanted.contains(slot.slot())) keys += slot.keys();
  }
  return keys;
}

absl::StatusOr<uint64_t> CheckSingleOwner(const TestCluster& cluster,
                                          const std::vector<uint32_t>& slots,
                                          absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string problem;
  while (true) {
    absl::StatusOr<v1::ClusterMap> map = cluster.Describe();
    if (!map.ok()) return map.status();
    problem.clear();
    // Exactly one owner per slot.
    std::vector<int> owners(kNumSlots, 0);
    for (const v1::ShardInfo& shard : map->shards()) {
      for (const v1::SlotRange& r : shard.slots()) {
        for (uint32_t s = r.start(); s <= r.end(); ++s) ++owners[s];
      }
    }
    for (uint32_t s = 0; s < kNumSlots; ++s) {
      if (owners[s] != 1) {
        return absl::InternalError(
            absl::StrCat("slot ", s, " has ", owners[s], " owners"));
      }
    }
    uint64_t on_owners = 0;
    for (const v1::NodeInfo& node : map->nodes()) {
      if (node.health() == v1::FAILED) continue;
      std::vector<uint32_t> owned, foreign;
      for (uint32_t s : slots) {
        (OwnerOf(*map, s) == node.shard_id() ? owned : foreign).push_back(s);
      }
      absl::StatusOr<uint64_t> stray = KeysInSlots(node.address(), foreign);
      if (!stray.ok()) {
        problem = stray.status().ToString();
        break;
      }
      if (*stray > 0) {
        problem = absl::StrCat(node.node_id(), " (", node.shard_id(),
                               ") still holds ", *stray,
                               " keys of slots it does not own");
        break;
      }
      if (node.role() == v1::PRIMARY) {
        absl::StatusOr<uint64_t> mine = KeysInSlots(node.address(), owned);
        if (!mine.ok()) {
          problem = mine.status().ToString();
          break;
        }
        on_owners += *mine;
      }
    }
    if (problem.empty()) return on_owners;
    if (absl::Now() > deadline) return absl::DeadlineExceededError(problem);
    absl::SleepFor(absl::Milliseconds(50));
  }
}

// ---- ModelWorkload ----

ModelWorkload::ModelWorkload(const TestCluster* cluster, Options options)
    : cluster_(cluster), options_(std::move(options)) {}

ModelWorkload::~ModelWorkload() { Abort(); }

std::string ModelWorkload::KeyName(int n) const {
  if (!options_.hash_tag.empty()) {
    return absl::StrCat("{", options_.hash_tag, "}", options_.prefix, n);
  }
  return absl::StrCat(options_.prefix, n);
}

absl::Status ModelWorkload::Start() {
  ClientOptions options;
  options.map_source =
      std::make_shared<CoordinatorMapSource>(cluster_->coordinator_address());
  // Long enough to ride through a failover (the SDK retries within it).
  options.default_timeout = absl::Seconds(10);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  if (!client.ok()) return client.status();
  client_ = *std::move(client);
  model_.assign(options_.keys, Key());
  for (int t = 0; t < options_.threads; ++t) {
    threads_.emplace_back([this, t] { Run(t); });
  }
  return absl::OkStatus();
}

void ModelWorkload::Run(int thread) {
  uint64_t round = 0;
  while (!stop_.load()) {
    for (int n = thread; n < options_.keys && !stop_.load();
         n += options_.threads) {
      if (options_.writes > 0 && acked_.load() >= options_.writes) {
        stop_.store(true);
        break;
      }
      Key& key = model_[n];
      if (key.unknown) continue;
      const std::string name = KeyName(n);
      absl::Status status;
      switch (n % 3) {
        case 0: {  // APPEND: order and duplicates show in the text.
          const std::string piece = absl::StrCat(round, ",");
          v1::Command command;
          command.set_name("APPEND");
          command.add_args(name);
          command.add_args(piece);
          absl::StatusOr<v1::Value> reply = client_->Execute(command);
          status = reply.status();
          if (status.ok()) key.text += piece;
          break;
        }
        case 1: {  // INCRBY.
          const int64_t delta = static_cast<int64_t>(round % 7) + 1;
          absl::StatusOr<int64_t> reply = client_->IncrBy(name, delta);
          status = reply.status();
          if (status.ok()) key.sum += delta;
          break;
        }
        default: {  // HSET of a new field each round.
          absl::StatusOr<int64_t> reply =
              client_->HSet(name, absl::StrCat("f", round), "v");
          status = reply.status();
          if (status.ok()) ++key.fields;
          break;
        }
      }
      if (status.ok()) {
        acked_.fetch_add(1);
        continue;
      }
      key.unknown = true;
      absl::MutexLock lock(&mu_);
      if (errors_++ == 0) {
        first_error_ = absl::StrCat(name, ": ", status.ToString());
      }
    }
    ++round;
  }
}

absl::Status ModelWorkload::WaitForWrites(uint64_t writes,
                                          absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (acked_.load() < writes) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("only ", acked_.load(), " of ", writes,
                       " writes acknowledged; errors: ", errors(), " (",
                       first_error(), ")"));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::OkStatus();
}

void ModelWorkload::Stop() {
  if (options_.writes == 0) stop_.store(true);
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void ModelWorkload::Abort() {
  stop_.store(true);
  Stop();
}

uint64_t ModelWorkload::errors() const {
  absl::MutexLock lock(&mu_);
  return errors_;
}

std::string ModelWorkload::first_error() const {
  absl::MutexLock lock(&mu_);
  return first_error_;
}

absl::StatusOr<int> ModelWorkload::CountMismatches(
    uint64_t* keys_checked) const {
  int mismatches = 0;
  *keys_checked = 0;
  for (int n = 0; n < options_.keys; ++n) {
    const Key& key = model_[n];
    if (key.unknown) continue;
    const std::string name = KeyName(n);
    std::string got, want;
    switch (n % 3) {
      case 0: {
        absl::StatusOr<std::optional<std::string>> v = client_->Get(name);
        if (!v.ok()) return v.status();
        got = v->value_or("<nil>");
        want = key.text.empty() ? "<nil>" : key.text;
        break;
      }
      case 1: {
        absl::StatusOr<std::optional<std::string>> v = client_->Get(name);
        if (!v.ok()) return v.status();
        got = v->value_or("<nil>");
        want = key.sum == 0 ? "<nil>" : absl::StrCat(key.sum);
        break;
      }
      default: {
        absl::StatusOr<int64_t> v = client_->HLen(name);
        if (!v.ok()) return v.status();
        got = absl::StrCat(*v);
        want = absl::StrCat(key.fields);
        break;
      }
    }
    ++*keys_checked;
    if (got != want) {
      if (++mismatches <= 5) {
        SC_LOG(ERROR, "key %s (slot %d): want '%s', got '%s'", name,
               KeySlot(name), want.substr(0, 200), got.substr(0, 200));
      }
    }
  }
  return mismatches;
}

}  // namespace slotcache::testing
