#include "node/replication/replication_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/slot.h"
#include "common/status.h"
#include "node/replication/digest.h"
#include "node/replication/log_entry.h"

namespace slotcache::node {

namespace {

// About this many bytes per message (snapshot chunk or batch of entries):
// big enough to amortise per-message costs, small enough to keep memory
// per replica low and interleave with acks.
constexpr uint64_t kChunkBytes = 256 << 10;
// Keys asked from ScanSlot per call while building a chunk.
constexpr size_t kScanBatch = 256;
// The pump thread's longest sleep when the log is quiet.
constexpr absl::Duration kPumpIdleWait = absl::Milliseconds(100);
constexpr absl::Duration kPumpMinInterval = absl::Microseconds(500);

uint64_t RecordBytes(const storage::KeyRecord& r) {
  uint64_t bytes = 32 + r.key.size() + r.value.size();
  for (const auto& [field, value] : r.fields) {
    bytes += 16 + field.size() + value.size();
  }
  return bytes;
}

}  // namespace

// One replica's Sync stream. See the service header for the protocol.
//
// Thread-safety: gRPC callbacks and the pump thread's Kick() may run
// concurrently; mu_ guards everything below it. in_ is touched only by the
// read side (one read in flight at most).
class SyncStream final
    : public grpc::ServerBidiReactor<v1::ReplicaMessage, v1::PrimaryMessage> {
 public:
  SyncStream(ReplicationServiceImpl* service, std::string peer)
      : service_(service), peer_(std::move(peer)) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (!ok) {  // The replica went away or the call was cancelled.
      FinishLocked(grpc::Status::OK);
      return;
    }
    if (state_ == State::kAwaitSync) {
      if (in_.kind_case() != v1::ReplicaMessage::kSync) {
        FinishLocked(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            "the first message of a Sync stream must be a SyncRequest"));
        return;
      }
      if (absl::Status gate = service_->may_serve_sync_(); !gate.ok()) {
        SC_LOG(INFO, "replica %s (%s): Sync refused: %s",
               in_.sync().replica_node_id(), peer_, gate.message());
        FinishLocked(ToGrpcStatus(gate));
        return;
      }
      BeginLocked(in_.sync());
    } else if (in_.kind_case() == v1::ReplicaMessage::kAck) {
      service_->tracker_->Ack(handle_, in_.ack().applied_offset());
    }
    if (!finishing_) StartRead(&in_);
    PumpLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    if (!ok) {
      FinishLocked(grpc::Status::OK);
      return;
    }
    PumpLocked();
  }

  void OnDone() override {
    service_->Unregister(this);
    if (handle_ != 0) service_->tracker_->Remove(handle_);
    delete this;
  }

  // Sends more if there is more to send (the pump thread's call).
  void Kick() {
    absl::MutexLock lock(&mu_);
    PumpLocked();
  }

  // Ends the stream (the primary shuts down or stops being one).
  void Shutdown(const std::string& why) {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, why));
  }

 private:
  enum class State { kAwaitSync, kFullBegin, kSnapshot, kStreaming };

  void BeginLocked(const v1::SyncRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ReplicationLog* log = service_->log_;
    log->EnableBacklog();
    const bool partial =
        log->CanContinueFrom(request.replication_id(), request.offset());
    handle_ = service_->tracker_->Add(request.replica_node_id(), peer_,
                                      /*full_sync=*/!partial);
    if (partial) {
      ++service_->partial_syncs_;
      sent_ = request.offset();
      state_ = State::kStreaming;
      out_.Clear();
      v1::PartialSyncBegin* begin = out_.mutable_partial_sync_begin();
      begin->set_replication_id(log->replication_id());
      begin->set_offset(sent_);
      SC_LOG(INFO, "replica %s (%s): partial resync from offset %d",
             request.replica_node_id(), peer_, sent_);
      StartWriteLocked();
      return;
    }
    ++service_->full_syncs_;
    // Reading the id and the offset in this order is safe: the id changes
    // only on a promotion, which ends every stream first.
    snapshot_id_ = log->replication_id();
    sent_ = log->end_offset();
    state_ = State::kFullBegin;
    SC_LOG(INFO,
           "replica %s (%s) asked for history %s offset %d: full sync at "
           "offset %d",
           request.replica_node_id(), peer_, request.replication_id(),
           request.offset(), sent_);
  }

  // Starts the next write if one is due and its data is ready.
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_ || write_in_flight_ || state_ == State::kAwaitSync) return;
    ReplicationLog* log = service_->log_;
    storage::Store* store = service_->store_;
    out_.Clear();
    switch (state_) {
      case State::kAwaitSync:
        return;
      case State::kFullBegin: {
        v1::FullSyncBegin* begin = out_.mutable_full_sync_begin();
        begin->set_replication_id(snapshot_id_);
        begin->set_offset(sent_);
        begin->set_key_count(store->DbSize());
        state_ = State::kSnapshot;
        break;
      }
      case State::kSnapshot: {
        if (!log->Retains(sent_)) {
          FinishLocked(grpc::Status(
              grpc::StatusCode::RESOURCE_EXHAUSTED,
              absl::StrCat("the replication backlog overran the full sync's "
                           "start offset ",
                           sent_,
                           " while the snapshot was streaming; the replica "
                           "will retry: raise --repl_backlog_bytes")));
          return;
        }
        v1::SnapshotChunk* chunk = out_.mutable_snapshot_chunk();
        uint64_t bytes = 0;
        while (bytes < kChunkBytes && slot_ < kNumSlots) {
          if (store->SlotKeyCount(slot_) == 0) {
            ++slot_;
            cursor_ = 0;
            continue;
          }
          cursor_ = store->ScanSlot(slot_, cursor_, kScanBatch,
                                    [&](const storage::KeyRecord& r) {
                                      KeyRecordToProto(r, chunk->add_records());
                                      bytes += RecordBytes(r);
                                    });
          if (cursor_ == 0) ++slot_;
        }
        if (chunk->records_size() == 0) {
          out_.mutable_full_sync_end();
          state_ = State::kStreaming;
          service_->tracker_->SetFullSyncDone(handle_);
        }
        break;
      }
      case State::kStreaming: {
        absl::Status read =
            log->ReadAfter(sent_, kChunkBytes, out_.mutable_entries());
        if (!read.ok()) {
          FinishLocked(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                    std::string(read.message())));
          return;
        }
        const auto& entries = out_.entries().entries();
        if (entries.empty()) return;  // Idle until the log grows.
        sent_ = entries[entries.size() - 1].offset();
        out_.mutable_entries()->set_primary_offset(log->end_offset());
        break;
      }
    }
    StartWriteLocked();
  }

  void StartWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    write_in_flight_ = true;
    StartWrite(&out_);
  }

  // Finishes now, or after the write in flight (gRPC wants no Finish with
  // a write outstanding).
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!finishing_) {
      finishing_ = true;
      finish_status_ = std::move(status);
    }
    if (!finished_ && !write_in_flight_) {
      finished_ = true;
      Finish(finish_status_);
    }
  }

  // Constant after construction.
  ReplicationServiceImpl* const service_;
  const std::string peer_;

  // Read side only.
  v1::ReplicaMessage in_;

  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kAwaitSync;
  uint64_t handle_ = 0;  // Set once under mu_ in BeginLocked, then read.
  std::string snapshot_id_ ABSL_GUARDED_BY(mu_);
  // Offset of the last entry sent (or the full sync's start).
  uint64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t slot_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t cursor_ ABSL_GUARDED_BY(mu_) = 0;
  v1::PrimaryMessage out_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
};

