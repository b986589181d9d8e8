// CommandExecutor: runs one Redis-style command against the local store.
//
// The executor does no routing (slot ownership, READONLY, replica reads are
// the service's job, decided from the command table's flags and keys before
// calling Execute). It checks arity and syntax, parses options (SET ... NX
// EX 10), calls the storage engine and turns the outcome into a v1::Reply:
// a value, or a typed error (INVALID_ARGUMENT for unknown commands, wrong
// arity or syntax; WRONGTYPE; OOM; OUT_OF_RANGE). Nothing is changed when
// a command fails.
//
// Thread-safety: Execute may be called from many threads at once.
#ifndef SLOTCACHE_NODE_COMMANDS_EXECUTOR_H_
#define SLOTCACHE_NODE_COMMANDS_EXECUTOR_H_

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
  void Execute(const v1::Command& command, v1::Reply* reply);

 private:
  storage::Store* const store_;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_COMMANDS_EXECUTOR_H_
