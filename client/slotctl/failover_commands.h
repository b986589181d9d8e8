// slotctl's failover commands (docs/FAILOVER.md):
//   failover --shard=S [--to=NODE]   manual failover, waits for the outcome
//   cluster rebalance-primaries [--dry-run]
//                                    manual failovers that spread primaries
//                                    over the AZs again (rebalance_plan.h)
//
// Thread-safety: safe to call from any thread.
#ifndef SLOTCACHE_CLIENT_SLOTCTL_FAILOVER_COMMANDS_H_
#define SLOTCACHE_CLIENT_SLOTCTL_FAILOVER_COMMANDS_H_

#include <string>
#include <vector>

#include "client/slotctl/commands.h"

namespace slotcache::slotctl {

// Starts the manual failover of ctx.shard (to ctx.to, or the best replica)
// and follows its operation until it ends: exit 0 when it succeeded.
int Failover(const Context& ctx, const std::vector<std::string>& args);

// Prints the plan; unless ctx.dry_run, runs its moves one by one (stops at
// the first that fails: exit 1).
int RebalancePrimaries(const Context& ctx,
                       const std::vector<std::string>& args);

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_FAILOVER_COMMANDS_H_
