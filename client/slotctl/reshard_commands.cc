#include "client/slotctl/reshard_commands.h"

#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/slotctl/command_util.h"
#include "client/slotctl/operation_watch.h"
#include "client/slotctl/progress.h"
#include "client/slotctl/slot_spec.h"

namespace slotcache::slotctl {
namespace {

int Usage(const Context& ctx, absl::string_view what) {
  *ctx.err << "slotctl: " << what << "\n";
  return kExitUsage;
}

// Follows `op` (just started) with the commands' watch options.
int Watch(const Context& ctx, const v1::Operation& op) {
  if (ctx.output == OutputFormat::kHuman) {
    *ctx.out << op.id() << " " << op.kind() << " started"
             << (op.message().empty() ? "" : ": ") << op.message()
             << "\n  (Ctrl-C stops watching; `slotctl operation cancel "
             << op.id() << "` stops the operation)\n";
  }
  std::unique_ptr<OperationSource> source = CoordinatorOperations(ctx);
  return WatchOperation(ctx, *source, op.id(), CommandWatchOptions());
}

std::string Estimate(uint64_t value, bool bytes) {
  if (value == 0) return "-";
  return bytes ? absl::StrFormat("%.1f", static_cast<double>(value) / 1e6)
               : FormatCount(value);
}

}  // namespace

std::string FormatMovePlan(
    const google::protobuf::RepeatedPtrField<v1::SlotMove>& moves) {
  Table table({"#", "FROM", "TO", "SLOTS", "RANGES", "KEYS", "MB"});
  uint64_t slots = 0, keys = 0, bytes = 0;
  int index = 0;
  for (const v1::SlotMove& move : moves) {
    const uint64_t n = CountSlots(move.slots());
    slots += n;
    keys += move.keys();
    bytes += move.bytes();
    table.Add({absl::StrCat(++index), move.from_shard_id(), move.to_shard_id(),
               FormatCount(n), FormatSlotRanges(move.slots()),
               Estimate(move.keys(), false), Estimate(move.bytes(), true)});
  }
  table.Add({"total", "", "", FormatCount(slots), "", Estimate(keys, false),
             Estimate(bytes, true)});
  std::ostringstream out;
  table.Print(out);
  return out.str();
}

int Reshard(const Context& ctx, const std::vector<std::string>&) {
  if (ctx.from.empty() || ctx.to.empty() || ctx.slots.empty()) {
    return Usage(ctx,
                 "reshard needs --from=SHARD --to=SHARD --slots=N|RANGES, "
                 "e.g. --from=shard-1 --to=shard-4 --slots=0-99,200-200 (see "
                 "`slotctl cluster status` for shards and their slots)");
  }
  if (ctx.from == ctx.to) {
    return Usage(ctx, absl::StrCat("reshard --from and --to are both '",
                                   ctx.from, "'; name two different shards"));
  }
  absl::StatusOr<SlotSpec> spec = ParseSlotSpec(ctx.slots);
  if (!spec.ok()) return Usage(ctx, spec.status().message());
  v1::MigrateSlotsRequest request;
  request.set_from_shard_id(ctx.from);
  request.set_to_shard_id(ctx.to);
  request.set_slot_count(spec->count);
  for (const v1::SlotRange& range : spec->ranges) *request.add_slots() = range;
  v1::MigrateSlotsResponse response;
  auto context = CallContext(ctx);
  grpc::Status status =
      CoordinatorStub(ctx)->MigrateSlots(context.get(), request, &response);
  if (!status.ok()) return Fail(ctx, "reshard", status, ctx.coordinator);
  return Watch(ctx, response.operation());
}

int Rebalance(const Context& ctx, const std::vector<std::string>&) {
  if (ctx.by != "slots" && ctx.by != "keys" && ctx.by != "bytes") {
    return Usage(ctx, absl::StrCat("rebalance --by must be slots, keys or "
                                   "bytes (got '",
                                   ctx.by, "')"));
  }
  v1::RebalanceRequest request;
  request.set_by(ctx.by);
  request.set_dry_run(ctx.dry_run);
  v1::RebalanceResponse response;
  auto context = CallContext(ctx);
  grpc::Status status =
      CoordinatorStub(ctx)->Rebalance(context.get(), request, &response);
  if (!status.ok()) return Fail(ctx, "rebalance", status, ctx.coordinator);
  // JSON: a dry run prints the plan; a run prints only the watch's lines
  // (the operation carries the plan in `moves`).
  if (ctx.output == OutputFormat::kJson && ctx.dry_run) {
    PrintJson(ctx, response);
    return kExitOk;
  }
  if (ctx.output == OutputFormat::kHuman) {
    if (response.moves().empty()) {
      *ctx.out << "Already balanced by " << ctx.by << "; nothing to move.\n";
    } else {
      *ctx.out << (ctx.dry_run ? "Plan (dry run, nothing started)" : "Plan")
               << ": " << response.moves_size() << " move(s), by " << ctx.by
               << "\n"
               << FormatMovePlan(response.moves()) << "\n";
    }
  }
  if (ctx.dry_run || !response.has_operation()) return kExitOk;
  return Watch(ctx, response.operation());
}

int ShardAdd(const Context& ctx, const std::vector<std::string>&) {
  if (ctx.replicas > 5) {
    return Usage(ctx, absl::StrCat("shard add --replicas must be 0..5 (got ",
                                   ctx.replicas, ")"));
  }
  v1::AddShardRequest request;
  request.set_replicas(ctx.replicas);
  v1::AddShardResponse response;
  auto context = CallContext(ctx);
  grpc::Status status =
      CoordinatorStub(ctx)->AddShard(context.get(), request, &response);
  if (!status.ok()) return Fail(ctx, "shard add", status, ctx.coordinator);
  if (ctx.output == OutputFormat::kJson) {
    PrintJson(ctx, response);
    return kExitOk;
  }
  const v1::ShardInfo& shard = response.shard();
  Table table({"ROLE", "NODE", "ADDRESS", "AZ"});
  auto add = [&](const std::string& role, const std::string& id) {
    for (const v1::NodeInfo& node : response.cluster_map().nodes()) {
      if (node.node_id() == id) {
        table.Add({role, id, node.address(), node.az()});
        return;
      }
    }
    table.Add({role, id, "?", "?"});
  };
  add("primary", shard.primary_node_id());
  for (const std::string& id : shard.replica_node_ids()) add("replica", id);
  *ctx.out << "Added " << shard.shard_id() << " (1+"
           << shard.replica_node_ids_size()
           << " nodes, no slots yet; map version "
           << response.cluster_map().version() << "):\n";
  table.Print(*ctx.out);
  *ctx.out << "Next: `slotctl rebalance` moves slots to it (add --dry-run to "
              "see the plan first).\n";
  return kExitOk;
}

int ShardRemove(const Context& ctx, const std::vector<std::string>& args) {
  v1::RemoveShardRequest request;
  request.set_shard_id(args.at(0));
  v1::RemoveShardResponse response;
  auto context = CallContext(ctx);
  grpc::Status status =
      CoordinatorStub(ctx)->RemoveShard(context.get(), request, &response);
  if (!status.ok()) return Fail(ctx, "shard remove", status, ctx.coordinator);
  return Watch(ctx, response.operation());
}

int OperationWatch(const Context& ctx, const std::vector<std::string>& args) {
  std::unique_ptr<OperationSource> source = CoordinatorOperations(ctx);
  return WatchOperation(ctx, *source, args.at(0), CommandWatchOptions());
}

int OperationCancel(const Context& ctx, const std::vector<std::string>& args) {
  v1::CancelOperationRequest request;
  request.set_operation_id(args.at(0));
  v1::Operation op;
  auto context = CallContext(ctx);
  grpc::Status status =
      CoordinatorStub(ctx)->CancelOperation(context.get(), request, &op);
  if (!status.ok()) {
    return Fail(ctx, absl::StrCat("operation cancel ", args.at(0)), status,
                ctx.coordinator);
  }
  if (ctx.output == OutputFormat::kJson) {
    PrintJson(ctx, op);
    return kExitOk;
  }
  *ctx.out << op.id() << " " << op.kind() << ": cancel requested ("
           << v1::Operation::State_Name(op.state())
           << "); a move not yet committed rolls back, committed ones stay. "
              "Follow it with `slotctl operation watch "
           << op.id() << "`\n";
  return kExitOk;
}

}  // namespace slotcache::slotctl
