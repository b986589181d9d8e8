// Operations run by components outside the Coordinator class (backup and
// restore): see BeginOperation in coordinator.h.
#include <utility>

#include "absl/strings/str_cat.h"
#include "coordinator/coordinator.h"

namespace slotcache::coordinator {

absl::StatusOr<v1::Operation> Coordinator::BeginOperation(
    const std::string& kind, const std::string& message,
    const std::string& progress, const std::string& event_kind,
    const std::string& event) {
  absl::MutexLock lock(&mu_);
  if (shutdown_) return absl::UnavailableError("coordinator is shutting down");
  const StoredMeta meta_before = meta_;
  meta_.set_last_operation_number(meta_.last_operation_number() + 1);
  v1::Operation op;
  op.set_id(absl::StrCat("op-", meta_.last_operation_number()));
  op.set_kind(kind);
  op.set_state(v1::Operation::RUNNING);
  op.set_created_unix_ms(absl::ToUnixMillis(options_.clock->Now()));
  op.set_message(message);
  op.set_progress(progress);
  StateUpdate update;
  update.operations.push_back(op);
  if (absl::Status s = CommitLocked(
          std::move(update), {{event_kind, absl::StrCat(op.id(), ": ", event)}},
          /*new_map=*/false);
      !s.ok()) {
    meta_ = meta_before;
    return s;
  }
  return op;
}

void Coordinator::SetOperationProgress(const std::string& id,
                                       const std::string& progress) {
  absl::MutexLock lock(&mu_);
  if (v1::Operation* op = FindOperationLocked(id); op != nullptr) {
    op->set_progress(progress);
  }
}

absl::Status Coordinator::FinishOperation(const std::string& id,
                                          v1::Operation::State state,
                                          const std::string& outcome,
                                          const std::string& event_kind,
                                          const std::string& event) {
  absl::MutexLock lock(&mu_);
  v1::Operation* found = FindOperationLocked(id);
  if (found == nullptr) {
    return absl::NotFoundError(absl::StrCat("no operation ", id));
  }
  v1::Operation op = *found;
  op.set_state(state);
  op.set_finished_unix_ms(absl::ToUnixMillis(options_.clock->Now()));
  op.set_progress(outcome);
  StateUpdate update;
  update.operations.push_back(std::move(op));
  return CommitLocked(std::move(update),
                      {{event_kind, absl::StrCat(id, ": ", event)}},
                      /*new_map=*/false);
}

absl::Status Coordinator::RecordEvent(const std::string& kind,
                                      const std::string& message) {
  absl::MutexLock lock(&mu_);
  return CommitLocked(StateUpdate(), {{kind, message}}, /*new_map=*/false);
}

}  // namespace slotcache::coordinator
