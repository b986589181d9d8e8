#include "node/server/cache_service.h"

#include <deque>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "google/protobuf/arena.h"
#include "grpcpp/support/message_allocator.h"

namespace slotcache::node {
namespace {

// How many answered batches a Pipeline stream may hold while the client
// is not reading them. Past this the stream stops reading requests until
// the client catches up, so a client that only writes cannot make the
// node buffer without bound (gRPC flow control then pushes back on it).
constexpr size_t kMaxQueuedResponses = 64;

// Spare BatchResponse objects a stream keeps for reuse: a cleared protobuf
// keeps its allocated replies, so steady pipelining allocates ~nothing.
constexpr size_t kMaxPooledResponses = 8;

// min_replica_acks without replica_ack_timeout_ms waits this long.
constexpr absl::Duration kDefaultAckTimeout = absl::Seconds(1);

void WaitForReplicaAcks(ReplicaAckWaiter* acks,
                        const v1::RequestOptions& options,
                        std::function<void(int)> done) {
  const absl::Duration timeout =
      options.replica_ack_timeout_ms() > 0
          ? absl::Milliseconds(options.replica_ack_timeout_ms())
          : kDefaultAckTimeout;
  acks->WaitForReplicas(static_cast<int>(options.min_replica_acks()), timeout,
                        std::move(done));
}

// One Pipeline stream. Reads one BatchRequest at a time, runs it inline,
// queues the response and starts the next read at once, so reading,
// executing and writing overlap; writes go out one at a time in request
// order (gRPC allows one outstanding write per stream). A batch with
// min_replica_acks waits in the queue until its replicas acknowledged (or
// the timeout passed); responses behind it wait too, keeping the order.
//
// Thread-safety: gRPC may run OnReadDone and OnWriteDone concurrently on
// different threads, and replica acknowledgements arrive on another one;
// mu_ guards the queue and the stream's life cycle. request_ is touched
// only by the read side (one read in flight at most).
class PipelineReactor final
    : public grpc::ServerBidiReactor<v1::BatchRequest, v1::BatchResponse> {
 public:
  explicit PipelineReactor(const CacheServiceImpl* service)
      : service_(service) {
    absl::MutexLock lock(&mu_);
    read_in_flight_ = true;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // The client half-closed, or the call is cancelled/broken.
      absl::MutexLock lock(&mu_);
      read_in_flight_ = false;
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    std::unique_ptr<v1::BatchResponse> response = TakeSpareResponse();
    absl::Status status = service_->RunBatch(request_, response.get());
    const bool wait_for_acks = status.ok() && service_->acks() != nullptr &&
                               request_.options().min_replica_acks() > 0;
    // Copied only when needed: request_ is reused by the next read.
    v1::RequestOptions options;
    if (wait_for_acks) options = request_.options();
    v1::BatchResponse* const queued = response.get();
    {
      absl::MutexLock lock(&mu_);
      read_in_flight_ = false;
      if (!status.ok()) {
        // Refused as a whole: answer what came before, then end the stream.
        reads_done_ = true;
        finish_status_ = ToGrpcStatus(status);
        MaybeFinishLocked();
        return;
      }
      if (write_failed_) {
        reads_done_ = true;
        MaybeFinishLocked();
        return;
      }
      queue_.push_back(Queued{std::move(response), !wait_for_acks});
      if (wait_for_acks) ++pending_acks_;  // Holds off Finish.
      MaybeWriteLocked();
      MaybeReadLocked();
    }
    // Outside the lock: the waiter may call back at once.
    if (wait_for_acks) {
      WaitForReplicaAcks(service_->acks(), options, [this, queued](int acked) {
        OnReplicaAcks(queued, acked);
      });
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    ReturnSpareResponseLocked(std::move(queue_.front().response));
    queue_.pop_front();
    if (!ok) {
      // The stream is broken (client gone); drop what is queued. A read in
      // flight will fail and finish the stream; if none is, finish now.
      write_failed_ = true;
      queue_.clear();
      if (!read_in_flight_) reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    MaybeWriteLocked();
    MaybeReadLocked();
    MaybeFinishLocked();
  }

  void OnDone() override { delete this; }

 private:
  struct Queued {
    std::unique_ptr<v1::BatchResponse> response;
    bool ready;  // False while waiting for replica acknowledgements.
  };

  // Runs on the ack waiter's thread, outside any gRPC reaction: gRPC may
  // run OnDone (and delete this) as soon as Finish is called, so Finish is
  // the last thing done here, after the lock is released.
  void OnReplicaAcks(v1::BatchResponse* response, int acked) {
    grpc::Status finish_with;
    {
      absl::MutexLock lock(&mu_);
      --pending_acks_;
      // The response is gone if the stream broke meanwhile.
      for (Queued& q : queue_) {
        if (q.response.get() == response) {
          response->set_replica_acks(acked);
          q.ready = true;
          break;
        }
      }
      MaybeWriteLocked();
      MaybeReadLocked();
      if (!ReadyToFinishLocked()) return;
      finished_ = true;
      finish_with = finish_status_;
    }
    Finish(finish_with);
  }

  std::unique_ptr<v1::BatchResponse> TakeSpareResponse() {
    {
      absl::MutexLock lock(&mu_);
      if (!spare_.empty()) {
        std::unique_ptr<v1::BatchResponse> response = std::move(spare_.back());
        spare_.pop_back();
        return response;
      }
    }
    return std::make_unique<v1::BatchResponse>();
  }

  void ReturnSpareResponseLocked(std::unique_ptr<v1::BatchResponse> response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (spare_.size() >= kMaxPooledResponses) return;
    response->Clear();
    spare_.push_back(std::move(response));
  }

  // Writes the oldest queued response when it is ready and no write is in
  // flight. No buffer hint: gRPC holds a hinted write, and its OnWriteDone,
  // until a later write flushes it, and the next write waits for that
  // OnWriteDone (a stream stalled that way when the client had sent
  // everything and only waited for answers).
  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (write_in_flight_ || queue_.empty() || !queue_.front().ready) return;
    write_in_flight_ = true;
    StartWrite(queue_.front().response.get());
  }

  // Starts the next read unless the stream is ending or too far ahead of
  // its client.
  void MaybeReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (read_in_flight_ || reads_done_ || write_failed_ ||
        queue_.size() >= kMaxQueuedResponses) {
      return;
    }
    read_in_flight_ = true;
    StartRead(&request_);
  }

  // No more requests will come, every response is out and no
  // acknowledgement is outstanding.
  bool ReadyToFinishLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !finished_ && reads_done_ && !read_in_flight_ && !write_in_flight_ &&
           queue_.empty() && pending_acks_ == 0;
  }

