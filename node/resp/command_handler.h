// CommandHandler: what a RESP connection does with one parsed command.
//
// Keyspace commands (GET, SET, HGETALL, DBSIZE, PING, ... everything in
// the node's command table) are not implemented here: they become a
// v1::Command and go through Dispatcher::Dispatch with the read round's
// RoutingView, exactly as over gRPC, so limits, routing, replication and
// errors are the same; only the encoding differs (ReplyWriter, and
// RedisErrorLine for typed errors, with redirects rewritten to the target
// node's RESP address from the cluster map).
//
// Connection and server commands, which have no gRPC counterpart, live in
// a small table of their own here: HELLO, CLIENT, COMMAND, INFO, CONFIG,
// SELECT, QUIT, RESET, ECHO, READONLY/READWRITE, ASKING, WAIT, TIME and
// CLUSTER (node/resp/cluster_commands.h).
//
// Thread-safety: one CommandHandler serves every event loop; Handle may run
// on many threads at once (each with its own Session and RoundContext).
#ifndef SLOTCACHE_NODE_RESP_COMMAND_HANDLER_H_
#define SLOTCACHE_NODE_RESP_COMMAND_HANDLER_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "node/cluster/cluster_state.h"
#include "node/replication/replica_ack_waiter.h"
#include "node/resp/client_registry.h"
#include "node/resp/reply_writer.h"
#include "node/server/dispatcher.h"
#include "node/storage/store.h"
#include "proto/admin.pb.h"
#include "proto/cache.pb.h"

namespace slotcache::node::resp {

// One connection's state as its commands see and change it.
struct Session {
  ClientSummary client;
};

// Scratch of one event loop, reset at the start of each read round: the
// round's routing snapshot (taken at most once per round and readonly
// mode: one RoutingView per read batch) and the
// command/reply objects, reused so steady traffic allocates little.
class RoundContext {
 public:
  explicit RoundContext(const ClusterState* cluster) : cluster_(cluster) {}

  void BeginRound() { view_.reset(); }
  // Releases the round's routing snapshot: a held RoutingView keeps a
  // PauseWrites / PauseSlotWrites waiting (it counts as a request in
  // flight), so a loop must not keep one while it sleeps in epoll.
  void EndRound() { view_.reset(); }
  const RoutingView& View(bool allow_replica_read);

  v1::Command command;
  v1::Reply reply;

 private:
  const ClusterState* const cluster_;
  std::optional<RoutingView> view_;
  bool view_allows_replica_read_ = false;
};

struct HandlerOptions {
  // Not owned; all must outlive the handler. `acks` may be null (WAIT then
  // answers 0 at once).
  const Dispatcher* dispatcher = nullptr;
  const ClusterState* cluster = nullptr;
  storage::Store* store = nullptr;
  ReplicaAckWaiter* acks = nullptr;
  ClientRegistry* clients = nullptr;
  // Cluster mode (a coordinator manages the node): CLUSTER, READONLY and
  // ASKING are served and INFO says cluster_enabled:1. Otherwise the node
  // answers like a single Redis with cluster mode disabled.
  bool cluster_mode = false;
  // Limits reported by CONFIG GET / INFO.
  int max_clients = 10000;
  // Adds the replication fields of NodeStatus (ReplicationManager::
  // FillStatus) for INFO replication; optional.
  std::function<void(v1::NodeStatus*)> fill_replication;
};

class CommandHandler {
 public:
  enum class Outcome {
    // The reply is written.
    kReplied,
    // The reply is written; close the connection once it is sent (QUIT).
    kClose,
    // WAIT: nothing written yet; the caller waits for `wait` and then
    // writes the number of acknowledging replicas as an integer.
    kWait,
  };
  struct WaitRequest {
    int replicas = 0;
    absl::Duration timeout;
  };

  explicit CommandHandler(const HandlerOptions& options);

  CommandHandler(const CommandHandler&) = delete;
  CommandHandler& operator=(const CommandHandler&) = delete;

  // Runs the command `args` (name first, non-empty) for `session`.
  Outcome Handle(absl::Span<const absl::string_view> args, Session* session,
                 RoundContext* round, ReplyWriter* out,
                 WaitRequest* wait) const;

  // The RESP port's own address, once bound (CLUSTER NODES "myself",
  // INFO). Call before serving.
  void SetLocalAddress(std::string address) {
    local_address_ = std::move(address);
  }

  // The RESP address of the node a redirect points at, from the map of
  // `view` (by node id, else by gRPC address); empty when the map has
  // none (the error then keeps the gRPC address).
  static std::string RespAddressOf(const v1::Redirect& redirect,
                                   const RoutingView& view);

  // Keyspace commands that reply a map under RESP3 (HGETALL).
  static bool RepliesMap(absl::string_view name);

  // Called by the handlers of the connection commands table.
  struct Call {
    absl::Span<const absl::string_view> args;
    Session* session;
    RoundContext* round;
    ReplyWriter* out;
    WaitRequest* wait;
  };
  using ServerCommand = Outcome (CommandHandler::*)(const Call&) const;

 private:
  struct ServerCommandSpec {
    // Redis arity: N > 0 exactly N words, N < 0 at least -N.
    int arity;
    ServerCommand run;
  };
  // The connection and server commands, by upper-case name.
  static const absl::flat_hash_map<std::string, ServerCommandSpec>&
  ServerCommands();

  Outcome Dispatch(const Call& call) const;
  // INFO keyspace_hits / keyspace_misses of a keyspace command's reply.
  void CountLookups(const v1::Command& command, const v1::Value& value) const;

  Outcome Hello(const Call& call) const;
  Outcome Client(const Call& call) const;
  Outcome Command(const Call& call) const;
  Outcome Info(const Call& call) const;
  Outcome Config(const Call& call) const;
  Outcome Select(const Call& call) const;
  Outcome Quit(const Call& call) const;
  Outcome Reset(const Call& call) const;
  Outcome Echo(const Call& call) const;
  Outcome ReadOnly(const Call& call) const;
  Outcome ReadWrite(const Call& call) const;
  Outcome Asking(const Call& call) const;
  Outcome Wait(const Call& call) const;
  Outcome Time(const Call& call) const;
  Outcome Cluster(const Call& call) const;

  // "ERR This instance has cluster support disabled" unless cluster mode.
  bool RequireClusterMode(const Call& call) const;
  std::string InfoText(absl::Span<const absl::string_view> sections) const;
  // INFO replication from `status` (ReplicationManager::FillStatus).
  std::string ReplicationInfo(const v1::NodeStatus& status) const;
  // One COMMAND INFO entry (nil for an unknown command).
  static void WriteCommandInfo(absl::string_view name, ReplyWriter* out);
  std::string ClientLine(const ClientSummary& c) const;

  // Constant after construction (local_address_: before serving).
  const HandlerOptions options_;
  const absl::Time started_at_;
  std::string local_address_;
};

}  // namespace slotcache::node::resp

#endif  // SLOTCACHE_NODE_RESP_COMMAND_HANDLER_H_
