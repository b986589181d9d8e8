#include "client/slotctl/failover_commands.h"

#include <optional>

#include "absl/time/clock.h"
#include "client/slotctl/command_util.h"

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

}  // namespace

int Failover(const Context& ctx, const std::vector<std::string>&) {
  if (ctx.shard.empty()) {
    *ctx.err << "slotctl: failover needs --shard=SHARD (see `slotctl cluster "
                "status`)\n";
    return kExitUsage;
  }
  v1::FailoverRequest request;
  request.set_shard_id(ctx.shard);
  request.set_to_node_id(ctx.to);
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

}  // namespace slotcache::slotctl
