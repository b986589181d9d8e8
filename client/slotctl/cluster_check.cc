#include "client/slotctl/cluster_check.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/slot.h"

namespace slotcache::slotctl {
namespace {

using Level = CheckLine::Level;

// At most this many slots are listed in a message; the rest are counted.
constexpr size_t kMaxListedRanges = 8;

}  // namespace

const char* LevelName(Level level) {
  switch (level) {
    case Level::kOk:
      return "OK";
    case Level::kWarn:
      return "WARN";
    case Level::kErr:
      return "ERR";
  }
  return "ERR";
}

std::string SlotListText(const std::vector<uint32_t>& slots) {
  std::vector<std::string> ranges;
  size_t i = 0;
  while (i < slots.size() && ranges.size() < kMaxListedRanges) {
    size_t j = i;
    while (j + 1 < slots.size() && slots[j + 1] == slots[j] + 1) ++j;
    ranges.push_back(slots[i] == slots[j]
                         ? absl::StrCat(slots[i])
                         : absl::StrCat(slots[i], "-", slots[j]));
    i = j + 1;
  }
  std::string text = absl::StrJoin(ranges, ",");
  if (i < slots.size()) absl::StrAppend(&text, ",...");
  return text;
}

std::vector<CheckLine> CheckCluster(
    const v1::ClusterMap& map, const std::vector<v1::Operation>& operations) {
  std::vector<CheckLine> lines;
  if (map.shards_size() == 0) {
    lines.push_back(
        {Level::kErr,
         absl::StrCat("No cluster yet (", map.nodes_size(),
                      " nodes registered). Create one with `slotctl cluster "
                      "create --shards=N --replicas=R`.")});
    return lines;
  }
  lines.push_back(
      {Level::kOk,
       absl::StrCat("Cluster ", map.cluster_id(), ": ", map.shards_size(),
                    " shards, ", map.nodes_size(), " nodes, map version ",
                    map.version(), ".")});

  // Slot coverage.
  std::vector<int> owners(kNumSlots, 0);
  std::vector<uint32_t> out_of_range;
  for (const v1::ShardInfo& shard : map.shards()) {
    for (const v1::SlotRange& range : shard.slots()) {
      for (uint64_t slot = range.start(); slot <= range.end(); ++slot) {
        if (slot >= kNumSlots) {
          out_of_range.push_back(static_cast<uint32_t>(slot));
          break;
        }
        ++owners[slot];
      }
    }
  }
  std::vector<uint32_t> uncovered, doubled;
  for (uint32_t slot = 0; slot < kNumSlots; ++slot) {
    if (owners[slot] == 0) uncovered.push_back(slot);
    if (owners[slot] > 1) doubled.push_back(slot);
  }
  if (uncovered.empty() && doubled.empty() && out_of_range.empty()) {
    lines.push_back({Level::kOk, absl::StrCat("All ", kNumSlots,
                                              " slots covered exactly once.")});
  }
  if (!uncovered.empty()) {
    lines.push_back(
        {Level::kErr, absl::StrCat(uncovered.size(), " slots are not covered: ",
                                   SlotListText(uncovered), ".")});
  }
  if (!doubled.empty()) {
    lines.push_back({Level::kErr, absl::StrCat(doubled.size(),
                                               " slots are owned by more than "
                                               "one shard: ",
                                               SlotListText(doubled), ".")});
  }
  if (!out_of_range.empty()) {
    lines.push_back({Level::kErr, absl::StrCat("Slot ranges reach past ",
                                               kNumSlots - 1, ".")});
  }

  // Shards: primary, replicas, AZs.
  absl::flat_hash_map<std::string, const v1::NodeInfo*> nodes;
  for (const v1::NodeInfo& node : map.nodes()) nodes[node.node_id()] = &node;
  for (const v1::ShardInfo& shard : map.shards()) {
    const std::string& id = shard.shard_id();
    auto primary_it = nodes.find(shard.primary_node_id());
    if (shard.primary_node_id().empty() || primary_it == nodes.end()) {
      lines.push_back({Level::kErr, absl::StrCat(id, " has no primary.")});
      continue;
    }
    const v1::NodeInfo& primary = *primary_it->second;
    if (primary.health() != v1::HEALTHY) {
      const v1::Operation* failover = nullptr;
      for (const v1::Operation& op : operations) {
        if (op.kind() == "failover" && op.shard_id() == id) failover = &op;
      }
      std::string why =
          "; its slots are unavailable until a replica is promoted (after "
          "node_timeout) or it returns.";
      if (failover != nullptr && failover->state() == v1::Operation::RUNNING) {
        why = absl::StrCat("; failover ", failover->id(),
                           " is running: ", failover->progress(), ".");
      } else if (failover != nullptr &&
                 failover->state() == v1::Operation::FAILED) {
        why = absl::StrCat("; its slots are unavailable: failover ",
                           failover->id(), " failed: ", failover->progress());
      }
      lines.push_back(
          {Level::kErr, absl::StrCat(id, ": primary ", primary.node_id(), " (",
                                     primary.address(), ") is ",
                                     v1::Health_Name(primary.health()), why)});
    } else {
      lines.push_back(
          {Level::kOk, absl::StrCat(id, ": primary ", primary.node_id(), " (",
                                    primary.address(), ", ", primary.az(),
                                    ") is HEALTHY.")});
    }
    std::vector<std::string> replica_azs;
    bool replicas_ok = true;
    for (const std::string& replica_id : shard.replica_node_ids()) {
      auto it = nodes.find(replica_id);
      if (it == nodes.end()) {
        lines.push_back({Level::kErr, absl::StrCat(id, ": replica ", replica_id,
                                                   " is not a known node.")});
        replicas_ok = false;
        continue;
      }
      const v1::NodeInfo& replica = *it->second;
      replica_azs.push_back(replica.az());
      if (replica.az() == primary.az()) {
        lines.push_back(
            {Level::kErr,
             absl::StrCat(id, ": replica ", replica_id, " is in ", replica.az(),
                          ", the same AZ as its primary; losing "
                          "that AZ loses both.")});
        replicas_ok = false;
      }
      if (replica.health() != v1::HEALTHY) {
        lines.push_back(
            {Level::kWarn,
             absl::StrCat(id, ": replica ", replica_id, " (", replica.address(),
                          ") is ", v1::Health_Name(replica.health()), ".")});
      }
    }
    if (replicas_ok) {
      lines.push_back(
          {Level::kOk,
           shard.replica_node_ids_size() == 0
               ? absl::StrCat(id, ": no replicas.")
               : absl::StrCat(id, ": ", shard.replica_node_ids_size(),
                              " replicas in ", absl::StrJoin(replica_azs, ", "),
                              ", apart from the primary's AZ.")});
    }
  }
  return lines;
}

bool CheckPassed(const std::vector<CheckLine>& lines) {
  return std::none_of(lines.begin(), lines.end(), [](const CheckLine& line) {
    return line.level == Level::kErr;
  });
}

}  // namespace slotcache::slotctl
