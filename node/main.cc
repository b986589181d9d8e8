// slotcache-node: a cache node. Flags, wiring, run; the node itself is
// node/server/node_server.h.
#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/byte_size.h"
#include "common/logging.h"
#include "common/process.h"
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
ABSL_FLAG(ByteSize, migration_max_bytes_per_sec, ByteSize{0},
          "Slot migration: the most snapshot bytes per second this node "
          "streams to a shard importing its slots (e.g. 50MB); 0 is "
          "unlimited. Bounds what a reshard takes from client traffic.");
ABSL_FLAG(std::string, resp_listen, "",
          "HOST:PORT for the Redis protocol (RESP2/RESP3) port; port 0 "
          "picks a free port; empty: no RESP port.");
ABSL_FLAG(std::string, resp_address_file, "",
          "If set, write the bound RESP HOST:PORT to this file once serving.");
ABSL_FLAG(int, resp_threads, 0,
          "RESP event loop threads; 0 means one per core.");
ABSL_FLAG(int, maxclients, 10000,
          "Most RESP connections at once (Redis maxclients).");
ABSL_FLAG(absl::Duration, resp_idle_timeout, absl::ZeroDuration(),
          "Close RESP connections idle this long (Redis timeout); 0: never.");
ABSL_FLAG(ByteSize, resp_output_buffer_limit, ByteSize{256ull << 20},
          "Unread replies a RESP client may accumulate before it is "
          "disconnected.");
ABSL_FLAG(ByteSize, resp_query_buffer_limit, ByteSize{1ull << 30},
          "Unparsed input a RESP client may buffer (Redis "
          "client-query-buffer-limit).");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT for the Prometheus /metrics endpoint; port 0 picks a "
          "free port; empty: no metrics (and no cost on the data path).");
ABSL_FLAG(std::string, metrics_address_file, "",
          "If set, write the bound metrics HOST:PORT to this file.");
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
  options.identity.az = absl::GetFlag(FLAGS_az);
  options.coordinator_address = absl::GetFlag(FLAGS_coordinator);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
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
  options.repl_backlog_bytes = absl::GetFlag(FLAGS_repl_backlog_bytes).bytes;
  options.replicaof = absl::GetFlag(FLAGS_replicaof);
  options.migration_max_bytes_per_sec =
      absl::GetFlag(FLAGS_migration_max_bytes_per_sec).bytes;
  options.resp.listen_address = absl::GetFlag(FLAGS_resp_listen);
  options.resp.threads = absl::GetFlag(FLAGS_resp_threads);
  options.resp.max_clients = absl::GetFlag(FLAGS_maxclients);
  options.resp.idle_timeout = absl::GetFlag(FLAGS_resp_idle_timeout);
  options.resp.max_output_buffer_bytes =
      absl::GetFlag(FLAGS_resp_output_buffer_limit).bytes;
  options.resp.max_query_buffer_bytes =
      absl::GetFlag(FLAGS_resp_query_buffer_limit).bytes;
  // proto-max-bulk-len: no RESP word may be longer than the longest key or
  // value the dispatcher accepts.
  options.resp.parser.max_bulk_bytes = static_cast<int64_t>(
      std::max(options.limits.max_key_bytes, options.limits.max_value_bytes));
  options.resp_address_file = absl::GetFlag(FLAGS_resp_address_file);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.metrics_address_file = absl::GetFlag(FLAGS_metrics_address_file);
  options.serve.name = "slotcache-node";
  options.serve.rpc.listen_address = absl::GetFlag(FLAGS_listen);
  options.serve.address_file = absl::GetFlag(FLAGS_address_file);
  if (absl::Status s = slotcache::node::NodeServer::PrepareOptions(&options);
      !s.ok()) {
    SC_LOG(ERROR, "slotcache-node: %s", s.message());
    return absl::IsInvalidArgument(s) ? 2 : 1;
  }

  slotcache::node::NodeServer node(std::move(options));
  if (absl::Status s = node.ServeUntilSignal(); !s.ok()) {
    SC_LOG(ERROR, "slotcache-node: %s", s.ToString());
    return 1;
  }
  return 0;
}
