#include "client/slotctl/failover_commands.h"

#include <optional>

#include "absl/time/clock.h"
#include "client/slotctl/command_util.h"
#include "client/slotctl/rebalance_plan.h"

namespace slotcache::slotctl {
namespace {

// How often a running operation is polled, and how long it may run (a
// manual failover rolls back by itself after its timeout, 5 s by default).
constexpr absl::Duration kOperationPoll = absl::Milliseconds(20);
constexpr absl::Duration kOperationWait = absl::Seconds(60);

// Polls ListOperations until operation `id` is no longer RUNNING, printing
// each new progress line. nullopt (after printing why) when the
// coordinator cannot be asked.
std::optional<v1::Operation> FollowOperation(const Context& ctx,
                                             const std::string& id) {
  const absl::Time deadline = absl::Now() + kOperationWait;
  std::string progress;
  while (true) {
    v1::ListOperationsResponse response;
    auto context = CallContext(ctx);
    grpc::Status status = CoordinatorStub(ctx)->ListOperations(
        context.get(), v1::ListOperationsRequest(), &response);
    if (!status.ok()) {
      Fail(ctx, "operations", status, ctx.coordinator);
      return std::nullopt;
    }
    for (const v1::Operation& op : response.operations()) {
      if (op.id() != id) continue;
      if (op.state() != v1::Operation::RUNNING) return op;
      if (op.progress() != progress && ctx.output == OutputFormat::kHuman) {
        progress = op.progress();
        *ctx.out << "  ... " << progress << "\n";
      }
    }
    if (absl::Now() > deadline) {
      *ctx.err << "slotctl: " << id << " still runs after "
               << absl::FormatDuration(kOperationWait)
               << "; follow it with `slotctl operations`\n";
      return std::nullopt;
    }
    absl::SleepFor(kOperationPoll);
  }
}

// Runs one manual failover of `shard` (to `to`, or the best replica) to its
// outcome; exit code.
int RunFailover(const Context& ctx, const std::string& shard,
                const std::string& to) {
  v1::FailoverRequest request;
  request.set_shard_id(shard);
  request.set_to_node_id(to);
  v1::FailoverResponse response;
  auto context = CallContext(ctx);
  grpc::Status status =
      CoordinatorStub(ctx)->Failover(context.get(), request, &response);
  if (!status.ok()) return Fail(ctx, "failover", status, ctx.coordinator);
  if (ctx.output == OutputFormat::kHuman) {
    *ctx.out << response.operation().id() << ": "
             << response.operation().message() << "\n";
  }
  std::optional<v1::Operation> done =
      FollowOperation(ctx, response.operation().id());
  if (!done.has_value()) return kExitFailed;
  const bool ok = done->state() == v1::Operation::SUCCEEDED;
  if (ctx.output == OutputFormat::kJson) {
    PrintJson(ctx, *done);
  } else {
    (ok ? *ctx.out : *ctx.err)
        << done->id() << " " << v1::Operation::State_Name(done->state()) << ": "
        << done->progress() << "\n";
  }
  return ok ? kExitOk : kExitFailed;
}

}  // namespace

int Failover(const Context& ctx, const std::vector<std::string>&) {
  if (ctx.shard.empty()) {
    *ctx.err << "slotctl: failover needs --shard=SHARD (see `slotctl cluster "
                "status`)\n";
    return kExitUsage;
  }
  return RunFailover(ctx, ctx.shard, ctx.to);
}

int RebalancePrimaries(const Context& ctx, const std::vector<std::string>&) {
  int exit_code = kExitOk;
  std::optional<v1::ClusterMap> map = Describe(ctx, &exit_code);
  if (!map.has_value()) return exit_code;
  const std::vector<PrimaryMove> moves = PlanPrimaryRebalance(*map);
  if (moves.empty()) {
    *ctx.out << "Primaries are spread over the AZs already; nothing to do.\n";
    return kExitOk;
  }
  *ctx.out << (ctx.dry_run ? "Would run" : "Running") << " " << moves.size()
           << " manual failover(s):\n";
  for (const PrimaryMove& m : moves) {
    *ctx.out << "  " << m.shard_id << ": " << m.from_node << " (" << m.from_az
             << ") -> " << m.to_node << " (" << m.to_az << ")\n";
  }
  if (ctx.dry_run) return kExitOk;
  for (const PrimaryMove& m : moves) {
    if (int code = RunFailover(ctx, m.shard_id, m.to_node); code != kExitOk) {
      *ctx.err << "slotctl: stopped rebalancing at " << m.shard_id
               << "; run it again once the cause is fixed\n";
      return code;
    }
  }
  return kExitOk;
}

}  // namespace slotcache::slotctl