ReplicationServiceImpl::ReplicationServiceImpl(ReplicationLog* log,
                                               storage::Store* store,
                                               ReplicaTracker* tracker,
                                               SyncGate may_serve_sync)
    : log_(log),
      store_(store),
      tracker_(tracker),
      may_serve_sync_(std::move(may_serve_sync)),
      pump_([this] { PumpLoop(); }) {}

ReplicationServiceImpl::~ReplicationServiceImpl() { Stop(); }

void ReplicationServiceImpl::Stop() {
  {
    absl::MutexLock lock(&streams_mu_);
    if (stopping_) return;
    stopping_ = true;
    for (SyncStream* stream : streams_) {
      stream->Shutdown("the primary is shutting down; reconnect later");
    }
  }
  log_->Wake();
  if (pump_.joinable()) pump_.join();
}

grpc::ServerBidiReactor<v1::ReplicaMessage, v1::PrimaryMessage>*
ReplicationServiceImpl::Sync(grpc::CallbackServerContext* context) {
  auto* stream = new SyncStream(this, context->peer());
  Register(stream);
  return stream;
}

void ReplicationServiceImpl::Register(SyncStream* stream) {
  absl::MutexLock lock(&streams_mu_);
  streams_.insert(stream);
  if (stopping_) stream->Shutdown("the primary is shutting down");
}

void ReplicationServiceImpl::Unregister(SyncStream* stream) {
  absl::MutexLock lock(&streams_mu_);
  streams_.erase(stream);
}

void ReplicationServiceImpl::PumpLoop() {
  uint64_t seen = 0;
  for (;;) {
    {
      absl::MutexLock lock(&streams_mu_);
      // No replica connected: nothing to pump until one connects (waking
      // up per write burst anyway cost a busy node ~2,000 sleeps a second).
      streams_mu_.Await(
          absl::Condition(this, &ReplicationServiceImpl::PumpWakeLocked));
      if (stopping_) return;
      for (SyncStream* stream : streams_) stream->Kick();
    }
    // Streams that have data keep themselves going from OnWriteDone; the
    // pump only restarts idle ones, so at most once per kPumpMinInterval
    // (a bound on the extra latency, and on the loop's CPU under load).
    absl::SleepFor(kPumpMinInterval);
    seen = log_->WaitForEntriesAfter(seen, kPumpIdleWait);
  }
}

grpc::ServerUnaryReactor* ReplicationServiceImpl::Digest(
    grpc::CallbackServerContext* context, const v1::DigestRequest* /*request*/,
    v1::DigestResponse* response) {
  const uint64_t offset = log_->end_offset();
  StoreDigest digest = ComputeDigest(store_);
  response->set_digest(digest.digest);
  response->set_key_count(digest.key_count);
  response->set_replication_offset(offset);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace slotcache::node
