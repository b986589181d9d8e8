// slotcache-node: a cache node. Flags, wiring, run; the node itself is
// node/server/node_server.h.
#include <cstdint>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "common/logging.h"
#include "common/node_id.h"
#include "common/process.h"
#include "node/cluster/coordinator_agent.h"
#include "common/byte_size.h"
#include "node/server/node_server.h"

using slotcache::ByteSize;

ABSL_FLAG(std::string, listen, "127.0.0.1:7000",
          "HOST:PORT to serve on; port 0 picks a free port.");
ABSL_FLAG(std::string, address_file, "",
          "If set, write the bound HOST:PORT to this file once serving.");
ABSL_FLAG(std::string, node_id, "",
          "Stable id of this node; empty makes up a random one.");
ABSL_FLAG(std::string, az, "", "Availability zone label, e.g. az-a.");
ABSL_FLAG(std::string, coordinator, "",
          "HOST:PORT of the coordinator to join (needs --az and --data_dir); "
          "empty runs the node standalone, owning every slot.");
ABSL_FLAG(std::string, data_dir, "",
          "Folder for the node's persistent identity (its node id), kept "
          "across restarts. Required with --coordinator.");
ABSL_FLAG(ByteSize, maxmemory, ByteSize{0},
          "Memory limit for keys and values, e.g. 100mb or 1gb (units as in "
          "redis.conf: k=1000, kb=1024, ...); 0 means no limit.");
ABSL_FLAG(std::string, maxmemory_policy, "noeviction",
          "What to do at maxmemory, as in Redis: noeviction, allkeys-lru, "
          "allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, "
          "volatile-random, volatile-ttl.");
ABSL_FLAG(ByteSize, max_key_bytes, ByteSize{64 * 1024},
          "Longest key accepted; longer ones get INVALID_ARGUMENT.");
ABSL_FLAG(ByteSize, max_value_bytes, ByteSize{512ull << 20},
          "Longest value (any non-key argument) accepted.");
ABSL_FLAG(uint64_t, max_batch_commands, 10000,
          "Most commands in one Batch request or Pipeline message.");
ABSL_FLAG(ByteSize, max_message_bytes, ByteSize{(512ull << 20) + (64 << 10)},
          "Largest request message accepted.");

ABSL_FLAG(ByteSize, repl_backlog_bytes, ByteSize{64ull << 20},
          "Replication backlog: how many bytes of recent writes a primary "
          "keeps so that a replica that reconnects can resume with a "
          "partial resync instead of a full sync.");
ABSL_FLAG(std::string, replicaof, "",
          "HOST:PORT of a primary to replicate (standalone setups and "
          "tests; with a coordinator the role comes from the cluster map).");

int main(int argc, char** argv) {
  slotcache::BlockShutdownSignals();
  slotcache::ParseFlags(argc, argv,
                        "slotcache-node: a slotcache cache node.\n\n"
                        "Usage: slotcache-node --listen=HOST:PORT [flags]");

  slotcache::node::NodeOptions options;
  options.identity.node_id = absl::GetFlag(FLAGS_node_id);
  if (!options.identity.node_id.empty() &&
      !slotcache::IsValidNodeId(options.identity.node_id)) {
    SC_LOG(ERROR,
           "slotcache-node: --node_id '%s' is not a node id; use 1..64 "
           "characters of A-Z a-z 0-9 _ -",
           options.identity.node_id);
    return 2;
  }
  options.identity.az = absl::GetFlag(FLAGS_az);
  options.store.maxmemory_bytes = absl::GetFlag(FLAGS_maxmemory).bytes;
  absl::StatusOr<slotcache::node::storage::EvictionPolicy> policy =
      slotcache::node::storage::ParseEvictionPolicy(
          absl::GetFlag(FLAGS_maxmemory_policy));
  if (!policy.ok()) {
    SC_LOG(ERROR, "slotcache-node: --maxmemory_policy: %s",
           policy.status().message());
    return 2;
  }
  options.store.eviction_policy = *policy;
  options.limits.max_key_bytes = absl::GetFlag(FLAGS_max_key_bytes).bytes;
  options.limits.max_value_bytes = absl::GetFlag(FLAGS_max_value_bytes).bytes;
  options.limits.max_batch_commands = absl::GetFlag(FLAGS_max_batch_commands);
  options.limits.max_message_bytes =
      absl::GetFlag(FLAGS_max_message_bytes).bytes;
  const std::string coordinator = absl::GetFlag(FLAGS_coordinator);
  if (!coordinator.empty()) {
    if (options.identity.az.empty() || absl::GetFlag(FLAGS_data_dir).empty()) {
      SC_LOG(ERROR,
             "slotcache-node: --coordinator needs --az=NAME (the node's "
             "availability zone) and --data_dir=DIR (where it keeps its id)");
      return 2;
    }
    absl::StatusOr<std::string> id = slotcache::node::LoadOrCreateNodeId(
        absl::GetFlag(FLAGS_data_dir), options.identity.node_id);
    if (!id.ok()) {
      SC_LOG(ERROR, "slotcache-node: %s", id.status().message());
      return 1;
    }
    options.identity.node_id = *id;
    options.coordinated = true;
  }
  options.repl_backlog_bytes = absl::GetFlag(FLAGS_repl_backlog_bytes).bytes;
  options.replicaof = absl::GetFlag(FLAGS_replicaof);
  options.serve.name = "slotcache-node";
  options.serve.rpc.listen_address = absl::GetFlag(FLAGS_listen);
  options.serve.address_file = absl::GetFlag(FLAGS_address_file);

  slotcache::node::NodeServer node(std::move(options));
  std::unique_ptr<slotcache::node::CoordinatorAgent> agent;
  absl::Status status = node.ServeUntilSignal(
      [&](const std::string&) {
        if (coordinator.empty()) return absl::OkStatus();
        slotcache::node::CoordinatorAgentOptions agent_options;
        agent_options.coordinator_address = coordinator;
        slotcache::node::BindToClusterState(node.cluster(), &agent_options);
        agent_options.fill_heartbeat =
            [&node](slotcache::v1::HeartbeatRequest* beat) {
              slotcache::node::storage::StoreStats stats =
                  node.store()->Stats();
              beat->set_key_count(static_cast<uint64_t>(stats.keys));
              beat->set_used_memory_bytes(
                  static_cast<uint64_t>(stats.used_memory_bytes));
              node.replication()->FillHeartbeat(beat);
            };
        agent = std::make_unique<slotcache::node::CoordinatorAgent>(
            std::move(agent_options));
        agent->Start();
        return absl::OkStatus();
      },
      [&] {
        if (agent != nullptr) agent->Stop();
      });
  if (!status.ok()) {
    SC_LOG(ERROR, "slotcache-node: %s", status.ToString());
    return 1;
  }
  return 0;
}
