#include "node/migration/pull_slots_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status.h"

namespace slotcache::node::migration {
namespace {

// Keys asked from ScanSlot per call.
constexpr size_t kScanBatch = 256;

// The first slot of `slots` this node is not the owning primary of, or -1.
int FirstNotOwned(const RoutingTable& table, const SlotSet& slots) {
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (slots.test(slot) && !table.LocalPrimaryOf(slot)) {
      return static_cast<int>(slot);
    }
  }
  return -1;
}

}  // namespace

PullSlotsService::PullSlotsService(ReplicationLog* log, storage::Store* store,
                                   ClusterState* cluster,
                                   PullSlotsOptions options)
    : log_(log), store_(store), cluster_(cluster), options_(options) {}

void PullSlotsService::Stop() {
  stopping_ = true;
  log_->Wake();
}

grpc::Status PullSlotsService::CheckGoOn(grpc::ServerContext* context,
                                         const SlotSet& slots) const {
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED,
                        "the importing node cancelled the stream");
  }
  if (stopping_) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the source node is shutting down; the import "
                        "fails and must be retried (AbortImport first)");
  }
  std::shared_ptr<const RoutingTable> table = cluster_->table();
  if (int slot = FirstNotOwned(*table, slots); slot >= 0) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("this node is not the primary owning slot ", slot,
                     " (cluster map version ", table->map->version(),
                     "); pull the slots from their current owner"));
  }
  return grpc::Status::OK;
}

grpc::Status PullSlotsService::WriteFailed(grpc::ServerContext* context,
                                           const SlotSet& slots) const {
  grpc::Status why = CheckGoOn(context, slots);
  if (!why.ok()) return why;
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the stream to the importing node broke");
}

grpc::Status PullSlotsService::PullSlots(
    grpc::ServerContext* context, const v1::PullSlotsRequest* request,
    grpc::ServerWriter<v1::MigrationMessage>* writer) {
  absl::StatusOr<SlotSet> parsed = SlotSetFromRanges(request->slots());
  if (!parsed.ok()) return ToGrpcStatus(parsed.status());
  const SlotSet slots = *parsed;
  const std::string what = absl::StrCat("migration '", request->migration_id(),
                                        "' to ", request->target_node_id(),
                                        " (slots ", SlotSetString(slots), ")");
  if (grpc::Status go_on = CheckGoOn(context, slots); !go_on.ok()) {
    SC_LOG(INFO, "PullSlots for %s refused: %s", what, go_on.error_message());
    return go_on;
  }
  ++active_;
  struct Done {
    std::atomic<int>* active;
    ~Done() { --*active; }
  } done{&active_};

  // The backlog first, then the offset: every change after O is kept.
  log_->EnableBacklog();
  const std::string replication_id = log_->replication_id();
  const uint64_t begin_offset = log_->end_offset();
  const std::vector<uint32_t> slot_list = SlotList(slots);
  uint64_t key_count = 0;
  for (uint32_t slot : slot_list) key_count += store_->SlotKeyCount(slot);
  SC_LOG(INFO, "PullSlots for %s: snapshot of %d keys at %s offset %d", what,
         key_count, replication_id, begin_offset);

  v1::MigrationMessage out;
  v1::MigrationBegin* begin = out.mutable_begin();
  begin->set_replication_id(replication_id);
  begin->set_offset(begin_offset);
  begin->set_key_count(key_count);
  if (!writer->Write(out)) return WriteFailed(context, slots);

  auto backlog_lost = [](uint64_t offset) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("the replication backlog dropped this node's log "
                     "entries after offset ",
                     offset,
                     " before they were streamed; the import must start "
                     "over: raise --repl_backlog_bytes on the source"));
  };
  // Snapshot.
  bool broken = false;
  const absl::Time snapshot_start = absl::Now();
  uint64_t snapshot_bytes = 0;
  ChunkBuilder builder(options_.chunk_bytes, [&](v1::MigrationChunk* chunk) {
    out.Clear();
    out.mutable_chunk()->Swap(chunk);
    if (!writer->Write(out)) return false;
    if (options_.max_bytes_per_sec > 0) {
      // Sleep until the bytes sent so far fit the rate (each sleep is at
      // most one chunk's worth: CheckGoOn runs between chunks).
      snapshot_bytes += out.ByteSizeLong();
      const absl::Time due =
          snapshot_start +
          absl::Seconds(static_cast<double>(snapshot_bytes) /
                        static_cast<double>(options_.max_bytes_per_sec));
      const absl::Time now = absl::Now();
      if (due > now) absl::SleepFor(due - now);
    }
    return true;
  });
  std::vector<storage::KeyRecord> batch;
  for (uint32_t slot : slot_list) {
    uint64_t cursor = 0;
    do {
      if (grpc::Status go_on = CheckGoOn(context, slots); !go_on.ok()) {
        return go_on;
      }
      if (!log_->Retains(begin_offset)) return backlog_lost(begin_offset);
      batch.clear();
      cursor = store_->ScanSlot(
          slot, cursor, kScanBatch,
          [&](const storage::KeyRecord& r) { batch.push_back(r); });
      for (const storage::KeyRecord& r : batch) {
        if (!builder.Add(r)) {
          broken = true;
          break;
        }
      }
    } while (cursor != 0 && !broken);
    if (broken) break;
  }
  if (broken || !builder.Flush()) return WriteFailed(context, slots);
  out.Clear();
  out.mutable_snapshot_end();
  if (!writer->Write(out)) return WriteFailed(context, slots);
  SC_LOG(INFO, "PullSlots for %s: snapshot sent (%d keys); streaming writes",
         what, builder.records_added());

  // Tail: the log after O, filtered to the slots.
  uint64_t sent = begin_offset;
  // The first LogEntries goes out at once, even empty: it tells the target
  // the log's end (ImportStatus.source_offset) and starts its STREAMING.
  absl::Time last_write = absl::InfinitePast();
  for (;;) {
    if (grpc::Status go_on = CheckGoOn(context, slots); !go_on.ok()) {
      SC_LOG(INFO, "PullSlots for %s ended at offset %d: %s", what, sent,
             go_on.error_message());
      return go_on;
    }
    v1::LogEntries read;
    absl::Status status = log_->ReadAfter(sent, options_.chunk_bytes, &read);
    if (!status.ok()) {
      SC_LOG(WARNING, "PullSlots for %s: %s", what, status.message());
      return backlog_lost(sent);
    }
    if (read.entries().empty()) {
      if (absl::Now() - last_write >= options_.idle_tick) {
        out.Clear();
        out.mutable_entries()->set_primary_offset(sent);
        out.mutable_entries()->set_source_end_offset(log_->end_offset());
        if (!writer->Write(out)) return WriteFailed(context, slots);
        last_write = absl::Now();
      }
      log_->WaitForEntriesAfter(sent, options_.idle_tick);
      continue;
    }
    sent = read.entries(read.entries_size() - 1).offset();
    out.Clear();
    v1::LogEntries* entries = out.mutable_entries();
    FilterEntries(read, slots, entries);
    entries->set_primary_offset(sent);
    entries->set_source_end_offset(log_->end_offset());
    if (!writer->Write(out)) return WriteFailed(context, slots);
    last_write = absl::Now();
  }
}

}  // namespace slotcache::node::migration
