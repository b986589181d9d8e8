// NodeAdminService's slot-migration RPCs (docs/RESHARDING.md).
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/slot.h"
#include "common/status.h"
#include "node/migration/migration_records.h"
#include "node/server/admin_service.h"

namespace slotcache::node {
namespace {

// The longest slot pause accepted: the coordinator asks for lease + drift
// margin plus the catch-up time (seconds at most).
constexpr uint32_t kMaxSlotPauseMs = 60000;

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context,
                               const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

absl::Status NodeAdminServiceImpl::MigrationReady() const {
  if (importer_ != nullptr && log_ != nullptr) return absl::OkStatus();
  return absl::UnimplementedError(
      "this node serves no slot migration (started without an importer)");
}

grpc::ServerUnaryReactor* NodeAdminServiceImpl::StartImport(
    grpc::CallbackServerContext* context, const v1::StartImportRequest* request,
    v1::StartImportResponse* /*response*/) {
  if (absl::Status s = MigrationReady(); !s.ok()) return Done(context, s);
  absl::StatusOr<migration::SlotSet> slots =
      migration::SlotSetFromRanges(request->slots());
  if (!slots.ok()) return Done(context, slots.status());
  return Done(context,
              importer_->StartImport(request->migration_id(),
                                     request->source_address(), *slots));
}

grpc::ServerUnaryReactor* NodeAdminServiceImpl::GetImportStatus(
    grpc::CallbackServerContext* context,
    const v1::ImportStatusRequest* request, v1::ImportStatus* response) {
  if (absl::Status s = MigrationReady(); !s.ok()) return Done(context, s);
  absl::StatusOr<v1::ImportStatus> status =
      importer_->GetImportStatus(request->migration_id());
  if (status.ok()) *response = *std::move(status);
  return Done(context, status.status());
}

grpc::ServerUnaryReactor* NodeAdminServiceImpl::FinishImport(
    grpc::CallbackServerContext* context,
    const v1::FinishImportRequest* request, v1::ImportStatus* response) {
  if (absl::Status s = MigrationReady(); !s.ok()) return Done(context, s);
  absl::StatusOr<v1::ImportStatus> status =
      importer_->FinishImport(request->migration_id());
  if (status.ok()) *response = *std::move(status);
  return Done(context, status.status());
}

grpc::ServerUnaryReactor* NodeAdminServiceImpl::AbortImport(
    grpc::CallbackServerContext* context, const v1::AbortImportRequest* request,
    v1::AbortImportResponse* response) {
  if (absl::Status s = MigrationReady(); !s.ok()) return Done(context, s);
  absl::StatusOr<migration::SlotSet> slots =
      migration::SlotSetFromRanges(request->slots());
  if (!slots.ok()) return Done(context, slots.status());
  absl::StatusOr<uint64_t> dropped =
      importer_->AbortImport(request->migration_id(), *slots);
  if (dropped.ok()) response->set_keys_dropped(*dropped);
  return Done(context, dropped.status());
}

grpc::ServerUnaryReactor* NodeAdminServiceImpl::PauseSlotWrites(
    grpc::CallbackServerContext* context,
    const v1::PauseSlotWritesRequest* request,
    v1::PauseSlotWritesResponse* response) {
  if (absl::Status s = MigrationReady(); !s.ok()) return Done(context, s);
  if (request->duration_ms() == 0 || request->duration_ms() > kMaxSlotPauseMs) {
    return Done(context,
                InvalidInputError(absl::StrCat(
                    "PauseSlotWrites duration_ms must be 1..", kMaxSlotPauseMs,
                    ", got ", request->duration_ms())));
  }
  if (request->migration_id().empty()) {
    return Done(context, InvalidInputError(
                             "PauseSlotWrites needs the migration_id (it is "
                             "what ResumeSlotWrites names)"));
  }
  absl::StatusOr<migration::SlotSet> slots =
      migration::SlotSetFromRanges(request->slots());
  if (!slots.ok()) return Done(context, slots.status());
  absl::Status paused = cluster_->PauseSlotWrites(
      request->migration_id(), migration::SlotList(*slots),
      absl::Milliseconds(request->duration_ms()));
  if (!paused.ok()) return Done(context, paused);
  // Every write admitted before the pause has finished, so each of them
  // reserved an offset at or below this.
  response->set_replication_id(log_->replication_id());
  response->set_offset(log_->reserved_offset());
  SC_LOG(INFO,
         "writes to slots %s paused for %dms for migration '%s' at offset %d",
         migration::SlotSetString(*slots), request->duration_ms(),
         request->migration_id(), response->offset());
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* NodeAdminServiceImpl::ResumeSlotWrites(
    grpc::CallbackServerContext* context,
    const v1::ResumeSlotWritesRequest* request,
    v1::ResumeSlotWritesResponse* /*response*/) {
  cluster_->ResumeSlotWrites(request->migration_id());
  return Done(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* NodeAdminServiceImpl::GetSlotStats(
    grpc::CallbackServerContext* context,
    const v1::SlotStatsRequest* /*request*/, v1::SlotStatsResponse* response) {
  uint64_t keys = 0;
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    const int64_t n = store_->SlotKeyCount(slot);
    if (n <= 0) continue;
    v1::SlotStatsResponse::Slot* s = response->add_slots();
    s->set_slot(slot);
    s->set_keys(static_cast<uint64_t>(n));
    keys += static_cast<uint64_t>(n);
  }
  const int64_t used = store_->UsedMemory();
  response->set_bytes_per_key(
      keys == 0 || used <= 0 ? 0 : static_cast<uint64_t>(used) / keys);
  return Done(context, absl::OkStatus());
}

}  // namespace slotcache::node
