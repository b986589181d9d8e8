// Multi-key commands across slots: nodes refuse a command whose keys hash
// to different slots (CROSSSLOT), so the SDK splits MGET, MSET, DEL, EXISTS
// and UNLINK (the commands whose split column in common/commands/
// commands.def says how to merge) into one part per slot, sends the parts
// concurrently (they batch per node), and merges the replies back in the
// caller's key order.
//
// A split command is not atomic: when a part fails, the call fails with
// that part's error and the parts that succeeded stay applied, as with a
// Redis Cluster client.
//
// Thread-safety: pure functions.
#ifndef SLOTCACHE_CLIENT_SDK_MULTI_KEY_H_
#define SLOTCACHE_CLIENT_SDK_MULTI_KEY_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/commands/command_table.h"
#include "proto/cache.pb.h"

namespace slotcache {

struct SplitCommand {
  SplitMerge merge = SplitMerge::kNone;
  // Keys of the whole command.
  int keys = 0;
  // One command per slot, in slot order.
  std::vector<v1::Command> parts;
  // key_order[p][k]: the position, among the caller's keys, of part p's
  // k-th key.
  std::vector<std::vector<int>> key_order;
};

// The parts of `command` when it is a multi-key command whose keys hash to
// more than one slot; nullopt when it should be sent as it is (one slot,
// one key, not a splittable command, or malformed: the node answers it).
std::optional<SplitCommand> SplitPerSlot(const v1::Command& command);

// The caller's result from the parts' `results` (in `split.parts` order):
// the first failed part's error, INTERNAL when a part's reply has the wrong
// shape, otherwise the merged reply.
absl::StatusOr<v1::Value> MergeParts(
    const SplitCommand& split, std::vector<absl::StatusOr<v1::Value>> results);

}  // namespace slotcache

#endif  // SLOTCACHE_CLIENT_SDK_MULTI_KEY_H_
