#include "node/server/dispatcher.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/commands/command_table.h"
#include "common/slot.h"
#include "common/status.h"

namespace slotcache::node {
namespace {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points past U+10FFFF).
bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t min, cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

}  // namespace

Dispatcher::Dispatcher(CommandExecutor* executor, const RequestLimits& limits,
                       CommandObserver* observer)
    : executor_(executor), limits_(limits), observer_(observer) {}

absl::Status Dispatcher::CheckRequest(size_t message_bytes,
                                      size_t num_commands) const {
  if (message_bytes > limits_.max_message_bytes) {
    return InvalidInputError(absl::StrCat(
        "request of ", message_bytes,
        " bytes exceeds the node's max_message_bytes limit (",
        limits_.max_message_bytes,
        "); nothing was executed: split it into smaller requests"));
  }
  if (num_commands > limits_.max_batch_commands) {
    return InvalidInputError(
        absl::StrCat("batch of ", num_commands,
                     " commands exceeds the node's max_batch_commands limit (",
                     limits_.max_batch_commands,
                     "); nothing was executed: split it into smaller batches"));
  }
  return absl::OkStatus();
}

absl::StatusOr<const CommandSpec*> Dispatcher::Admit(
    const v1::Command& command, const RoutingView& view) const {
  // 1. The command table, and 2. arity.
  absl::StatusOr<const CommandSpec*> resolved = ResolveCommand(command);
  if (!resolved.ok()) return resolved.status();
  const CommandSpec* spec = *resolved;
  // 3. Size limits, and 4. the keys' slot.
  const int argc = command.args_size();
  const KeyPositions keys = KeyPositionsOf(*spec, argc);
  uint32_t slot = kNumSlots;  // None yet.
  for (int i = 0; i < argc; ++i) {
    const std::string& arg = command.args(i);
    if (keys.Contains(i)) {
      if (arg.size() > limits_.max_key_bytes) {
        return InvalidInputError(absl::StrCat(
            "key of ", arg.size(), " bytes (argument ", i, " of ", spec->name,
            ") exceeds the node's max_key_bytes limit (", limits_.max_key_bytes,
            "); nothing was changed"));
      }
      uint32_t key_slot = KeySlot(arg);
      if (slot == kNumSlots) {
        slot = key_slot;
      } else if (key_slot != slot && !view.table().standalone) {
        // A standalone node owns every slot and has no cluster clients to
        // keep consistent with, so like a single Redis (cluster mode
        // disabled) it runs multi-key commands across slots; routing below
        // checks the first key's slot, which it owns like all others.
        // CROSSSLOT is a cluster-mode rule: keys of one command may live
        // on different shards there.
        return CrossSlotError(absl::StrCat(
            "CROSSSLOT keys of ", spec->name, " hash to different slots (",
            slot, " and ", key_slot,
            "); a multi-key command needs all keys in one slot: give them "
            "a common hash tag like {user42}, or send one command per key"));
      }
    } else if (arg.size() > limits_.max_value_bytes) {
      return InvalidInputError(
          absl::StrCat("argument ", i, " of ", spec->name, " is ", arg.size(),
                       " bytes and exceeds the node's max_value_bytes limit (",
                       limits_.max_value_bytes, "); nothing was changed"));
    }
  }
  // 5. Routing.
  const Access access =
      (spec->flags & kWrite) != 0 ? Access::kWrite : Access::kRead;
  // Neither keys nor kNodeWide: the command may run on any node.
  absl::Status routed = absl::OkStatus();
  if (!keys.empty()) {
    routed = view.RouteSlot(slot, access);
  } else if ((spec->flags & kNodeWide) != 0) {
    routed = view.RouteNodeWide(access);
  }
  if (!routed.ok()) return routed;
  return spec;
}

void Dispatcher::Dispatch(const v1::Command& command, const RoutingView& view,
                          v1::Reply* reply) const {
  absl::StatusOr<const CommandSpec*> spec = Admit(command, view);
  if (!spec.ok()) {
    *reply->mutable_error() = ErrorOf(spec.status());
    return;
  }
  if (observer_ == nullptr) {
    Execute(**spec, command, reply);
    return;
  }
  const int64_t start_ns = absl::GetCurrentTimeNanos();
  Execute(**spec, command, reply);
  observer_->OnCommand(**spec, command, *reply,
                       absl::GetCurrentTimeNanos() - start_ns);
}

void Dispatcher::Execute(const CommandSpec& spec, const v1::Command& command,
                         v1::Reply* reply) const {
  executor_->Execute(spec, command, reply);  // 6.
  // Error texts may quote client bytes (e.g. a non-numeric INCRBY delta).
  // Error.message is a proto3 string, which must be UTF-8: gRPC would
  // otherwise fail to send the whole response (every reply of a batch).
  if (reply->has_error() && !IsValidUtf8(reply->error().message())) {
    reply->mutable_error()->set_message(
        absl::CHexEscape(reply->error().message()));
  }
}

}  // namespace slotcache::node
