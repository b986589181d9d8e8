#include "client/sdk/multi_key.h"

#include <cstdint>
#include <utility>

#include "absl/container/btree_map.h"
#include "client/sdk/replies.h"
#include "common/slot.h"

namespace slotcache {

std::optional<SplitCommand> SplitPerSlot(const v1::Command& command) {
  const CommandSpec* spec = FindCommand(command.name());
  if (spec == nullptr || spec->split == SplitMerge::kNone) return std::nullopt;
  // Each key travels with the key_step - 1 arguments after it (MSET's
  // value); the table guarantees the keys run from the first argument to
  // the last (command_table_test).
  const int step = spec->key_step;
  const KeyPositions keys = KeyPositionsOf(*spec, command.args_size());
  if (!HasValidArity(*spec, command) || command.args_size() % step != 0 ||
      keys.size() < 2) {
    return std::nullopt;
  }
  // Slot -> the key ordinals of its keys, in caller order.
  absl::btree_map<uint32_t, std::vector<int>> groups;
  for (int i = keys.first, ordinal = 0; i <= keys.last; i += step, ++ordinal) {
    groups[KeySlot(command.args(i))].push_back(ordinal);
  }
  if (groups.size() == 1) return std::nullopt;

  SplitCommand split;
  split.merge = spec->split;
  split.keys = keys.size();
  for (auto& [slot, ordinals] : groups) {
    v1::Command part;
    part.set_name(command.name());
    for (int ordinal : ordinals) {
      const int first = keys.first + ordinal * step;
      for (int j = 0; j < step; ++j) part.add_args(command.args(first + j));
    }
    split.parts.push_back(std::move(part));
    split.key_order.push_back(std::move(ordinals));
  }
  return split;
}

absl::StatusOr<v1::Value> MergeParts(
    const SplitCommand& split, std::vector<absl::StatusOr<v1::Value>> results) {
  v1::Value merged;
  std::vector<v1::Value> by_key(split.keys);
  int64_t sum = 0;
  for (size_t p = 0; p < results.size(); ++p) {
    absl::StatusOr<v1::Value>& r = results[p];
    if (!r.ok()) return r.status();
    switch (split.merge) {
      case SplitMerge::kSum:
        if (r->kind_case() != v1::Value::kInteger) {
          return UnexpectedReply("an integer", *r);
        }
        sum += r->integer();
        break;
      case SplitMerge::kArray: {
        const std::vector<int>& order = split.key_order[p];
        if (r->kind_case() != v1::Value::kArray ||
            r->array().values_size() != static_cast<int>(order.size())) {
          return UnexpectedReply("an array, one value per key", *r);
        }
        for (size_t k = 0; k < order.size(); ++k) {
          by_key[order[k]] = std::move(*r->mutable_array()->mutable_values(k));
        }
        break;
      }
      case SplitMerge::kOk:
      case SplitMerge::kNone:
        break;
    }
  }
  switch (split.merge) {
    case SplitMerge::kSum:
      merged.set_integer(sum);
      break;
    case SplitMerge::kArray:
      for (v1::Value& v : by_key) {
        *merged.mutable_array()->add_values() = std::move(v);
      }
      break;
    case SplitMerge::kOk:
      merged.set_status("OK");
      break;
    case SplitMerge::kNone:
      break;  // SplitPerSlot never builds one.
  }
  return merged;
}

}  // namespace slotcache
