#include "client/slotctl/commands.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/sdk/client.h"
#include "client/slotctl/backup_commands.h"
#include "client/slotctl/cluster_check.h"
#include "client/slotctl/command_util.h"
#include "client/slotctl/coordinator_map_source.h"
#include "client/slotctl/failover_commands.h"
#include "client/slotctl/reshard_commands.h"
#include "common/health.h"
#include "common/rpc.h"
#include "common/slot.h"
#include "common/status.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/util/json_util.h"
#include "proto/coordinator.grpc.pb.h"

namespace slotcache::slotctl {
namespace {

std::string RangesText(const v1::ShardInfo& shard) {
  std::vector<std::string> parts;
  for (const v1::SlotRange& r : shard.slots()) {
    parts.push_back(r.start() == r.end()
                        ? absl::StrCat(r.start())
                        : absl::StrCat(r.start(), "-", r.end()));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, ",");
}

std::string RoleText(v1::Role role) {
  switch (role) {
    case v1::PRIMARY:
      return "primary";
    case v1::REPLICA:
      return "replica";
    default:
      return "-";
  }
}

void PrintStatusTable(const Context& ctx, const v1::ClusterMap& map) {
  std::ostream& out = *ctx.out;
  if (map.shards_size() == 0) {
    out << "No cluster yet; " << map.nodes_size()
        << " nodes registered (map version " << map.version()
        << "). Create one with `slotctl cluster create --shards=N "
           "--replicas=R`.\n";
  } else {
    out << "cluster " << map.cluster_id() << "  map version " << map.version()
        << "  " << map.shards_size() << " shards  " << map.nodes_size()
        << " nodes\n\n";
  }
  absl::flat_hash_map<std::string, const v1::NodeInfo*> nodes;
  for (const v1::NodeInfo& node : map.nodes()) nodes[node.node_id()] = &node;
  // LAG (replicas): entries behind the primary's last reported offset, and
  // the seconds behind the replica reported (docs/REPLICATION.md).
  Table table({"SHARD", "SLOTS", "ROLE", "NODE", "ADDRESS", "AZ", "EPOCH",
               "HEALTH", "KEYS", "OFFSET", "LAG"});
  auto add = [&](const std::string& shard, const std::string& slots,
                 const std::string& epoch, const std::string& node_id,
                 v1::Role role, const v1::NodeInfo* primary) {
    auto it = nodes.find(node_id);
    if (it == nodes.end()) {
      table.Add({shard, slots, RoleText(role), node_id.empty() ? "-" : node_id,
                 "?", "?", epoch, "UNKNOWN", "-", "-", "-"});
      return;
    }
    const v1::NodeInfo& n = *it->second;
    std::string lag = "-";
    if (role == v1::REPLICA && primary != nullptr) {
      const uint64_t behind =
          primary->replication_offset() > n.replication_offset()
              ? primary->replication_offset() - n.replication_offset()
              : 0;
      lag = absl::StrFormat("%d (%.1fs)", behind, n.replication_lag_seconds());
    }
    table.Add({shard, slots, RoleText(role), n.node_id(), n.address(), n.az(),
               epoch, v1::Health_Name(n.health()), absl::StrCat(n.key_count()),
               absl::StrCat(n.replication_offset()), lag});
  };
  for (const v1::ShardInfo& shard : map.shards()) {
    auto primary = nodes.find(shard.primary_node_id());
    const v1::NodeInfo* primary_info =
        primary == nodes.end() ? nullptr : primary->second;
    add(shard.shard_id(), RangesText(shard), absl::StrCat(shard.config_epoch()),
        shard.primary_node_id(), v1::PRIMARY, primary_info);
    for (const std::string& replica : shard.replica_node_ids()) {
      add("", "", "", replica, v1::REPLICA, primary_info);
    }
  }
  for (const v1::NodeInfo& node : map.nodes()) {
    if (!node.shard_id().empty()) continue;
    table.Add({"(none)", "-", "-", node.node_id(), node.address(), node.az(),
               "-", v1::Health_Name(node.health()), "-", "-", "-"});
  }
  table.Print(out);
}

int Ping(const Context& ctx, const std::vector<std::string>&) {
  absl::Status status = CheckHealth(ctx.target, ctx.timeout);
  if (!status.ok()) {
    *ctx.err << "slotctl: " << status.message() << "\n";
    return kExitFailed;
  }
  *ctx.out << ctx.target << " is SERVING\n";
  return kExitOk;
}

int ClusterCreate(const Context& ctx, const std::vector<std::string>&) {
  v1::CreateClusterRequest request;
  request.set_shards(ctx.shards);
  request.set_replicas(ctx.replicas);
  v1::CreateClusterResponse response;
  auto context = CallContext(ctx);
  grpc::Status status =
      CoordinatorStub(ctx)->CreateCluster(context.get(), request, &response);
  if (!status.ok()) return Fail(ctx, "cluster create", status, ctx.coordinator);
  if (ctx.output == OutputFormat::kJson) {
    PrintJson(ctx, response);
    return kExitOk;
  }
  *ctx.out << "Created cluster " << response.cluster_map().cluster_id() << ": "
           << ctx.shards << " shards x (1+" << ctx.replicas << ") (operation "
           << response.operation().id() << ")\n\n";
  PrintStatusTable(ctx, response.cluster_map());
  return kExitOk;
}

int ClusterStatus(const Context& ctx, const std::vector<std::string>&) {
  int exit_code = kExitOk;
  std::optional<v1::ClusterMap> map = Describe(ctx, &exit_code);
  if (!map.has_value()) return exit_code;
  if (ctx.output == OutputFormat::kJson) {
    PrintJson(ctx, *map);
  } else {
    PrintStatusTable(ctx, *map);
  }
  return kExitOk;
}

int ClusterCheck(const Context& ctx, const std::vector<std::string>&) {
  int exit_code = kExitOk;
  std::optional<v1::ClusterMap> map = Describe(ctx, &exit_code);
  if (!map.has_value()) return exit_code;
  // Failover operations explain a shard without a healthy primary.
  v1::ListOperationsResponse operations;
  auto context = CallContext(ctx);
  grpc::Status listed = CoordinatorStub(ctx)->ListOperations(
      context.get(), v1::ListOperationsRequest(), &operations);
  if (!listed.ok()) return Fail(ctx, "operations", listed, ctx.coordinator);
  std::vector<CheckLine> lines = CheckCluster(
      *map, {operations.operations().begin(), operations.operations().end()});
  const bool passed = CheckPassed(lines);
  if (ctx.output == OutputFormat::kJson) {
    google::protobuf::Struct result;
    (*result.mutable_fields())["ok"].set_bool_value(passed);
    (*result.mutable_fields())["map_version"].set_number_value(
        static_cast<double>(map->version()));
    google::protobuf::ListValue* checks =
        (*result.mutable_fields())["checks"].mutable_list_value();
    for (const CheckLine& line : lines) {
      google::protobuf::Struct* check =
          checks->add_values()->mutable_struct_value();
      (*check->mutable_fields())["level"].set_string_value(
          LevelName(line.level));
      (*check->mutable_fields())["message"].set_string_value(line.message);
    }
    PrintJson(ctx, result);
  } else {
    *ctx.out << ">>> Performing cluster check (coordinator " << ctx.coordinator
             << ")\n";
    for (const CheckLine& line : lines) {
      *ctx.out << "[" << LevelName(line.level) << "] " << line.message << "\n";
    }
    *ctx.out << (passed ? ">>> Check passed.\n" : ">>> Check FAILED.\n");
  }
  return passed ? kExitOk : kExitFailed;
}

int Events(const Context& ctx, const std::vector<std::string>&) {
  v1::ListEventsResponse response;
  auto context = CallContext(ctx);
  grpc::Status status = CoordinatorStub(ctx)->ListEvents(
      context.get(), v1::ListEventsRequest(), &response);
  if (!status.ok()) return Fail(ctx, "events", status, ctx.coordinator);
  if (ctx.output == OutputFormat::kJson) {
    PrintJson(ctx, response);
    return kExitOk;
  }
  Table table({"SEQ", "TIME (UTC)", "KIND", "MESSAGE"});
  for (const v1::Event& event : response.events()) {
    table.Add({absl::StrCat(event.seq()),
               absl::FormatTime("%Y-%m-%d %H:%M:%E3S",
                                absl::FromUnixMillis(event.unix_ms()),
                                absl::UTCTimeZone()),
               event.kind(), event.message()});
  }
  table.Print(*ctx.out);
  return kExitOk;
}

int Operations(const Context& ctx, const std::vector<std::string>&) {
  v1::ListOperationsResponse response;
  auto context = CallContext(ctx);
  grpc::Status status = CoordinatorStub(ctx)->ListOperations(
      context.get(), v1::ListOperationsRequest(), &response);
  if (!status.ok()) return Fail(ctx, "operations", status, ctx.coordinator);
  if (ctx.output == OutputFormat::kJson) {
    PrintJson(ctx, response);
    return kExitOk;
  }
  // PROGRESS: what a running operation does now, or how it ended.
  Table table({"ID", "KIND", "STATE", "CREATED (UTC)", "MESSAGE", "PROGRESS"});
  for (const v1::Operation& op : response.operations()) {
    table.Add({op.id(), op.kind(), v1::Operation::State_Name(op.state()),
               absl::FormatTime("%Y-%m-%d %H:%M:%S",
                                absl::FromUnixMillis(op.created_unix_ms()),
                                absl::UTCTimeZone()),
               op.message(), op.progress().empty() ? "-" : op.progress()});
  }
  table.Print(*ctx.out);
  return kExitOk;
}

void PrintValue(std::ostream& out, const v1::Value& value,
                const std::string& indent) {
  switch (value.kind_case()) {
    case v1::Value::kNil:
      out << "(nil)\n";
      break;
    case v1::Value::kInteger:
      out << "(integer) " << value.integer() << "\n";
      break;
    case v1::Value::kBulk:
      out << value.bulk() << "\n";
      break;
    case v1::Value::kStatus:
      out << value.status() << "\n";
      break;
    case v1::Value::kArray:
      if (value.array().values_size() == 0) out << "(empty array)\n";
      for (int i = 0; i < value.array().values_size(); ++i) {
        out << indent << (i + 1) << ") ";
        PrintValue(out, value.array().values(i), indent + "   ");
      }
      break;
    default:
      out << "(no value)\n";
  }
}

// A reply value as plain JSON: nil -> null, integers -> numbers, bulk
// strings -> strings when they are UTF-8 (else {"base64": ...}), arrays ->
// lists.
google::protobuf::Value ValueToJson(const v1::Value& value) {
  google::protobuf::Value json;
  switch (value.kind_case()) {
    case v1::Value::kInteger:
      json.set_number_value(static_cast<double>(value.integer()));
      break;
    case v1::Value::kBulk:
      if (google::protobuf::internal::IsStructurallyValidUTF8(value.bulk())) {
        json.set_string_value(value.bulk());
      } else {
        std::string encoded;
        absl::Base64Escape(value.bulk(), &encoded);
        (*json.mutable_struct_value()->mutable_fields())["base64"]
            .set_string_value(encoded);
      }
      break;
    case v1::Value::kStatus:
      json.set_string_value(value.status());
      break;
    case v1::Value::kArray:
      for (const v1::Value& element : value.array().values()) {
        *json.mutable_list_value()->add_values() = ValueToJson(element);
      }
      break;
    default:
      json.set_null_value(google::protobuf::NULL_VALUE);
  }
  return json;
}

// Runs one keyed command through the SDK, which routes it by slot with the
// coordinator's map and follows MOVED redirects.
int KeyCommand(const Context& ctx, const std::string& name,
               const std::vector<std::string>& args) {
  ClientOptions options;
  options.map_source = std::make_shared<CoordinatorMapSource>(ctx.coordinator);
  options.default_timeout = ctx.timeout;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  if (!client.ok()) {
    *ctx.err << "slotctl: " << client.status().message() << "\n";
    return kExitFailed;
  }
  absl::StatusOr<v1::Value> value = (*client)->Execute(
      MakeCommand(name, std::vector<std::string>(args.begin(), args.end())));
  if (!value.ok()) {
    *ctx.err << "slotctl: " << name << " failed ("
             << v1::ErrorCode_Name(ErrorCodeOf(value.status()))
             << "): " << value.status().message() << "\n";
    return kExitFailed;
  }
  if (ctx.output == OutputFormat::kJson) {
    google::protobuf::Struct result;
    (*result.mutable_fields())["value"] = ValueToJson(*value);
    PrintJson(ctx, result);
  } else {
    PrintValue(*ctx.out, *value, "");
  }
  return kExitOk;
}

std::string CommandName(const Command& command) {
  return absl::StrJoin(command.words, " ");
}

}  // namespace

const std::vector<Command>& Commands() {
  static const auto* const commands = new std::vector<Command>{
      {{"ping"},
       "",
       "check that the server at --target is up and serving",
       0,
       0,
       Ping},
      {{"cluster", "create"},
       "",
       "create the cluster from the registered nodes (--shards, --replicas)",
       0,
       0,
       ClusterCreate},
      {{"cluster", "status"},
       "",
       "table of shards, slots, roles, nodes, AZs, epochs and health",
       0,
       0,
       ClusterStatus},
      {{"cluster", "check"},
       "",
       "check slot coverage, primaries and AZ placement; exit 0 only if OK",
       0,
       0,
       ClusterCheck},
      {{"events"},
       "",
       "the coordinator's event log, oldest first",
       0,
       0,
       Events},
      {{"operations"},
       "",
       "control-plane operations and their outcome",
       0,
       0,
       Operations},
      {{"cluster", "rebalance-primaries"},
       "",
       "manual failovers that spread primaries over the AZs again "
       "(--dry-run prints the plan)",
       0,
       0,
       RebalancePrimaries},
      {{"failover"},
       "",
       "manual failover of --shard (to --to): pause writes, hand over at the "
       "exact offset, resume; zero lost writes",
       0,
       0,
       Failover},
      {{"reshard"},
       "",
       "move slots online: --from=SHARD --to=SHARD --slots=N|RANGES (N of "
       "the source's slots, or e.g. 0-99,200-200); watches the operation",
       0,
       0,
       Reshard},
      {{"rebalance"},
       "",
       "plan moves that even out --by=slots|keys|bytes (default slots) "
       "across shards, show the plan, run and watch it (--dry-run: plan "
       "only)",
       0,
       0,
       Rebalance},
      {{"shard", "add"},
       "",
       "form a new empty shard from registered unassigned nodes "
       "(--replicas=R, AZ-spread); then run rebalance",
       0,
       0,
       ShardAdd},
      {{"shard", "remove"},
       "SHARD",
       "drain SHARD's slots to the other shards, then release its nodes; "
       "watches the operation",
       1,
       1,
       ShardRemove},
      {{"operation", "watch"},
       "ID",
       "follow any operation with live progress until it ends (exit 0 only "
       "if it SUCCEEDED); Ctrl-C stops watching, not the operation",
       1,
       1,
       OperationWatch},
      {{"operation", "cancel"},
       "ID",
       "ask a running operation to stop (an uncommitted move rolls back)",
       1,
       1,
       OperationCancel},
      {{"backup", "create"},
       "",
       "snapshot every shard (on a replica) into the coordinator's backup "
       "location as one backup (--name=N, default from the time); watches "
       "the operation",
       0,
       0,
       BackupCreate},
      {{"backup", "list"},
       "",
       "complete backups, oldest first",
       0,
       0,
       BackupList},
      {{"backup", "describe"},
       "NAME",
       "one backup: its shards, offsets, keys and size",
       1,
       1,
       BackupDescribe},
      {{"backup", "delete"}, "NAME", "delete a backup", 1, 1, BackupDelete},
      {{"backup", "restore"},
       "NAME",
       "create the cluster from free nodes (--shards=N --replicas=R, any "
       "shard count) and load the backup into it; watches the operation",
       1,
       1,
       BackupRestore},
      {{"get"},
       "KEY",
       "print the value of KEY ((nil) when missing)",
       1,
       1,
       [](const Context& ctx, const std::vector<std::string>& args) {
         return KeyCommand(ctx, "GET", args);
       }},
      {{"set"},
       "KEY VALUE",
       "set KEY to VALUE",
       2,
       2,
       [](const Context& ctx, const std::vector<std::string>& args) {
         return KeyCommand(ctx, "SET", args);
       }},
      {{"del"},
       "KEY",
       "delete KEY; prints how many keys were removed",
       1,
       1,
       [](const Context& ctx, const std::vector<std::string>& args) {
         return KeyCommand(ctx, "DEL", args);
       }},
  };
  return *commands;
}

std::string Usage() {
  std::string usage =
      "slotctl: operate a slotcache cluster.\n\n"
      "Usage: slotctl [--coordinator=HOST:PORT] [--output=json] COMMAND "
      "[ARGS]\n\nCommands:\n";
  std::vector<std::vector<std::string>> rows;
  size_t width = 0;
  for (const Command& command : Commands()) {
    std::string left = CommandName(command);
    if (!command.arguments.empty())
      absl::StrAppend(&left, " ", command.arguments);
    width = std::max(width, left.size());
    rows.push_back({left, command.help});
  }
  for (const auto& row : rows) {
    absl::StrAppend(&usage, "  ", row[0],
                    std::string(width - row[0].size() + 2, ' '), row[1], "\n");
  }
  absl::StrAppend(
      &usage,
      "\nExit codes: 0 ok (a watched operation SUCCEEDED), 1 the command,\n"
      "check or operation failed, 2 usage error, 130 Ctrl-C stopped watching\n"
      "(the operation keeps running).\n"
      "Examples:\n"
      "  slotctl cluster create --shards=3 --replicas=2\n"
      "  slotctl cluster check\n"
      "  slotctl failover --shard=shard-1\n"
      "  slotctl reshard --from=shard-1 --to=shard-2 --slots=100\n"
      "  slotctl shard add --replicas=1 && slotctl rebalance --dry-run\n"
      "  slotctl --output=json operation watch op-7\n"
      "  slotctl set user:42 alice && slotctl get user:42\n");
  return usage;
}

int RunCommand(const Context& ctx, const std::vector<std::string>& args) {
  const Command* best = nullptr;
  for (const Command& command : Commands()) {
    if (args.size() < command.words.size()) continue;
    if (!std::equal(command.words.begin(), command.words.end(), args.begin())) {
      continue;
    }
    if (best == nullptr || command.words.size() > best->words.size()) {
      best = &command;
    }
  }
  if (best == nullptr) {
    *ctx.err << "slotctl: "
             << (args.empty() ? std::string("expected a command")
                              : absl::StrCat("unknown command '",
                                             absl::StrJoin(args, " "), "'"))
             << ".\n\n"
             << Usage();
    return kExitUsage;
  }
  std::vector<std::string> rest(args.begin() + best->words.size(), args.end());
  if (rest.size() < best->min_args || rest.size() > best->max_args) {
    *ctx.err << "slotctl: '" << CommandName(*best) << "' takes "
             << (best->arguments.empty() ? std::string("no arguments")
                                         : best->arguments)
             << " (got " << rest.size() << ").\n\n"
             << Usage();
    return kExitUsage;
  }
  return best->run(ctx, rest);
}

}  // namespace slotcache::slotctl
