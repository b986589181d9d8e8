#include "node/resp/cluster_commands.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/slot.h"

namespace slotcache::node::resp {
namespace {

struct HostPort {
  std::string host;
  int port = 0;
};

HostPort SplitAddress(absl::string_view address) {
  HostPort out;
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    out.host = std::string(address);
    return out;
  }
  out.host = std::string(address.substr(0, colon));
  if (out.host.size() >= 2 && out.host.front() == '[' &&
      out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (!absl::SimpleAtoi(address.substr(colon + 1), &out.port)) out.port = 0;
  return out;
}

bool IsLowerHex(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// FNV-1a, 64 bits, from `seed`: stable across processes and builds (unlike
// absl::Hash), so every node derives the same Redis id for a node.
uint64_t Fnv1a(absl::string_view data, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The map indexed for one reply.
struct Topology {
  absl::flat_hash_map<std::string, const v1::NodeInfo*> nodes;

  explicit Topology(const v1::ClusterMap& map) {
    for (const v1::NodeInfo& n : map.nodes()) nodes[n.node_id()] = &n;
  }
  const v1::NodeInfo* Find(const std::string& id) const {
    auto it = nodes.find(id);
    return it == nodes.end() ? nullptr : it->second;
  }
  // The shard's primary then its replicas, those the map has NodeInfo for.
  std::vector<const v1::NodeInfo*> Members(const v1::ShardInfo& shard) const {
    std::vector<const v1::NodeInfo*> out;
    if (const v1::NodeInfo* p = Find(shard.primary_node_id())) out.push_back(p);
    for (const std::string& id : shard.replica_node_ids()) {
      if (const v1::NodeInfo* r = Find(id)) out.push_back(r);
    }
    return out;
  }
};

void WriteNodeEndpoint(const v1::NodeInfo& node, ReplyWriter* out) {
  const HostPort hp = SplitAddress(ClientAddressOf(node));
  out->ArrayHeader(3);
  out->Bulk(hp.host);
  out->Integer(hp.port);
  out->Bulk(RedisNodeId(node.node_id()));
}

void ClusterSlots(const ClusterContext& ctx, ReplyWriter* out) {
  const Topology topo(*ctx.map);
  size_t ranges = 0;
  for (const v1::ShardInfo& s : ctx.map->shards()) ranges += s.slots_size();
  out->ArrayHeader(ranges);
  for (const v1::ShardInfo& shard : ctx.map->shards()) {
    const std::vector<const v1::NodeInfo*> members = topo.Members(shard);
    for (const v1::SlotRange& range : shard.slots()) {
      out->ArrayHeader(2 + members.size());
      out->Integer(range.start());
      out->Integer(range.end());
      for (const v1::NodeInfo* n : members) WriteNodeEndpoint(*n, out);
    }
  }
}

absl::string_view HealthName(const v1::NodeInfo& node) {
  return node.health() == v1::FAILED ? "failed" : "online";
}

void ClusterShards(const ClusterContext& ctx, ReplyWriter* out) {
  const Topology topo(*ctx.map);
  out->ArrayHeader(ctx.map->shards_size());
  for (const v1::ShardInfo& shard : ctx.map->shards()) {
    out->MapHeader(2);
    out->Bulk("slots");
    out->ArrayHeader(2 * shard.slots_size());
    for (const v1::SlotRange& range : shard.slots()) {
      out->Integer(range.start());
      out->Integer(range.end());
    }
    out->Bulk("nodes");
    const std::vector<const v1::NodeInfo*> members = topo.Members(shard);
    out->ArrayHeader(members.size());
    for (const v1::NodeInfo* n : members) {
      const HostPort hp = SplitAddress(ClientAddressOf(*n));
      out->MapHeader(7);
      out->Bulk("id");
      out->Bulk(RedisNodeId(n->node_id()));
      out->Bulk("port");
      out->Integer(hp.port);
      out->Bulk("ip");
      out->Bulk(hp.host);
      out->Bulk("endpoint");
      out->Bulk(hp.host);
      out->Bulk("role");
      out->Bulk(n->node_id() == shard.primary_node_id() ? "master" : "replica");
      out->Bulk("replication-offset");
      out->Integer(static_cast<int64_t>(n->replication_offset()));
      out->Bulk("health");
      out->Bulk(HealthName(*n));
    }
  }
}

// cluster_state:ok when every slot is owned by a shard with a primary the
// map knows, as Redis requires all slots covered (cluster-require-full-
// coverage yes).
std::string ClusterInfoText(const ClusterContext& ctx) {
  const Topology topo(*ctx.map);
  int64_t assigned = 0, ok = 0;
  uint64_t current_epoch = 0, my_epoch = 0;
  int sized = 0;
  for (const v1::ShardInfo& shard : ctx.map->shards()) {
    int64_t slots = 0;
    for (const v1::SlotRange& r : shard.slots()) {
      slots += static_cast<int64_t>(r.end()) - r.start() + 1;
    }
    assigned += slots;
    if (topo.Find(shard.primary_node_id()) != nullptr) ok += slots;
    if (slots > 0) ++sized;
    current_epoch = std::max(current_epoch, shard.config_epoch());
    for (const v1::NodeInfo* n : topo.Members(shard)) {
      if (n->node_id() == ctx.my_id) my_epoch = shard.config_epoch();
    }
  }
  return absl::StrCat(
      "cluster_enabled:1\r\n",
      "cluster_state:", ok == kNumSlots ? "ok" : "fail", "\r\n",
      "cluster_slots_assigned:", assigned, "\r\n", "cluster_slots_ok:", ok,
      "\r\n", "cluster_slots_pfail:0\r\n", "cluster_slots_fail:", assigned - ok,
      "\r\n", "cluster_known_nodes:", ctx.map->nodes_size(), "\r\n",
      "cluster_size:", sized, "\r\n", "cluster_current_epoch:", current_epoch,
      "\r\n", "cluster_my_epoch:", my_epoch, "\r\n",
      "cluster_stats_messages_sent:0\r\n",
      "cluster_stats_messages_received:0\r\n",
      "total_cluster_links_buffer_limit_exceeded:0\r\n");
}

bool ParseSlot(absl::string_view text, uint32_t* slot) {
  int64_t v;
  if (!absl::SimpleAtoi(text, &v) || v < 0 || v >= kNumSlots) return false;
  *slot = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

std::string ClientAddressOf(const v1::NodeInfo& node) {
  return node.resp_address().empty() ? node.address() : node.resp_address();
}

std::string RedisNodeId(absl::string_view node_id) {
  if (node_id.size() <= 40 && IsLowerHex(node_id)) {
    return absl::StrCat(std::string(40 - node_id.size(), '0'), node_id);
  }
  std::string out;
  for (uint64_t seed = 0; out.size() < 40; ++seed) {
    absl::StrAppend(&out, absl::Hex(Fnv1a(node_id, seed), absl::kZeroPad16));
  }
  return out.substr(0, 40);
}

std::string ClusterNodesText(const ClusterContext& ctx) {
  std::string text;
  const Topology topo(*ctx.map);
  absl::flat_hash_map<std::string, const v1::ShardInfo*> shard_of;
  for (const v1::ShardInfo& shard : ctx.map->shards()) {
    for (const v1::NodeInfo* n : topo.Members(shard)) {
      shard_of[n->node_id()] = &shard;
    }
  }
  for (const v1::NodeInfo& node : ctx.map->nodes()) {
    auto it = shard_of.find(node.node_id());
    const v1::ShardInfo* shard = it == shard_of.end() ? nullptr : it->second;
    const bool primary =
        shard != nullptr && shard->primary_node_id() == node.node_id();
    std::vector<std::string> flags;
    if (node.node_id() == ctx.my_id) flags.push_back("myself");
    flags.push_back(primary || shard == nullptr ? "master" : "slave");
    if (node.health() == v1::FAILED) flags.push_back("fail");
    // The bus port slot carries the node's gRPC port: clients ignore it,
    // and operators see where slotcache's own tools connect.
    const HostPort grpc = SplitAddress(node.address());
    absl::StrAppend(
        &text, RedisNodeId(node.node_id()), " ", ClientAddressOf(node), "@",
        grpc.port, " ", absl::StrJoin(flags, ","), " ",
        primary || shard == nullptr ? std::string("-")
                                    : RedisNodeId(shard->primary_node_id()),
        " 0 0 ", shard == nullptr ? 0 : shard->config_epoch(), " ",
        node.health() == v1::FAILED ? "disconnected" : "connected");
    if (primary) {
      for (const v1::SlotRange& r : shard->slots()) {
        if (r.start() == r.end()) {
          absl::StrAppend(&text, " ", r.start());
        } else {
          absl::StrAppend(&text, " ", r.start(), "-", r.end());
        }
      }
    }
    text += "\n";
  }
  return text;
}

void HandleCluster(absl::Span<const absl::string_view> args,
                   const ClusterContext& ctx, ReplyWriter* out) {
  if (args.size() < 2) {
    out->Error("ERR wrong number of arguments for 'cluster' command");
    return;
  }
  const std::string sub = absl::AsciiStrToUpper(args[1]);
  const size_t n = args.size();
  if (sub == "SLOTS" && n == 2) {
    ClusterSlots(ctx, out);
  } else if (sub == "SHARDS" && n == 2) {
    ClusterShards(ctx, out);
  } else if (sub == "NODES" && n == 2) {
    out->Verbatim(ClusterNodesText(ctx));
  } else if (sub == "INFO" && n == 2) {
    out->Verbatim(ClusterInfoText(ctx));
  } else if (sub == "MYID" && n == 2) {
    out->Bulk(RedisNodeId(ctx.my_id));
  } else if (sub == "KEYSLOT" && n == 3) {
    out->Integer(KeySlot(args[2]));
  } else if (sub == "COUNTKEYSINSLOT" && n == 3) {
    uint32_t slot;
    if (!ParseSlot(args[2], &slot)) {
      out->Error("ERR Invalid slot");
      return;
    }
    out->Integer(ctx.store->SlotKeyCount(slot));
  } else if (sub == "GETKEYSINSLOT" && n == 4) {
    uint32_t slot;
    int64_t count;
    if (!ParseSlot(args[2], &slot)) {
      out->Error("ERR Invalid slot");
      return;
    }
    if (!absl::SimpleAtoi(args[3], &count) || count < 0) {
      out->Error("ERR Invalid number of keys");
      return;
    }
    std::vector<std::string> keys;
    uint64_t cursor = 0;
    do {
      cursor = ctx.store->ScanSlot(
          slot, cursor, static_cast<size_t>(count) - keys.size(),
          [&](const storage::KeyRecord& r) {
            if (static_cast<int64_t>(keys.size()) < count)
              keys.push_back(r.key);
          });
    } while (cursor != 0 && static_cast<int64_t>(keys.size()) < count);
    out->ArrayHeader(keys.size());
    for (const std::string& k : keys) out->Bulk(k);
  } else {
    out->Error(
        absl::StrCat("ERR unknown subcommand or wrong number of "
                     "arguments for '",
                     args[1].substr(0, 64), "'. Try CLUSTER HELP."));
  }
}

}  // namespace slotcache::node::resp
