#include "node/commands/command_table.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"

namespace slotcache::node {
namespace {

constexpr uint32_t kW = kWrite;
constexpr uint32_t kR = kReadOnly;
constexpr uint32_t kM = kDenyOom;
constexpr uint32_t kN = kNodeWide;

// The table. Arity and key positions follow Redis 7's COMMAND output, with
// key positions shifted by one because Command.args excludes the name.
const std::vector<CommandSpec>& Table() {
  static const auto* const table = new std::vector<CommandSpec>{
      // name, arity, flags, first_key, last_key, key_step
      // Strings.
      {"GET", 2, kR, 0, 0, 1},
      {"SET", -3, kW | kM, 0, 0, 1},
      {"GETEX", -2, kW, 0, 0, 1},
      {"GETDEL", 2, kW, 0, 0, 1},
      {"APPEND", 3, kW | kM, 0, 0, 1},
      {"STRLEN", 2, kR, 0, 0, 1},
      {"MGET", -2, kR, 0, -1, 1},
      {"MSET", -3, kW | kM, 0, -1, 2},
      {"INCR", 2, kW | kM, 0, 0, 1},
      {"DECR", 2, kW | kM, 0, 0, 1},
      {"INCRBY", 3, kW | kM, 0, 0, 1},
      {"DECRBY", 3, kW | kM, 0, 0, 1},
      {"INCRBYFLOAT", 3, kW | kM, 0, 0, 1},
      // Keys.
      {"DEL", -2, kW, 0, -1, 1},
      {"UNLINK", -2, kW, 0, -1, 1},
      {"EXISTS", -2, kR, 0, -1, 1},
      {"TYPE", 2, kR, 0, 0, 1},
      {"EXPIRE", -3, kW, 0, 0, 1},
      {"PEXPIRE", -3, kW, 0, 0, 1},
      {"EXPIREAT", -3, kW, 0, 0, 1},
      {"PEXPIREAT", -3, kW, 0, 0, 1},
      {"PERSIST", 2, kW, 0, 0, 1},
      {"TTL", 2, kR, 0, 0, 1},
      {"PTTL", 2, kR, 0, 0, 1},
      // Hashes.
      {"HSET", -4, kW | kM, 0, 0, 1},
      {"HGET", 3, kR, 0, 0, 1},
      {"HMGET", -3, kR, 0, 0, 1},
      {"HDEL", -3, kW, 0, 0, 1},
      {"HGETALL", 2, kR, 0, 0, 1},
      {"HINCRBY", 4, kW | kM, 0, 0, 1},
      {"HLEN", 2, kR, 0, 0, 1},
      {"HEXISTS", 3, kR, 0, 0, 1},
      // Whole node.
      {"DBSIZE", 1, kR | kN, -1, -1, 0},
      {"FLUSHALL", -1, kW | kN, -1, -1, 0},
      {"RANDOMKEY", 1, kR | kN, -1, -1, 0},
      {"SCAN", -2, kR | kN, -1, -1, 0},
      {"PING", -1, kR | kN, -1, -1, 0},
  };
  return *table;
}

const absl::flat_hash_map<std::string, const CommandSpec*>& Index() {
  static const auto* const index = [] {
    auto* m = new absl::flat_hash_map<std::string, const CommandSpec*>();
    for (const CommandSpec& spec : Table()) {
      (*m)[std::string(spec.name)] = &spec;
    }
    return m;
  }();
  return *index;
}

}  // namespace

const CommandSpec* FindCommand(absl::string_view name) {
  // Command names are short; a stack copy avoids an allocation per lookup.
  char upper[32];
  if (name.empty() || name.size() > sizeof(upper)) return nullptr;
  for (size_t i = 0; i < name.size(); ++i) {
    upper[i] = absl::ascii_toupper(static_cast<unsigned char>(name[i]));
  }
  const auto& index = Index();
  auto it = index.find(absl::string_view(upper, name.size()));
  return it == index.end() ? nullptr : it->second;
}

const std::vector<CommandSpec>& AllCommands() { return Table(); }

std::vector<absl::string_view> CommandKeys(const CommandSpec& spec,
                                           const v1::Command& command) {
  std::vector<absl::string_view> keys;
  const int n = command.args_size();
  if (spec.first_key < 0 || spec.key_step <= 0) return keys;
  const int last = spec.last_key < 0 ? n + spec.last_key : spec.last_key;
  for (int i = spec.first_key; i <= last && i < n; i += spec.key_step) {
    keys.push_back(command.args(i));
  }
  return keys;
}

bool HasValidArity(const CommandSpec& spec, const v1::Command& command) {
  const int words = command.args_size() + 1;
  return spec.arity >= 0 ? words == spec.arity : words >= -spec.arity;
}

}  // namespace slotcache::node