  // For gRPC reactions only (gRPC runs OnDone after they return).
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!ReadyToFinishLocked()) return;
    finished_ = true;
    Finish(finish_status_);
  }

  // Constant after construction.
  const CacheServiceImpl* const service_;

  // Read side only: filled by gRPC, consumed in OnReadDone.
  v1::BatchRequest request_;

  absl::Mutex mu_;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<v1::BatchResponse>> spare_ ABSL_GUARDED_BY(mu_);
  int pending_acks_ ABSL_GUARDED_BY(mu_) = 0;
  bool read_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool write_failed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
};

// Puts a unary call's request and response, with every sub-message and
// string gRPC parses into them and the dispatcher writes into them, on one
// protobuf Arena whose first block lives inside the holder: a typical
// Execute or Batch costs one heap allocation instead of a few per command.
template <typename Request, typename Response>
class ArenaMessageAllocator final
    : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override {
    return new Holder();
  }

 private:
  // Enough for a small batch; larger ones continue in heap blocks.
  static constexpr size_t kInitialBlockBytes = 8 * 1024;

  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(initial_block_)) {
      this->set_request(
          google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(
          google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = kInitialBlockBytes;
      return options;
    }

    alignas(8) char initial_block_[kInitialBlockBytes];
    google::protobuf::Arena arena_;
  };
};

