#include "client/sdk/node_channel.h"

#include <algorithm>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/status.h"
#include "grpcpp/client_context.h"

namespace slotcache {

namespace {
struct QueueKeeper {
  std::shared_ptr<grpc::Channel> channel = MakeChannel("127.0.0.1:1");
  std::unique_ptr<v1::CacheService::Stub> stub =
      v1::CacheService::NewStub(channel);
  grpc::ClientContext context;
  v1::GetClusterMapRequest request;
  v1::ClusterMap response;
};
// Never deleted, on purpose; a global so that LeakSanitizer sees it as
// reachable rather than leaked.
QueueKeeper* queue_keeper = nullptr;

std::vector<std::unique_ptr<v1::CacheService::Stub>> MakeStubs(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels) {
  std::vector<std::unique_ptr<v1::CacheService::Stub>> stubs;
  for (const auto& channel : channels) {
    stubs.push_back(v1::CacheService::NewStub(channel));
  }
  return stubs;
}
}  // namespace

// gRPC 1.51 runs client callbacks on a process-wide "alternative" completion
// queue that it creates when the first channel makes a callback call and
// tears down (threads and all) when the last such channel is destroyed.
// Tearing it down while another channel starts using it races inside gRPC
// and crashes its polling thread (seen when clients come and go, as in
// tests). Keeping one channel that has made a callback call alive for the
// whole process keeps the queue up; it costs one idle channel.
void KeepCallbackQueueAlive() {
  static absl::once_flag once;
  absl::call_once(once, [] {
    queue_keeper = new QueueKeeper;
    // Already past its deadline: fails at once without connecting.
    queue_keeper->context.set_deadline(std::chrono::system_clock::now());
    queue_keeper->stub->async()->GetClusterMap(
        &queue_keeper->context, &queue_keeper->request, &queue_keeper->response,
        [](grpc::Status) {});
  });
}

struct NodeChannel::Call {
  grpc::ClientContext context;
  v1::BatchRequest request;
  v1::BatchResponse response;
  std::vector<Item> items;
};

NodeChannel::NodeChannel(
    std::string address,
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const BatchingOptions& options, StatsCounters* stats)
    : address_(std::move(address)),
      stubs_(MakeStubs(channels)),
      options_(options),
      stats_(stats) {
  KeepCallbackQueueAlive();
}

NodeChannel::~NodeChannel() {
  absl::MutexLock lock(&mu_);
  // Queued commands are sent by the completing batches, so waiting for
  // outstanding_ to drop to zero also drains the queue.
  mu_.Await(absl::Condition(
      +[](int* outstanding) { return *outstanding == 0; }, &outstanding_));
}

void NodeChannel::Submit(v1::Command command, absl::Time deadline,
                         bool replica_read, AckRequirement acks, Done done) {
  std::vector<Item> batch;
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back(Item{std::move(command), deadline, replica_read, acks,
                          std::move(done)});
    if (outstanding_ >= std::max(1, options_.max_outstanding_batches)) return;
    ++outstanding_;
    batch = TakeBatchLocked();
  }
  Send(std::move(batch));
}

std::vector<NodeChannel::Item> NodeChannel::TakeBatchLocked() {
  const size_t limit =
      std::min<size_t>(queue_.size(), std::max(1, options_.max_batch_size));
  std::vector<Item> batch;
  batch.reserve(limit);
  // Only the head's run: commands behind one with another requirement wait
  // for the next batch, so each caller's commands stay in submission order.
  const AckRequirement acks = queue_.front().acks;
  while (batch.size() < limit && queue_.front().acks == acks) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return batch;
}

void NodeChannel::Send(std::vector<Item> batch) {
  auto* call = new Call;
  absl::Time deadline = absl::InfinitePast();
  bool replica_read = false;
  for (Item& item : batch) {
    deadline = std::max(deadline, item.deadline);
    replica_read = replica_read || item.replica_read;
    *call->request.add_commands() = item.command;
  }
  // Reads for a replica and commands for a primary share a batch only when
  // the map said this node is both, which cannot happen; the option is
  // harmless on a primary.
  call->request.mutable_options()->set_allow_replica_read(replica_read);
  // TakeBatchLocked gave every item the same requirement.
  const AckRequirement acks = batch.front().acks;
  if (acks.min_replica_acks > 0) {
    call->request.mutable_options()->set_min_replica_acks(
        acks.min_replica_acks);
    call->request.mutable_options()->set_replica_ack_timeout_ms(
        acks.timeout_ms);
  }
  call->items = std::move(batch);
  call->context.set_deadline(absl::ToChronoTime(deadline));
  StatsCounters::Add(stats_->rpcs_sent);
  StatsCounters::Add(stats_->commands_sent, call->items.size());
  v1::CacheService::Stub* stub =
      stubs_[next_stub_.fetch_add(1, std::memory_order_relaxed) % stubs_.size()]
          .get();
  stub->async()->Batch(
      &call->context, &call->request, &call->response,
      [this, call](grpc::Status status) { OnBatchDone(call, status); });
}

void NodeChannel::OnBatchDone(Call* call, const grpc::Status& grpc_status) {
  absl::Status status = FromGrpcStatus(grpc_status);
  if (status.ok() &&
      call->response.replies_size() != static_cast<int>(call->items.size())) {
    status = MakeError(
        v1::INTERNAL,
        absl::StrCat("node ", address_, " answered a batch of ",
                     call->items.size(), " commands with ",
                     call->response.replies_size(),
                     " replies; this is a node bug, please report it"));
  }
  for (size_t i = 0; i < call->items.size(); ++i) {
    if (status.ok()) {
      call->items[i].done(status, call->response.mutable_replies(i),
                          call->response.replica_acks());
    } else {
      call->items[i].done(status, nullptr, 0);
    }
  }
  std::vector<Item> next;
  {
    absl::MutexLock lock(&mu_);
    if (queue_.empty()) {
      --outstanding_;
    } else {
      next = TakeBatchLocked();
    }
  }
  delete call;
  if (!next.empty()) Send(std::move(next));
}

}  // namespace slotcache
