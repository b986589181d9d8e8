// Dispatcher: the transport-independent path every command takes on the
// node, shared by Execute, Batch and Pipeline.
//
// Per request (CheckRequest): the message size and the number of commands
// against the configured limits. Per command (Dispatch), in this order:
//   1. look the command up in the command table (unknown -> INVALID_ARGUMENT)
//   2. check its arity (-> INVALID_ARGUMENT); 1 and 2 are ResolveCommand
//      (common/commands/command_table.h), done once: the executor trusts
//      the spec it is handed
//   3. check every key against max_key_bytes and every other argument
//      against max_value_bytes (-> INVALID_ARGUMENT naming the limit)
//   4. hash the keys to slots; a multi-key command's keys must share one
//      slot (-> CROSSSLOT)
//   5. route the slot (or the node, for node-wide commands) through the
//      request's RoutingView (-> MOVED / READONLY / CLUSTERDOWN, see
//      node/cluster/cluster_state.h for the rules)
//   6. run it on the CommandExecutor (-> a value, or WRONGTYPE, OOM, ...)
// A command refused in steps 1-5 changes nothing.
//
// Thread-safety: Dispatch and CheckRequest may be called from many threads
// at once; the dispatcher holds no mutable state.
#ifndef SLOTCACHE_NODE_SERVER_DISPATCHER_H_
#define SLOTCACHE_NODE_SERVER_DISPATCHER_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/commands/command_table.h"
#include "node/cluster/cluster_state.h"
#include "node/commands/executor.h"
#include "proto/cache.pb.h"

namespace slotcache::node {

// Size limits on what clients send. Defaults follow Redis where it has one.
struct RequestLimits {
  // Longest key, in bytes.
  uint64_t max_key_bytes = 64 * 1024;
  // Longest non-key argument (a value, a field, an option), in bytes
  // (Redis proto-max-bulk-len: 512 MiB).
  uint64_t max_value_bytes = 512ull * 1024 * 1024;
  // Most commands in one Batch request or one Pipeline message.
  uint64_t max_batch_commands = 10000;
  // Largest request message, in bytes (its serialized protobuf size).
  uint64_t max_message_bytes = 512ull * 1024 * 1024 + 64 * 1024;
};

// Told about every command that ran (step 6), with its wall time; commands
// refused in steps 1-5 are not reported. Called on the request's thread, on
// the data path: implementations must be cheap and thread-safe
// (node/metrics/command_stats.h is the one the node uses).
class CommandObserver {
 public:
  virtual ~CommandObserver() = default;
  virtual void OnCommand(const CommandSpec& spec, const v1::Command& command,
                         const v1::Reply& reply, int64_t duration_ns) = 0;
};

class Dispatcher {
 public:
  // `executor` is not owned and must outlive the dispatcher; so must
  // `observer` (nullptr: none, and no clock reads).
  Dispatcher(CommandExecutor* executor, const RequestLimits& limits,
             CommandObserver* observer = nullptr);

  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // INVALID_ARGUMENT naming the limit when a request of `message_bytes`
  // with `num_commands` commands is too large; such a request must be
  // refused as a whole, before any of its commands runs.
  absl::Status CheckRequest(size_t message_bytes, size_t num_commands) const;

  // Runs `command` (steps 1-6 above) and fills `reply` with its value or
  // its typed error. `view` is the request's routing snapshot.
  void Dispatch(const v1::Command& command, const RoutingView& view,
                v1::Reply* reply) const;

  const RequestLimits& limits() const { return limits_; }

 private:
  // Steps 1-5: the command's spec when it may run here.
  absl::StatusOr<const CommandSpec*> Admit(const v1::Command& command,
                                           const RoutingView& view) const;
  // Step 6, keeping error texts valid UTF-8.
  void Execute(const CommandSpec& spec, const v1::Command& command,
               v1::Reply* reply) const;

  // Constant after construction.
  CommandExecutor* const executor_;
  const RequestLimits limits_;
  CommandObserver* const observer_;
};

}  // namespace slotcache::node

#endif  // SLOTCACHE_NODE_SERVER_DISPATCHER_H_
