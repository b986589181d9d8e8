#include "node/replication/replica_agent.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"
#include "node/replication/log_entry.h"
#include "proto/replication.grpc.pb.h"

namespace slotcache::node {
ReplicaAgent::ReplicaAgent(ReplicaAgentOptions options, ReplicationLog* log,
                           storage::Store* store)
    : options_(std::move(options)),
      log_(log),
      store_(store),
      thread_([this] { Run(); }) {}

ReplicaAgent::~ReplicaAgent() { Stop(); }

void ReplicaAgent::Follow(const std::string& address) {
  absl::MutexLock lock(&mu_);
  if (address == address_) return;
  const bool was_following = !address_.empty();
  address_ = address;
  wake_.Wake();
  if (call_ != nullptr) call_->TryCancel();
  if (!address.empty()) {
    SC_LOG(INFO, "replication: following primary %s", address);
    // A demoted primary's store is exactly its own log's history, so it
    // asks to continue it (a partial resync when the new primary took over
    // that history, as after a failover) instead of a full sync.
    if (!was_following && log_->end_offset() > 0) synced_ = true;
    store_->SetReplicaMode(true);
  } else if (was_following) {
    SC_LOG(INFO,
           "replication: no longer a replica; continuing history at offset "
           "%d under a new replication id",
           log_->end_offset());
    store_->SetReplicaMode(false);
    log_->StartNewHistory();
    link_up_ = false;
  }
}

void ReplicaAgent::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (call_ != nullptr) call_->TryCancel();
  }
  wake_.Stop();
  if (thread_.joinable()) thread_.join();
}

ReplicaAgentStatus ReplicaAgent::status() const {
  absl::MutexLock lock(&mu_);
  ReplicaAgentStatus s;
  s.primary_address = address_;
  s.link_up = link_up_;
  s.synced = synced_;
  s.full_syncs = full_syncs_;
  s.partial_syncs = partial_syncs_;
  if (address_.empty()) return s;
  const uint64_t applied = log_->end_offset();
  s.lag_entries = primary_offset_ > applied ? primary_offset_ - applied : 0;
  if (!link_up_ || !synced_ || s.lag_entries > 0) {
    s.lag_seconds = absl::ToDoubleSeconds(absl::Now() - caught_up_at_);
  }
  return s;
}

void ReplicaAgent::Run() {
  absl::Duration backoff = options_.initial_backoff;
  for (;;) {
    std::string address;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !address_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      address = address_;
    }
    const absl::Time started = absl::Now();
    absl::Status ended = RunSession(address);
    {
      absl::MutexLock lock(&mu_);
      link_up_ = false;
      if (stopping_) return;
      if (address_ != address) {
        backoff = options_.initial_backoff;
        continue;  // Switched primary: connect to the new one at once.
      }
    }
    SC_LOG(WARNING, "replication: stream to primary %s ended: %s", address,
           ended.ToString());
    if (absl::Now() - started > options_.max_backoff) {
      backoff = options_.initial_backoff;  // It worked for a while.
    }
    // Follow() and Stop() wake the sleep; reading the count before the
    // check means a switch that lands in between is not slept through.
    const uint64_t wakes = wake_.wakes();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      if (address_ != address) {
        backoff = options_.initial_backoff;
        continue;
      }
    }
    if (!wake_.SleepFor(backoff, wakes)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status ReplicaAgent::RunSession(const std::string& address) {
  auto stub = v1::ReplicationService::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  v1::ReplicaMessage hello;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || address_ != address) return absl::CancelledError();
    call_ = &context;
    v1::SyncRequest* sync = hello.mutable_sync();
    sync->set_replica_node_id(options_.node_id);
    if (synced_) {
      sync->set_replication_id(log_->replication_id());
      sync->set_offset(log_->end_offset());
    }
  }
  auto stream = stub->Sync(&context);
  absl::Status status;
  if (!stream->Write(hello)) {
    status = absl::UnavailableError("could not send the SyncRequest");
  } else {
    v1::PrimaryMessage in;
    v1::ReplicaMessage ack;
    while (status.ok() && stream->Read(&in)) {
      bool send_ack = false;
      status = Apply(in, &send_ack);
      if (status.ok() && send_ack) {
        ack.mutable_ack()->set_applied_offset(log_->end_offset());
        if (!stream->Write(ack)) break;
      }
    }
    if (!status.ok()) context.TryCancel();
  }
  grpc::Status finished = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    call_ = nullptr;
  }
  if (!status.ok()) return status;
  return FromGrpcStatus(finished);
}

void ReplicaAgent::NoteApplied(uint64_t primary_offset) {
  absl::MutexLock lock(&mu_);
  primary_offset_ = std::max(primary_offset_, primary_offset);
  if (log_->end_offset() >= primary_offset_) caught_up_at_ = absl::Now();
}

absl::Status ReplicaAgent::Apply(const v1::PrimaryMessage& message, bool* ack) {
  // What this thread changes in the store is recorded by AppendApplied.
  const ReplicationLog::ApplyingScope applying;
  switch (message.kind_case()) {
    case v1::PrimaryMessage::kFullSyncBegin: {
      const v1::FullSyncBegin& begin = message.full_sync_begin();
      SC_LOG(INFO, "replication: full sync from history %s offset %d (%d keys)",
             begin.replication_id(), begin.offset(), begin.key_count());
      {
        absl::MutexLock lock(&mu_);
        synced_ = false;
        link_up_ = true;
        ++full_syncs_;
        primary_offset_ = begin.offset();
      }
      // The store is partial until kFullSyncEnd (no snapshot of it).
      log_->BeginStoreLoad();
      store_->FlushAll();
      log_->ResetHistory(begin.replication_id(), begin.offset());
      return absl::OkStatus();
    }
    case v1::PrimaryMessage::kSnapshotChunk:
      for (const v1::KeyRecord& r : message.snapshot_chunk().records()) {
        if (absl::Status s = store_->Restore(KeyRecordFromProto(r)); !s.ok()) {
          return s;
        }
      }
      return absl::OkStatus();
    case v1::PrimaryMessage::kFullSyncEnd: {
      log_->EndStoreLoad();
      NoteApplied(log_->end_offset());
      absl::MutexLock lock(&mu_);
      synced_ = true;
      *ack = true;
      return absl::OkStatus();
    }
    case v1::PrimaryMessage::kPartialSyncBegin: {
      const v1::PartialSyncBegin& begin = message.partial_sync_begin();
      if (begin.replication_id() != log_->replication_id()) {
        // The primary continues our history under a new id (promotion).
        log_->ResetHistory(begin.replication_id(), log_->end_offset());
      }
      NoteApplied(begin.offset());
      absl::MutexLock lock(&mu_);
      link_up_ = true;
      ++partial_syncs_;
      *ack = true;
      return absl::OkStatus();
    }
    case v1::PrimaryMessage::kEntries:
      for (const v1::LogEntry& entry : message.entries().entries()) {
        if (entry.offset() <= log_->end_offset()) continue;  // Seen.
        // Applied and recorded as one step for replica snapshots
        // (ReplicationLog::Checkpoint).
        if (absl::Status s = log_->ApplyAndRecord(
                entry, [&] { return ApplyLogEntry(entry, store_); });
            !s.ok()) {
          return s;
        }
      }
      NoteApplied(message.entries().primary_offset());
      *ack = true;
      return absl::OkStatus();
    case v1::PrimaryMessage::KIND_NOT_SET:
      break;
  }
  return InvalidInputError(
      "the primary sent an empty replication message; run the same "
      "slotcache version on primary and replicas");
}

}  // namespace slotcache::node
