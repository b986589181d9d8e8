// The CLUSTER command family as Redis Cluster clients expect it, computed
// from the node's cluster map (every node reports the same topology).
//
// Addresses are the nodes' RESP addresses (NodeInfo.resp_address); a node
// without one (an older binary, or RESP off) is reported with its gRPC
// address so the topology stays complete. Primaries are "master" and
// replicas "slave" in CLUSTER NODES, as clients parse them.
//
// Thread-safety: pure functions of their arguments.
#ifndef SLOTCACHE_NODE_RESP_CLUSTER_COMMANDS_H_
#define SLOTCACHE_NODE_RESP_CLUSTER_COMMANDS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "node/resp/reply_writer.h"
#include "node/storage/store.h"
#include "proto/common.pb.h"

namespace slotcache::node::resp {

struct ClusterContext {
  const v1::ClusterMap* map = nullptr;
  // This node's id (CLUSTER MYID, "myself" in CLUSTER NODES).
  std::string my_id;
  // For the per-slot key commands; not owned.
  storage::Store* store = nullptr;
};

// Runs CLUSTER `args[1]` ... (args[0] is "CLUSTER") and writes its reply.
void HandleCluster(absl::Span<const absl::string_view> args,
                   const ClusterContext& context, ReplyWriter* out);

// The RESP address clients should use for `node` (see above).
std::string ClientAddressOf(const v1::NodeInfo& node);

// Redis' 40-hex-character node id for a slotcache node id. slotcache ids
// are free-form (1..64 of [A-Za-z0-9_-]) while cluster clients expect
// exactly 40 hex digits, so ids are mapped by a stable hash when they are
// not already in that form.
std::string RedisNodeId(absl::string_view node_id);

// The lines of CLUSTER NODES (also used by INFO and tests).
std::string ClusterNodesText(const ClusterContext& context);

}  // namespace slotcache::node::resp

#endif  // SLOTCACHE_NODE_RESP_CLUSTER_COMMANDS_H_
