#include "client/slotctl/backup_commands.h"

#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/slotctl/command_util.h"
#include "client/slotctl/operation_watch.h"
#include "client/slotctl/progress.h"
#include "client/slotctl/slot_spec.h"

namespace slotcache::slotctl {
namespace {

std::string Created(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

int Watch(const Context& ctx, const v1::Operation& op) {
  if (ctx.output == OutputFormat::kHuman) {
    *ctx.out << op.id() << " " << op.kind() << " started"
             << (op.message().empty() ? "" : ": ") << op.message()
             << "\n  (Ctrl-C stops watching, not the operation)\n";
  }
  std::unique_ptr<OperationSource> source = CoordinatorOperations(ctx);
  return WatchOperation(ctx, *source, op.id(), CommandWatchOptions());
}

}  // namespace

std::string FormatBackupList(const v1::ListBackupsResponse& list) {
  Table table(
      {"NAME", "CREATED (UTC)", "TRIGGER", "SHARDS", "KEYS", "MB", "CLUSTER"});
  for (const v1::BackupInfo& b : list.backups()) {
    table.Add({b.name(), Created(b.created_unix_ms()), b.trigger(),
               absl::StrCat(b.shards_size()), FormatCount(b.key_count()),
               FormatMegabytes(b.bytes()), b.cluster_id()});
  }
  std::ostringstream out;
  table.Print(out);
  return out.str();
}

int BackupCreate(const Context& ctx, const std::vector<std::string>&) {
  v1::CreateBackupRequest request;
  request.set_name(ctx.name);
  v1::CreateBackupResponse response;
  auto context = CallContext(ctx);
  grpc::Status status =
      CoordinatorStub(ctx)->CreateBackup(context.get(), request, &response);
  if (!status.ok()) return Fail(ctx, "backup create", status, ctx.coordinator);
  return Watch(ctx, response.operation());
}

int BackupList(const Context& ctx, const std::vector<std::string>&) {
  v1::ListBackupsResponse response;
  auto context = CallContext(ctx);
  grpc::Status status = CoordinatorStub(ctx)->ListBackups(
      context.get(), v1::ListBackupsRequest(), &response);
  if (!status.ok()) return Fail(ctx, "backup list", status, ctx.coordinator);
  if (ctx.output == OutputFormat::kJson) {
    PrintJson(ctx, response);
    return kExitOk;
  }
  if (response.backups().empty()) {
    *ctx.out << "No complete backups. Take one with `slotctl backup "
                "create`.\n";
    return kExitOk;
  }
  *ctx.out << FormatBackupList(response);
  return kExitOk;
}

int BackupDescribe(const Context& ctx, const std::vector<std::string>& args) {
  v1::DescribeBackupRequest request;
  request.set_name(args.at(0));
  v1::BackupInfo info;
  auto context = CallContext(ctx);
  grpc::Status status =
      CoordinatorStub(ctx)->DescribeBackup(context.get(), request, &info);
  if (!status.ok()) {
    return Fail(ctx, absl::StrCat("backup describe ", args.at(0)), status,
                ctx.coordinator);
  }
  if (ctx.output == OutputFormat::kJson) {
    PrintJson(ctx, info);
    return kExitOk;
  }
  *ctx.out << "Backup " << info.name() << " (" << info.trigger() << ", "
           << Created(info.created_unix_ms()) << " UTC) of cluster "
           << info.cluster_id() << ", map version " << info.map_version()
           << "\n  " << info.location() << "\n  "
           << FormatCount(info.key_count()) << " keys, "
           << FormatMegabytes(info.bytes()) << " MB, format version "
           << info.format_version() << "\n";
  Table table({"SHARD", "SLOTS", "NODE", "OFFSET", "EPOCH", "KEYS", "MB"});
  for (const v1::ShardBackup& s : info.shards()) {
    table.Add({s.shard_id(), FormatSlotRanges(s.slots()), s.node_id(),
               absl::StrCat(s.replication_offset()),
               absl::StrCat(s.config_epoch()), FormatCount(s.key_count()),
               FormatMegabytes(s.bytes())});
  }
  table.Print(*ctx.out);
  return kExitOk;
}

int BackupDelete(const Context& ctx, const std::vector<std::string>& args) {
  v1::DeleteBackupRequest request;
  request.set_name(args.at(0));
  v1::DeleteBackupResponse response;
  auto context = CallContext(ctx);
  grpc::Status status =
      CoordinatorStub(ctx)->DeleteBackup(context.get(), request, &response);
  if (!status.ok()) {
    return Fail(ctx, absl::StrCat("backup delete ", args.at(0)), status,
                ctx.coordinator);
  }
  if (ctx.output == OutputFormat::kJson) {
    PrintJson(ctx, response);
    return kExitOk;
  }
  *ctx.out << "Deleted backup " << args.at(0) << ".\n";
  return kExitOk;
}

int BackupRestore(const Context& ctx, const std::vector<std::string>& args) {
  if (ctx.shards == 0 || ctx.replicas > 5) {
    *ctx.err << "slotctl: backup restore needs --shards=1.. and "
                "--replicas=0..5 (got "
             << ctx.shards << " and " << ctx.replicas << ")\n";
    return kExitUsage;
  }
  v1::RestoreBackupRequest request;
  request.set_name(args.at(0));
  request.set_shards(ctx.shards);
  request.set_replicas(ctx.replicas);
  v1::RestoreBackupResponse response;
  auto context = CallContext(ctx);
  grpc::Status status =
      CoordinatorStub(ctx)->RestoreBackup(context.get(), request, &response);
  if (!status.ok()) {
    return Fail(ctx, absl::StrCat("backup restore ", args.at(0)), status,
                ctx.coordinator);
  }
  return Watch(ctx, response.operation());
}

}  // namespace slotcache::slotctl
