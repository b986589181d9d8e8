// slotctl's commands as data: a table of (words, arguments, help,
// handler). client/slotctl/main.cc parses flags into a Context and calls
// RunCommand; tests call RunCommand with string streams.
//
// Exit codes: kExitOk (0) success; kExitFailed (1) the command or check
// failed (server error, failed check, key not found is NOT a failure);
// kExitUsage (2) the command line was wrong; kExitInterrupted (130,
// operation_watch.h) Ctrl-C stopped watching an operation.
//
// Thread-safety: RunCommand is safe to call from any thread.
#ifndef SLOTCACHE_CLIENT_SLOTCTL_COMMANDS_H_
#define SLOTCACHE_CLIENT_SLOTCTL_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace slotcache::slotctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

enum class OutputFormat { kHuman, kJson };

struct Context {
  // host:port of the coordinator (cluster commands, get/set/del routing).
  std::string coordinator;
  // host:port for `ping`.
  std::string target;
  absl::Duration timeout = absl::Seconds(5);
  OutputFormat output = OutputFormat::kHuman;
  // Whether ctx.out is a terminal: watched operations then redraw one
  // progress line instead of printing a line per update.
  bool tty = false;
  // For `cluster create`; `replicas` also for `shard add`.
  uint32_t shards = 3;
  uint32_t replicas = 2;
  // For `failover`: the shard, and the replica to promote ("" = best).
  // For `reshard`: `to` is the target shard.
  std::string shard;
  std::string to;
  // For `reshard`: the source shard and the slots (a count N or ranges,
  // client/slotctl/slot_spec.h).
  std::string from;
  std::string slots;
  // For `rebalance`: "slots" (default), "keys" or "bytes".
  std::string by = "slots";
  // For `backup create`: the backup's name ("" = made from the time).
  // `backup restore` uses `shards` and `replicas`.
  std::string name;
  // For `cluster rebalance-primaries` and `rebalance`: print the plan only.
  bool dry_run = false;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

struct Command {
  // e.g. {"cluster", "create"}.
  std::vector<std::string> words;
  // Positional arguments after the words, e.g. "KEY VALUE".
  std::string arguments;
  std::string help;
  // Number of positional arguments accepted.
  size_t min_args = 0;
  size_t max_args = 0;
  std::function<int(const Context&, const std::vector<std::string>& args)> run;
};

// Every command, in help order.
const std::vector<Command>& Commands();

// The usage text, listing every command.
std::string Usage();

// Finds the command named by the leading `args` and runs it with the rest.
// Unknown commands and wrong argument counts print the usage to ctx.err
// and return kExitUsage.
int RunCommand(const Context& ctx, const std::vector<std::string>& args);

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_COMMANDS_H_
