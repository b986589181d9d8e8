// The node's command table and executor: Redis-style commands as data.
//
// Layers (see docs/ARCHITECTURE.md): the gRPC service (node/server) parses
// nothing itself; it looks a command up here to learn its flags and key
// positions (for slot routing, READONLY and OOM checks), then hands it to
// CommandExecutor, whose Cmd* handlers parse arguments and call the storage
// engine's Op* functions (node/storage).
//
// Thread-safety: FindCommand and CommandKeys are pure. A CommandExecutor is
// safe to call from many threads at once (the store synchronises).
#ifndef SLOTCACHE_NODE_COMMANDS_COMMAND_TABLE_H_
#define SLOTCACHE_NODE_COMMANDS_COMMAND_TABLE_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "proto/cache.pb.h"

namespace slotcache::node {

// Bit flags of a command.
enum CommandFlag : uint32_t {
  // Changes data: refused on replicas (READONLY) and, when it may grow
  // memory, under maxmemory/noeviction (OOM).
  kWrite = 1u << 0,
  // Only reads data: allowed on replicas when the client asks for it.
  kReadOnly = 1u << 1,
  // May allocate memory (SET, HSET, APPEND...); refused with OOM when the
  // store is full and cannot evict. DEL/UNLINK are writes without this.
  kDenyOom = 1u << 2,
  // Touches the whole node, not keys (DBSIZE, FLUSHALL, SCAN, RANDOMKEY).
  kNodeWide = 1u << 3,
};

struct CommandSpec {
  // Upper-case name, e.g. "HSET".
  absl::string_view name;
  // Redis convention, counting the name itself: N > 0 means exactly N
  // words; N < 0 means at least -N words.
  int arity;
  uint32_t flags;
  // Key positions as indices into Command.args (the name excluded):
  // first_key < 0 means the command has no keys; last_key < 0 counts from
  // the end (-1 = the last argument); key_step is the distance between keys
  // (2 for MSET k1 v1 k2 v2).
  int first_key;
  int last_key;
  int key_step;
};

// The spec of `name` (case-insensitive), or nullptr for an unknown command.
const CommandSpec* FindCommand(absl::string_view name);

// Every command of the table, for documentation and tests.
const std::vector<CommandSpec>& AllCommands();

// The keys of `command` according to `spec`. Assumes the arity was checked
// (CheckArity); never reads past the arguments.
std::vector<absl::string_view> CommandKeys(const CommandSpec& spec,
                                           const v1::Command& command);

// True when `command` has a number of words that `spec.arity` allows.
bool HasValidArity(const CommandSpec& spec, const v1::Command& command);

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_COMMANDS_COMMAND_TABLE_H_
