// slotctl's resharding commands (docs/RESHARDING.md). Each long one starts
// a coordinator operation and watches it (operation_watch.h: live
// progress, --output=json lines, exit 0 only on SUCCEEDED, Ctrl-C stops
// only the watching):
//   reshard --from=SHARD --to=SHARD --slots=N|RANGES
//   rebalance [--dry-run] [--by=slots|keys|bytes]   plan table, then run
//   shard add [--replicas=R]       new empty shard from unassigned nodes
//   shard remove SHARD             drain its slots, release its nodes
//   operation watch ID | operation cancel ID   any operation
//
// Thread-safety: safe to call from any thread (one watch at a time per
// process, see operation_watch.h).
#ifndef SLOTCACHE_CLIENT_SLOTCTL_RESHARD_COMMANDS_H_
#define SLOTCACHE_CLIENT_SLOTCTL_RESHARD_COMMANDS_H_

#include <string>
#include <vector>

#include "client/slotctl/commands.h"
#include "google/protobuf/repeated_field.h"
#include "proto/coordinator.pb.h"

namespace slotcache::slotctl {

int Reshard(const Context& ctx, const std::vector<std::string>& args);
int Rebalance(const Context& ctx, const std::vector<std::string>& args);
int ShardAdd(const Context& ctx, const std::vector<std::string>& args);
// args: {SHARD}.
int ShardRemove(const Context& ctx, const std::vector<std::string>& args);
// args: {ID}.
int OperationWatch(const Context& ctx, const std::vector<std::string>& args);
int OperationCancel(const Context& ctx, const std::vector<std::string>& args);

// The plan table `rebalance` prints: #, FROM, TO, SLOTS, RANGES, KEYS, MB
// (estimates; "-" when unknown), and a total line.
std::string FormatMovePlan(
    const google::protobuf::RepeatedPtrField<v1::SlotMove>& moves);

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_RESHARD_COMMANDS_H_
