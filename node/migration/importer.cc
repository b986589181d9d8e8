#include "node/migration/importer.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "common/status.h"
#include "grpcpp/client_context.h"
#include "node/replication/log_entry.h"
#include "proto/migration.grpc.pb.h"

namespace slotcache::node::migration {
namespace {

// Keys deleted per ScanSlot round (bounded lock hold, bounded memory).
constexpr size_t kDeleteBatch = 256;

// FAILED_PRECONDITION naming the first slot of `slots` this node's shard
// owns in `table`; OK when it owns none.
absl::Status CheckNotOwned(const RoutingTable& table, const SlotSet& slots,
                           absl::string_view action) {
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (slots.test(slot) && table.LocalShardOwns(slot)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot ", action, ": this node's shard owns slot ", slot,
          " in cluster map version ", table.map->version(),
          "; only slots another shard owns can be imported or aborted"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

uint64_t DeleteSlotKeys(storage::Store* store, const SlotSet& slots) {
  uint64_t deleted = 0;
  std::vector<std::string> keys;
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (!slots.test(slot)) continue;
    while (store->SlotKeyCount(slot) > 0) {
      keys.clear();
      // Always from the start: the keys found before are gone.
      store->ScanSlot(slot, 0, kDeleteBatch, [&](const storage::KeyRecord& r) {
        keys.push_back(r.key);
      });
      if (keys.empty()) break;  // Only expired keys left: expiry takes them.
      for (const std::string& key : keys) deleted += store->Del(key) ? 1 : 0;
    }
  }
  return deleted;
}

// One import: its thread, its stream, its status.
class Import {
 public:
  Import(std::string id, std::string source, std::string local_node_id,
         SlotSet slots, storage::Store* store, ReplicationLog* log,
         const ImporterOptions* options)
      : id_(std::move(id)),
        source_(std::move(source)),
        local_node_id_(std::move(local_node_id)),
        slots_(slots),
        store_(store),
        log_(log),
        options_(options) {
    status_.set_migration_id(id_);
    status_.set_state(v1::ImportStatus::SNAPSHOT);
    thread_ = std::thread([this] { Run(); });
  }
  ~Import() { Stop(); }

  const SlotSet& slots() const { return slots_; }

  bool running() const {
    absl::MutexLock lock(&mu_);
    return !ended_;
  }

  v1::ImportStatus status() const {
    v1::ImportStatus out;
    {
      absl::MutexLock lock(&mu_);
      out = status_;
    }
    FillReplicasCaughtUp(&out);
    return out;
  }

  // Cancels the stream and joins the thread (idempotent). With `finish`,
  // an import that was streaming ends FINISHED.
  void Stop(bool finish = false) {
    {
      absl::MutexLock lock(&mu_);
      if (finish && !ended_) finish_requested_ = true;
    }
    stop_ = true;
    context_.TryCancel();
    absl::MutexLock lock(&join_mu_);
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    absl::Status result = Pull();
    absl::MutexLock lock(&mu_);
    ended_ = true;
    if (finish_requested_ && status_.state() == v1::ImportStatus::STREAMING) {
      status_.set_state(v1::ImportStatus::FINISHED);
      SC_LOG(INFO, "import '%s' finished at source offset %d", id_,
             status_.applied_source_offset());
      return;
    }
    status_.set_state(v1::ImportStatus::FAILED);
    if (finish_requested_) {
      result = absl::FailedPreconditionError(
          "FinishImport arrived before the snapshot was applied; abort the "
          "import (AbortImport) and start it again");
    } else if (result.ok()) {
      result = absl::UnavailableError(absl::StrCat(
          "the stream from ", source_,
          " ended without an error before FinishImport; abort and retry"));
    }
    status_.set_error(std::string(result.message()));
    SC_LOG(WARNING, "import '%s' from %s failed: %s", id_, source_,
           result.message());
  }

  // The stream, until it ends; the reason it ended.
  absl::Status Pull() {
    ChannelOptions channel_options;
    channel_options.max_message_bytes = options_->max_message_bytes;
    auto stub =
        v1::MigrationService::NewStub(MakeChannel(source_, channel_options));
    v1::PullSlotsRequest request;
    request.set_migration_id(id_);
    request.set_target_node_id(local_node_id_);
    for (uint32_t slot : SlotList(slots_)) {
      v1::SlotRange* range = request.add_slots();
      range->set_start(slot);
      range->set_end(slot);
    }
    if (stop_) return absl::CancelledError("stopped before it started");
    std::unique_ptr<grpc::ClientReader<v1::MigrationMessage>> reader =
        stub->PullSlots(&context_, request);
    v1::MigrationMessage message;
    absl::Status applied;
    while (applied.ok() && !stop_ && reader->Read(&message)) {
      applied = Apply(message);
      if (applied.ok()) applied = Throttle();
    }
    if (!applied.ok()) context_.TryCancel();
    grpc::Status finished = reader->Finish();
    if (!applied.ok()) return applied;
    if (stop_) {
      return absl::CancelledError(
          "the import was stopped before FinishImport (the node is shutting "
          "down); abort it and start again");
    }
    if (!finished.ok()) {
      absl::Status status = FromGrpcStatus(finished);
      return absl::Status(status.code(),
                          absl::StrCat("PullSlots from ", source_, ": ",
                                       finished.error_message()));
    }
    return absl::OkStatus();
  }

  absl::Status Apply(const v1::MigrationMessage& message) {
    switch (message.kind_case()) {
      case v1::MigrationMessage::kBegin: {
        absl::MutexLock lock(&mu_);
        begin_offset_ = message.begin().offset();
        status_.set_source_replication_id(message.begin().replication_id());
        status_.set_source_offset(begin_offset_);
        status_.set_snapshot_keys_total(message.begin().key_count());
        return absl::OkStatus();
      }
      case v1::MigrationMessage::kChunk:
        for (const v1::MigrationRecord& piece : message.chunk().records()) {
          absl::StatusOr<std::optional<storage::KeyRecord>> record =
              assembler_.Add(piece);
          if (!record.ok()) return record.status();
          if (!record->has_value()) continue;
          if (absl::Status s = StoreRecord(**record); !s.ok()) return s;
          absl::MutexLock lock(&mu_);
          status_.set_keys_imported(status_.keys_imported() + 1);
          status_.set_bytes_imported(status_.bytes_imported() +
                                     RecordBytes(**record));
        }
        {
          absl::MutexLock lock(&mu_);
          status_.set_local_offset(log_->reserved_offset());
        }
        return absl::OkStatus();
      case v1::MigrationMessage::kSnapshotEnd: {
        if (assembler_.pending()) {
          return InvalidInputError(
              "the snapshot ended in the middle of a key's pieces; the "
              "source is broken, abort and retry the import");
        }
        // STREAMING only once the first LogEntries arrived: until then
        // source_offset is the snapshot's start, and the coordinator would
        // take the target for caught up however far the log has run on.
        absl::MutexLock lock(&mu_);
        snapshot_ended_ = true;
        status_.set_applied_source_offset(begin_offset_);
        status_.set_local_offset(log_->reserved_offset());
        return absl::OkStatus();
      }
      case v1::MigrationMessage::kEntries:
        return ApplyEntries(message.entries());
      default:
        return InvalidInputError(
            "the source sent an empty migration message; is it a newer "
            "version?");
    }
  }

  absl::Status ApplyEntries(const v1::LogEntries& entries) {
    {
      absl::MutexLock lock(&mu_);
      if (!snapshot_ended_) {
        return InvalidInputError(
            "the source sent log entries before the snapshot ended; abort "
            "and retry the import");
      }
    }
    for (const v1::LogEntry& entry : entries.entries()) {
      switch (entry.change_case()) {
        case v1::LogEntry::kSet: {
          storage::KeyRecord record = KeyRecordFromProto(entry.set());
          if (absl::Status s = StoreRecord(record); !s.ok()) return s;
          AddBytes(RecordBytes(record));
          break;
        }
        case v1::LogEntry::kDeletedKey:
          if (!slots_.test(KeySlot(entry.deleted_key()))) {
            return OutsideSlots(entry.deleted_key());
          }
          store_->Del(entry.deleted_key());
          break;
        case v1::LogEntry::kFlushAll:
          DeleteSlotKeys(store_, slots_);
          break;
        default:
          return InvalidInputError(absl::StrCat(
              "log entry ", entry.offset(), " from the source has no change"));
      }
    }
    absl::MutexLock lock(&mu_);
    status_.set_state(v1::ImportStatus::STREAMING);
    status_.set_writes_applied(status_.writes_applied() +
                               entries.entries_size());
    status_.set_applied_source_offset(
        std::max(status_.applied_source_offset(), entries.primary_offset()));
    status_.set_source_offset(
        std::max({status_.source_offset(), entries.primary_offset(),
                  entries.source_end_offset()}));
    status_.set_local_offset(log_->reserved_offset());
    return absl::OkStatus();
  }

  absl::Status OutsideSlots(const std::string& key) const {
    return InvalidInputError(absl::StrCat(
        "the source sent key '", key, "' of slot ", KeySlot(key),
        ", which this import does not cover; the source is broken"));
  }

  // A local write: logged, so this shard's replicas get it.
  absl::Status StoreRecord(const storage::KeyRecord& record) {
    if (!slots_.test(KeySlot(record.key))) return OutsideSlots(record.key);
    absl::Status s = store_->Restore(record);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("storing imported key '", record.key,
                                       "' failed: ", s.message()));
    }
    AddBytes(RecordBytes(record));
    return absl::OkStatus();
  }

