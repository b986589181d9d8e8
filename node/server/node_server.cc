#include "node/server/node_server.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "common/logging.h"
#include "common/node_id.h"

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
               {options_.coordinated, options_.store.clock}),
      replication_(&repl_log_, &store_, &cluster_, options_.store.clock),
      dispatcher_(&executor_, options_.limits),
      cache_service_(&dispatcher_, &cluster_, &replication_),
      admin_service_(
          &cluster_, &store_, options_.store.clock,
          [this](v1::NodeStatus* status) { replication_.FillStatus(status); }) {
}

NodeServer::~NodeServer() {
  replication_.Stop();
  store_.StopActiveExpiry();
}

absl::Status NodeServer::ServeUntilSignal(
    const std::function<absl::Status(const std::string& address)>& on_started,
    const std::function<void()>& on_shutdown) {
  ServeOptions serve = options_.serve;
  serve.rpc.max_message_bytes =
      TransportMessageLimit(options_.limits.max_message_bytes);
  NodeIdentity identity = cluster_.identity();
  return slotcache::ServeUntilSignal(
      serve, {&cache_service_, &admin_service_, replication_.service()},
      [&](const std::string& address) {
        cluster_.SetAddress(address);
        store_.StartActiveExpiry();
        if (absl::Status s = replication_.Start(options_.replicaof); !s.ok()) {
          return s;
        }
        SC_LOG(INFO, "node %s (az '%s') %s", identity.node_id, identity.az,
               options_.coordinated ? "waits for its coordinator's map"
                                    : "is standalone: primary of all slots");
        return on_started ? on_started(address) : absl::OkStatus();
      },
      [&] {
        if (on_shutdown) on_shutdown();
        replication_.Stop();
        store_.StopActiveExpiry();
      });
}

}  // namespace slotcache::node
