// The command table: what slotcache knows about each command (name, arity,
// flags, key positions, how the SDK splits it), shared by the node and the
// SDK. Commands are data, as in Redis: every command is one line of
// common/commands/commands.def, which this library expands into the spec
// table and the node's executor expands into its handler table
// (node/commands/executor.cc).
//
// Users:
// - the node's Dispatcher (node/server/dispatcher.h) resolves a command once
//   (ResolveCommand), checks its keys (KeyPositionsOf) against the size
//   limits and the slot map, then hands the spec to the CommandExecutor;
// - the SDK (client/sdk) routes by the first key, picks replicas only for
//   kReadOnly commands, and splits multi-key commands per slot.
//
// Thread-safety: every function is pure (the table is constant) and safe
// from any thread.
#ifndef SLOTCACHE_COMMON_COMMANDS_COMMAND_TABLE_H_
#define SLOTCACHE_COMMON_COMMANDS_COMMAND_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "proto/cache.pb.h"

namespace slotcache {

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

// How the SDK runs a multi-key command whose keys hash to several slots
// (nodes refuse such a command with CROSSSLOT): one part per slot, each
// key with the key_step - 1 arguments after it, and the parts' replies
// merged back in the caller's key order.
enum class SplitMerge {
  kNone,   // Never split: the node answers it as it is.
  kArray,  // One array element per key (MGET).
  kSum,    // Integers added up (DEL, UNLINK, EXISTS).
  kOk,     // "OK" when every part said OK (MSET).
};

// One id per line of commands.def, in its order: the index of the
// command's spec in AllCommands() and of its handler in the executor.
enum class CommandId : uint16_t {
#define SLOTCACHE_COMMAND(name, ...) k##name,
#include "common/commands/commands.def"
#undef SLOTCACHE_COMMAND
};

struct CommandSpec {
  CommandId id;
  // Upper-case name, e.g. "HSET".
  absl::string_view name;
  // The columns of commands.def, documented there.
  int arity;
  uint32_t flags;
  int first_key;
  int last_key;
  int key_step;
  SplitMerge split;
};

// Where the keys of one command are among its arguments: indices first,
// first + step, ... up to last (inclusive), never past the arguments.
// Computing it allocates nothing, so the node's hot path can use it.
struct KeyPositions {
  int first = 0;
  int last = -1;
  int step = 1;

  bool empty() const { return first > last; }
  // Number of keys.
  int size() const { return empty() ? 0 : (last - first) / step + 1; }
  bool Contains(int index) const {
    return index >= first && index <= last && (index - first) % step == 0;
  }
};

// The key positions of a command of `spec` with `argc` arguments (the name
// excluded). THE one place key positions are computed. Safe with any argc,
// also one the arity does not allow.
KeyPositions KeyPositionsOf(const CommandSpec& spec, int argc);

// The spec of `name` (case-insensitive), or nullptr for an unknown command.
const CommandSpec* FindCommand(absl::string_view name);

// The spec of `command` when its name is known and its number of words is
// one its arity allows; INVALID_ARGUMENT saying which and what to do
// otherwise. The node calls this once per command, before anything else.
absl::StatusOr<const CommandSpec*> ResolveCommand(const v1::Command& command);

// Every command of the table, in commands.def order (index = CommandId).
absl::Span<const CommandSpec> AllCommands();

// True when `command` has a number of words that `spec.arity` allows.
bool HasValidArity(const CommandSpec& spec, const v1::Command& command);

// The keys of `command` according to `spec`, copied out of
// KeyPositionsOf for callers off the hot path.
std::vector<absl::string_view> CommandKeys(const CommandSpec& spec,
                                           const v1::Command& command);

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_COMMANDS_COMMAND_TABLE_H_