  // Bookkeeping for the throttle: (local offset, bytes written through it).
  void AddBytes(uint64_t bytes) {
    written_bytes_ += bytes;
    written_.emplace_back(log_->reserved_offset(), written_bytes_);
  }

  // Waits while the slowest replica is more than max_replica_lag_bytes of
  // this import's writes behind.
  absl::Status Throttle() {
    if (!options_->replica_acked_offsets) return absl::OkStatus();
    for (;;) {
      std::vector<uint64_t> acks = options_->replica_acked_offsets();
      if (acks.empty()) return absl::OkStatus();
      const uint64_t slowest = *std::min_element(acks.begin(), acks.end());
      while (!written_.empty() && written_.front().first <= slowest) {
        acked_bytes_ = written_.front().second;
        written_.pop_front();
      }
      if (written_bytes_ - acked_bytes_ <= options_->max_replica_lag_bytes) {
        return absl::OkStatus();
      }
      if (stop_) return absl::CancelledError("stopped while throttled");
      absl::SleepFor(options_->throttle_poll);
    }
  }

  void FillReplicasCaughtUp(v1::ImportStatus* out) const {
    bool caught_up = true;
    if (options_->replica_acked_offsets) {
      for (uint64_t acked : options_->replica_acked_offsets()) {
        if (acked < out->local_offset()) caught_up = false;
      }
    }
    out->set_replicas_caught_up(caught_up);
  }

