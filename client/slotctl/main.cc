// slotctl: the slotcache operator CLI. Flags, wiring, run; the commands
// live in client/slotctl/commands.h.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "client/slotctl/commands.h"
#include "common/process.h"

ABSL_FLAG(std::string, coordinator, "127.0.0.1:6999",
          "HOST:PORT of the coordinator (cluster commands, get/set/del).");
ABSL_FLAG(std::string, target, "127.0.0.1:6999",
          "HOST:PORT of the coordinator or node that `ping` checks.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5),
          "Deadline for each call, e.g. 500ms or 10s.");
ABSL_FLAG(std::string, output, "human",
          "Output format: human or json (watched operations: one JSON "
          "object per line, the last is the finished operation).");
ABSL_FLAG(uint32_t, shards, 3, "cluster create: number of shards.");
ABSL_FLAG(uint32_t, replicas, 2,
          "cluster create, shard add: replicas per shard (0 to 5).");
ABSL_FLAG(std::string, shard, "", "failover: the shard to fail over.");
ABSL_FLAG(std::string, to, "",
          "failover: the replica to promote (default: the healthy, synced "
          "replica with the highest offset, preferring another AZ). "
          "reshard: the target shard.");
ABSL_FLAG(std::string, from, "", "reshard: the source shard.");
ABSL_FLAG(std::string, name, "",
          "backup create: the backup's name (default: from the time).");
ABSL_FLAG(std::string, slots, "",
          "reshard: a count N (N of the source's highest slots) or ranges "
          "like 0-99,200-200,300-310.");
ABSL_FLAG(std::string, by, "slots",
          "rebalance: what to even out across shards: slots, keys or bytes.");

ABSL_FLAG(bool, dry_run, false,
          "cluster rebalance-primaries, rebalance: print the plan, change "
          "nothing.");

int main(int argc, char** argv) {
  namespace ctl = slotcache::slotctl;
  const std::string usage = ctl::Usage();
  // Flags may be spelled with dashes (--dry-run), as in the docs; Abseil
  // knows them with underscores.
  std::vector<std::string> spelled(argv, argv + argc);
  std::vector<char*> argv_fixed;
  for (std::string& arg : spelled) {
    if (arg.rfind("--", 0) == 0) {
      const size_t end = std::min(arg.find('='), arg.size());
      std::replace(arg.begin() + 2, arg.begin() + end, '-', '_');
    }
    argv_fixed.push_back(arg.data());
  }
  std::vector<std::string> args =
      slotcache::ParseFlags(argc, argv_fixed.data(), usage);
  ctl::Context ctx;
  ctx.coordinator = absl::GetFlag(FLAGS_coordinator);
  ctx.target = absl::GetFlag(FLAGS_target);
  ctx.timeout = absl::GetFlag(FLAGS_timeout);
  ctx.shards = absl::GetFlag(FLAGS_shards);
  ctx.replicas = absl::GetFlag(FLAGS_replicas);
  ctx.shard = absl::GetFlag(FLAGS_shard);
  ctx.to = absl::GetFlag(FLAGS_to);
  ctx.from = absl::GetFlag(FLAGS_from);
  ctx.name = absl::GetFlag(FLAGS_name);
  ctx.slots = absl::GetFlag(FLAGS_slots);
  ctx.by = absl::GetFlag(FLAGS_by);
  ctx.dry_run = absl::GetFlag(FLAGS_dry_run);
  ctx.tty = isatty(STDOUT_FILENO) == 1;
  ctx.out = &std::cout;
  ctx.err = &std::cerr;
  const std::string output = absl::GetFlag(FLAGS_output);
  if (output == "json") {
    ctx.output = ctl::OutputFormat::kJson;
  } else if (output != "human") {
    std::cerr << "slotctl: --output must be human or json (got '" << output
              << "')\n";
    return ctl::kExitUsage;
  }
  return ctl::RunCommand(ctx, args);
}
