// CommandExecutor: runs one Redis-style command against the local store.
//
// The executor does no routing (slot ownership, READONLY, replica reads are
// the Dispatcher's job, decided from the command table's flags and keys
// before calling Execute) and no lookup: it gets the command's spec, already
// resolved (common/commands/command_table.h), and runs the spec's handler,
// which parses the options (SET ... NX EX 10), calls the storage engine and
// turns the outcome into a v1::Reply: a value, or a typed error
// (INVALID_ARGUMENT for bad syntax; WRONGTYPE; OOM; OUT_OF_RANGE). Nothing
// is changed when a command fails.
//
// Thread-safety: Execute may be called from many threads at once.
#ifndef SLOTCACHE_NODE_COMMANDS_EXECUTOR_H_
#define SLOTCACHE_NODE_COMMANDS_EXECUTOR_H_

#include "common/commands/command_table.h"
#include "node/storage/store.h"
#include "proto/cache.pb.h"

namespace slotcache::node {

class CommandExecutor {
 public:
  // `store` is not owned and must outlive the executor.
  explicit CommandExecutor(storage::Store* store);

  CommandExecutor(const CommandExecutor&) = delete;
  CommandExecutor& operator=(const CommandExecutor&) = delete;

  // Runs `command` and fills `reply` (reply->value or reply->error).
  // `spec` must be ResolveCommand(command)'s: the name matches and the
  // arity was checked.
  void Execute(const CommandSpec& spec, const v1::Command& command,
               v1::Reply* reply);

  // Resolves `command` (an unknown name or a wrong arity becomes the
  // reply's error), then runs it as above. For callers that have no
  // Dispatcher in front, such as storage-level tests and benchmarks.
  void Execute(const v1::Command& command, v1::Reply* reply);

 private:
  storage::Store* const store_;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_COMMANDS_EXECUTOR_H_
