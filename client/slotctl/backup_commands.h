// slotctl's backup commands (docs/PERSISTENCE.md, "Cluster backup and
// restore"), all with --output=json:
//   backup create [--name=N]          start a backup and watch it
//   backup list                       complete backups, oldest first
//   backup describe NAME              one backup, per shard
//   backup delete NAME
//   backup restore NAME --shards=N --replicas=R
//                                     create a cluster from it and watch
//
// Thread-safety: safe to call from any thread (one watch at a time per
// process, see operation_watch.h).
#ifndef SLOTCACHE_CLIENT_SLOTCTL_BACKUP_COMMANDS_H_
#define SLOTCACHE_CLIENT_SLOTCTL_BACKUP_COMMANDS_H_

#include <string>
#include <vector>

#include "client/slotctl/commands.h"
#include "proto/coordinator.pb.h"

namespace slotcache::slotctl {

int BackupCreate(const Context& ctx, const std::vector<std::string>& args);
int BackupList(const Context& ctx, const std::vector<std::string>& args);
// args: {NAME} for the three below.
int BackupDescribe(const Context& ctx, const std::vector<std::string>& args);
int BackupDelete(const Context& ctx, const std::vector<std::string>& args);
int BackupRestore(const Context& ctx, const std::vector<std::string>& args);

// The table `backup list` prints: NAME, CREATED (UTC), TRIGGER, SHARDS,
// KEYS, MB, CLUSTER.
std::string FormatBackupList(const v1::ListBackupsResponse& list);

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_BACKUP_COMMANDS_H_
