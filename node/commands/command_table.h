// Forwarding header. The command table moved to common/commands (shared
// by the node and the SDK, issue 17); node/replication still includes this
// path. Include common/commands/command_table.h in new code; delete this
// file once node/replication does.
#ifndef SLOTCACHE_NODE_COMMANDS_COMMAND_TABLE_H_
#define SLOTCACHE_NODE_COMMANDS_COMMAND_TABLE_H_

#include "common/commands/command_table.h"

#endif  // SLOTCACHE_NODE_COMMANDS_COMMAND_TABLE_H_