  // Constant after construction.
  const std::string id_;
  const std::string source_;
  const std::string local_node_id_;
  const SlotSet slots_;
  storage::Store* const store_;
  ReplicationLog* const log_;
  const ImporterOptions* const options_;

  std::atomic<bool> stop_{false};
  grpc::ClientContext context_;

  // The import thread's own.
  RecordAssembler assembler_;
  uint64_t begin_offset_ = 0;  // Written under mu_ too.
  uint64_t written_bytes_ = 0;
  uint64_t acked_bytes_ = 0;
  std::deque<std::pair<uint64_t, uint64_t>> written_;

  mutable absl::Mutex mu_;
  v1::ImportStatus status_ ABSL_GUARDED_BY(mu_);
  // The snapshot end arrived (log entries may follow).
  bool snapshot_ended_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_requested_ ABSL_GUARDED_BY(mu_) = false;

  // Serializes joining (Stop from several threads).
  absl::Mutex join_mu_;
  std::thread thread_;
};

Importer::Importer(storage::Store* store, ReplicationLog* log,
                   ClusterState* cluster, ImporterOptions options)
    : store_(store),
      log_(log),
      cluster_(cluster),
      options_(std::move(options)) {}

Importer::~Importer() { Stop(); }

absl::Status Importer::StartImport(const std::string& migration_id,
                                   const std::string& source_address,
                                   const SlotSet& slots) {
  if (migration_id.empty() || source_address.empty()) {
    return InvalidInputError(
        "StartImport needs a migration_id and the source's address");
  }
  std::shared_ptr<const RoutingTable> table = cluster_->table();
  if (table->standalone || table->local_shard == RoutingTable::kUnowned ||
      table->shards[table->local_shard].local_role != v1::PRIMARY) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this node is not a shard primary in its cluster map version ",
        table->map->version(),
        " (a standalone node owns every slot); import on the target shard's "
        "primary"));
  }
  if (absl::Status s = CheckNotOwned(*table, slots, "import"); !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&mu_);
  if (auto it = imports_.find(migration_id);
      it != imports_.end() && it->second->running()) {
    return absl::FailedPreconditionError(
        absl::StrCat("import '", migration_id,
                     "' is already running; finish or abort it first"));
  }
  for (const auto& [id, import] : imports_) {
    if (import->running() && (import->slots() & slots).any()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "import '", id, "' is running and holds slots ",
          SlotSetString(import->slots() & slots),
          "; finish or abort it before starting '", migration_id, "'"));
    }
  }
  std::shared_ptr<Import>& entry = imports_[migration_id];
  entry.reset();  // A finished or failed one: its thread has ended.
  entry = std::make_shared<Import>(migration_id, source_address,
                                   cluster_->identity().node_id, slots, store_,
                                   log_, &options_);
  SC_LOG(INFO, "import '%s': pulling slots %s from %s", migration_id,
         SlotSetString(slots), source_address);
  return absl::OkStatus();
}

