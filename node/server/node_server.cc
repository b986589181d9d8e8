#include "node/server/node_server.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/node_id.h"
#include "common/status.h"

namespace slotcache::node {
namespace {

// Headroom over max_message_bytes before gRPC cuts a request off.
constexpr uint64_t kMinTransportHeadroomBytes = 4ull << 20;

NodeIdentity WithNodeId(NodeIdentity identity) {
  if (identity.node_id.empty()) identity.node_id = NewNodeId();
  return identity;
}

storage::StoreOptions WithLimits(storage::StoreOptions store,
                                 const RequestLimits& limits,
                                 storage::ChangeListener* listener) {
  store.max_key_bytes = limits.max_key_bytes;
  store.max_value_bytes = limits.max_value_bytes;
  store.listener = listener;
  return store;
}

// An import pauses while replicas are a quarter of the backlog behind, so
// it never forces them into a full sync.
migration::ImporterOptions ImporterOptionsFor(
    const NodeOptions& options,
    std::function<std::vector<uint64_t>()> replica_acked_offsets) {
  migration::ImporterOptions importer;
  importer.replica_acked_offsets = std::move(replica_acked_offsets);
  importer.max_replica_lag_bytes = options.repl_backlog_bytes / 4;
  importer.max_message_bytes =
      TransportMessageLimit(options.limits.max_message_bytes);
  return importer;
}

migration::PullSlotsOptions PullSlotsOptionsFor(const NodeOptions& options) {
  migration::PullSlotsOptions pull;
  pull.max_bytes_per_sec = options.migration_max_bytes_per_sec;
  return pull;
}

}  // namespace

int TransportMessageLimit(uint64_t max_message_bytes) {
  uint64_t limit = max_message_bytes +
                   std::max(max_message_bytes, kMinTransportHeadroomBytes);
  return static_cast<int>(std::min<uint64_t>(
      limit, static_cast<uint64_t>(std::numeric_limits<int>::max())));
}

NodeServer::NodeServer(NodeOptions options)
    : options_(std::move(options)),
      repl_log_({options_.repl_backlog_bytes, options_.store.clock}),
      store_(WithLimits(options_.store, options_.limits, &repl_log_)),
      executor_(&store_),
      cluster_(WithNodeId(options_.identity),
               {!options_.coordinator_address.empty(), options_.store.clock}),
      replication_(&repl_log_, &store_, &cluster_, options_.store.clock),
      pull_slots_(&repl_log_, &store_, &cluster_,
                  PullSlotsOptionsFor(options_)),
      importer_(&store_, &repl_log_, &cluster_,
                ImporterOptionsFor(options_,
                                   [this] { return ReplicaAckedOffsets(); })),
      dropper_(&store_, &cluster_),
      dispatcher_(&executor_, options_.limits),
      cache_service_(&dispatcher_, &cluster_, &replication_),
      admin_service_(
          &cluster_, &store_, options_.store.clock,
          [this](v1::NodeStatus* status) { replication_.FillStatus(status); },
          &importer_, &repl_log_) {
  cluster_.SetSlotsLostListener(
      [this](std::vector<uint32_t> slots) { dropper_.Drop(std::move(slots)); });
}

NodeServer::~NodeServer() {
  pull_slots_.Stop();
  importer_.Stop();
  dropper_.Stop();
  replication_.Stop();
  store_.StopActiveExpiry();
}

absl::Status NodeServer::PrepareOptions(NodeOptions* options) {
  if (!options->identity.node_id.empty() &&
      !IsValidNodeId(options->identity.node_id)) {
    return InvalidInputError(absl::StrCat(
        "node id '", options->identity.node_id,
        "' is not a node id; use 1..64 characters of A-Z a-z 0-9 _ -"));
  }
  if (options->coordinator_address.empty()) return absl::OkStatus();
  if (options->identity.az.empty() || options->data_dir.empty()) {
    return InvalidInputError(
        "a node with a coordinator needs its availability zone (--az=NAME) "
        "and a folder to keep its id in (--data_dir=DIR)");
  }
  absl::StatusOr<std::string> id =
      LoadOrCreateNodeId(options->data_dir, options->identity.node_id);
  if (!id.ok()) return id.status();
  options->identity.node_id = *id;
  return absl::OkStatus();
}

std::vector<uint64_t> NodeServer::ReplicaAckedOffsets() const {
  v1::NodeStatus status;
  replication_.FillStatus(&status);
  std::vector<uint64_t> acked;
  for (const v1::ReplicaLag& replica : status.replicas()) {
    acked.push_back(replica.acked_offset());
  }
  return acked;
}

persistence::SnapshotServiceOptions NodeServer::SnapshotServiceOptionsFor() {
  persistence::SnapshotServiceOptions options;
  options.replica_synced = [this] { return replication_.ReplicaSynced(); };
  options.replica_acked_offsets = [this] { return ReplicaAckedOffsets(); };
  return options;
}

void NodeServer::FillHeartbeat(v1::HeartbeatRequest* beat) {
  const storage::StoreStats stats = store_.Stats();
  beat->set_key_count(static_cast<uint64_t>(stats.keys));
  beat->set_used_memory_bytes(static_cast<uint64_t>(stats.used_memory_bytes));
  replication_.FillHeartbeat(beat);
}

absl::Status NodeServer::StartResp() {
  if (options_.resp.listen_address.empty()) return absl::OkStatus();
  resp::HandlerOptions handler;
  handler.dispatcher = &dispatcher_;
  handler.cluster = &cluster_;
  handler.store = &store_;
  handler.acks = &replication_;
  handler.cluster_mode = coordinated();
  handler.fill_replication = [this](v1::NodeStatus* status) {
    replication_.FillStatus(status);
  };
  resp_ = std::make_unique<resp::RespServer>(options_.resp, handler);
  if (absl::Status s = resp_->Start(); !s.ok()) return s;
  if (options_.resp_address_file.empty()) return absl::OkStatus();
  return WriteFileAtomically(options_.resp_address_file, resp_->address());
}

absl::Status NodeServer::ServeUntilSignal() {
  ServeOptions serve = options_.serve;
  serve.rpc.max_message_bytes =
      TransportMessageLimit(options_.limits.max_message_bytes);
  NodeIdentity identity = cluster_.identity();
  return slotcache::ServeUntilSignal(
      serve,
      {&cache_service_, &admin_service_, replication_.service(), &pull_slots_,
       &snapshot_service_},
      [&](const std::string& address) {
        cluster_.SetAddress(address);
        store_.StartActiveExpiry();
        if (absl::Status s = replication_.Start(options_.replicaof); !s.ok()) {
          return s;
        }
        if (absl::Status s = StartResp(); !s.ok()) return s;
        SC_LOG(INFO, "node %s (az '%s') %s", identity.node_id, identity.az,
               coordinated() ? "waits for its coordinator's map"
                             : "is standalone: primary of all slots");
        if (coordinated()) {
          CoordinatorAgentOptions agent;
          agent.coordinator_address = options_.coordinator_address;
          BindToClusterState(&cluster_, &agent);
          if (resp_ != nullptr) agent.resp_address = resp_->address();
          agent.fill_heartbeat = [this](v1::HeartbeatRequest* beat) {
            FillHeartbeat(beat);
          };
          agent_ = std::make_unique<CoordinatorAgent>(std::move(agent));
          agent_->Start();
        }
        return absl::OkStatus();
      },
      [&] {
        if (agent_ != nullptr) agent_->Stop();
        if (resp_ != nullptr) resp_->Stop();
        pull_slots_.Stop();
        importer_.Stop();
        dropper_.Stop();
        replication_.Stop();
        store_.StopActiveExpiry();
      });
}

}  // namespace slotcache::node