ArenaMessageAllocator<v1::ExecuteRequest, v1::ExecuteResponse>*
ExecuteAllocator() {
  static auto* const allocator =
      new ArenaMessageAllocator<v1::ExecuteRequest, v1::ExecuteResponse>();
  return allocator;
}

ArenaMessageAllocator<v1::BatchRequest, v1::BatchResponse>* BatchAllocator() {
  static auto* const allocator =
      new ArenaMessageAllocator<v1::BatchRequest, v1::BatchResponse>();
  return allocator;
}

}  // namespace

CacheServiceImpl::CacheServiceImpl(const Dispatcher* dispatcher,
                                   const ClusterState* cluster,
                                   ReplicaAckWaiter* acks)
    : dispatcher_(dispatcher), cluster_(cluster), acks_(acks) {
  SetMessageAllocatorFor_Execute(ExecuteAllocator());
  SetMessageAllocatorFor_Batch(BatchAllocator());
}

grpc::ServerUnaryReactor* CacheServiceImpl::Execute(
    grpc::CallbackServerContext* context, const v1::ExecuteRequest* request,
    v1::ExecuteResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status admitted = dispatcher_->CheckRequest(request->ByteSizeLong(),
                                                    /*num_commands=*/1);
  if (!admitted.ok()) {
    reactor->Finish(ToGrpcStatus(admitted));
    return reactor;
  }
  const v1::RequestOptions& options = request->options();
  dispatcher_->Dispatch(request->command(),
                        cluster_->View(options.allow_replica_read()),
                        response->mutable_reply());
  if (options.min_replica_acks() > 0) {
    response->set_replica_acks(0);
    if (acks_ != nullptr) {
      WaitForReplicaAcks(acks_, options, [reactor, response](int acked) {
        response->set_replica_acks(acked);
        reactor->Finish(grpc::Status::OK);
      });
      return reactor;
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

absl::Status CacheServiceImpl::RunBatch(const v1::BatchRequest& request,
                                        v1::BatchResponse* response) const {
  absl::Status admitted = dispatcher_->CheckRequest(request.ByteSizeLong(),
                                                    request.commands_size());
  if (!admitted.ok()) return admitted;
  response->set_id(request.id());
  const RoutingView view =
      cluster_->View(request.options().allow_replica_read());
  auto* replies = response->mutable_replies();
  replies->Reserve(request.commands_size());
  for (const v1::Command& command : request.commands()) {
    dispatcher_->Dispatch(command, view, replies->Add());
  }
  if (request.options().min_replica_acks() > 0) response->set_replica_acks(0);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* CacheServiceImpl::Batch(
    grpc::CallbackServerContext* context, const v1::BatchRequest* request,
    v1::BatchResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = RunBatch(*request, response);
  if (status.ok() && acks_ != nullptr &&
      request->options().min_replica_acks() > 0) {
    WaitForReplicaAcks(acks_, request->options(),
                       [reactor, response](int acked) {
                         response->set_replica_acks(acked);
                         reactor->Finish(grpc::Status::OK);
                       });
    return reactor;
  }
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerBidiReactor<v1::BatchRequest, v1::BatchResponse>*
CacheServiceImpl::Pipeline(grpc::CallbackServerContext* /*context*/) {
  return new PipelineReactor(this);
}

grpc::ServerUnaryReactor* CacheServiceImpl::GetClusterMap(
    grpc::CallbackServerContext* context,
    const v1::GetClusterMapRequest* /*request*/, v1::ClusterMap* response) {
  *response = *cluster_->map();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace slotcache::node