absl::StatusOr<v1::ImportStatus> Importer::GetImportStatus(
    const std::string& migration_id) const {
  std::shared_ptr<Import> import;
  {
    absl::MutexLock lock(&mu_);
    auto it = imports_.find(migration_id);
    if (it != imports_.end()) import = it->second;
  }
  if (import == nullptr) {
    return absl::NotFoundError(absl::StrCat("no import '", migration_id,
                                            "' on this node; start it first"));
  }
  return import->status();
}

absl::StatusOr<v1::ImportStatus> Importer::FinishImport(
    const std::string& migration_id) {
  std::shared_ptr<Import> import;
  {
    absl::MutexLock lock(&mu_);
    auto it = imports_.find(migration_id);
    if (it != imports_.end()) import = it->second;
  }
  if (import == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no import '", migration_id, "' on this node to finish"));
  }
  import->Stop(/*finish=*/true);
  return import->status();
}

absl::StatusOr<uint64_t> Importer::AbortImport(const std::string& migration_id,
                                               const SlotSet& slots) {
  std::shared_ptr<const RoutingTable> table = cluster_->table();
  if (absl::Status s = CheckNotOwned(*table, slots, "abort an import");
      !s.ok()) {
    return s;
  }
  std::shared_ptr<Import> import;
  {
    absl::MutexLock lock(&mu_);
    auto it = imports_.find(migration_id);
    if (it != imports_.end()) {
      import = std::move(it->second);
      imports_.erase(it);
    }
  }
  if (import != nullptr) import->Stop();
  const uint64_t dropped = DeleteSlotKeys(store_, slots);
  SC_LOG(INFO, "import '%s' aborted: deleted %d keys of slots %s", migration_id,
         dropped, SlotSetString(slots));
  return dropped;
}

uint64_t Importer::DropStrayKeys() {
  std::shared_ptr<const RoutingTable> table = cluster_->table();
  if (table->standalone || table->local_shard == RoutingTable::kUnowned ||
      table->shards[table->local_shard].local_role != v1::PRIMARY) {
    return 0;
  }
  SlotSet stray;
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (!table->LocalShardOwns(slot) && store_->SlotKeyCount(slot) > 0) {
      stray.set(slot);
    }
  }
  if (stray.none()) return 0;
  // Held while deleting: a StartImport of these slots waits until the
  // sweep is done, so it never loses keys it imported.
  absl::MutexLock lock(&mu_);
  for (const auto& [id, import] : imports_) stray &= ~import->slots();
  // The map may have changed since (a commit gave this shard the slots).
  std::shared_ptr<const RoutingTable> now = cluster_->table();
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (stray.test(slot) && now->LocalShardOwns(slot)) stray.reset(slot);
  }
  if (stray.none()) return 0;
  const uint64_t deleted = DeleteSlotKeys(store_, stray);
  SC_LOG(INFO,
         "deleted %d stray keys of slots %s, which this shard does not own "
         "and no import holds",
         deleted, SlotSetString(stray));
  return deleted;
}

void Importer::Stop() {
  std::vector<std::shared_ptr<Import>> imports;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, import] : imports_) imports.push_back(import);
  }
  for (const auto& import : imports) import->Stop();
}

}  // namespace slotcache::node::migration
