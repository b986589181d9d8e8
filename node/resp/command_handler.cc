#include "node/resp/command_handler.h"

#include <sys/time.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/byte_size.h"
#include "common/commands/command_table.h"
#include "common/slot.h"
#include "node/resp/cluster_commands.h"
#include "node/resp/command_util.h"

namespace slotcache::node::resp {
namespace {

// WAIT with timeout 0 blocks forever in Redis; here it is capped so a
// connection never waits on replicas without end.
constexpr absl::Duration kMaxWait = absl::Hours(1);

}  // namespace

const RoutingView& RoundContext::View(bool allow_replica_read) {
  if (!view_.has_value() || view_allows_replica_read_ != allow_replica_read) {
    view_.emplace(cluster_->View(allow_replica_read));
    view_allows_replica_read_ = allow_replica_read;
  }
  return *view_;
}

const absl::flat_hash_map<std::string, CommandHandler::ServerCommandSpec>&
CommandHandler::ServerCommands() {
  using H = CommandHandler;
  using Spec = ServerCommandSpec;
  static const auto* const table = new absl::flat_hash_map<std::string, Spec>{
      {"HELLO", {-1, &H::Hello}},        {"CLIENT", {-2, &H::Client}},
      {"COMMAND", {-1, &H::Command}},    {"INFO", {-1, &H::Info}},
      {"CONFIG", {-2, &H::Config}},      {"SELECT", {2, &H::Select}},
      {"QUIT", {-1, &H::Quit}},          {"RESET", {1, &H::Reset}},
      {"ECHO", {2, &H::Echo}},           {"READONLY", {1, &H::ReadOnly}},
      {"READWRITE", {1, &H::ReadWrite}}, {"ASKING", {1, &H::Asking}},
      {"WAIT", {3, &H::Wait}},           {"TIME", {1, &H::Time}},
      {"CLUSTER", {-2, &H::Cluster}},
  };
  return *table;
}

CommandHandler::CommandHandler(const HandlerOptions& options)
    : options_(options), started_at_(absl::Now()) {}

bool CommandHandler::RepliesMap(absl::string_view name) {
  return Is(name, "HGETALL");
}

std::string CommandHandler::RespAddressOf(const v1::Redirect& redirect,
                                          const RoutingView& view) {
  const v1::ClusterMap* map = view.table().map.get();
  if (map == nullptr) return "";
  for (const v1::NodeInfo& n : map->nodes()) {
    const bool same = redirect.node_id().empty()
                          ? n.address() == redirect.address()
                          : n.node_id() == redirect.node_id();
    if (same) return n.resp_address();
  }
  return "";
}

CommandHandler::Outcome CommandHandler::Handle(
    absl::Span<const absl::string_view> args, Session* session,
    RoundContext* round, ReplyWriter* out, WaitRequest* wait) const {
  const Call call{args, session, round, out, wait};
  char upper[16];
  const absl::string_view name = args[0];
  // Server commands have short names; a longer one is a keyspace command.
  if (name.size() <= sizeof(upper)) {
    for (size_t i = 0; i < name.size(); ++i) {
      upper[i] = absl::ascii_toupper(static_cast<unsigned char>(name[i]));
    }
    const auto& table = ServerCommands();
    auto it = table.find(absl::string_view(upper, name.size()));
    if (it != table.end()) {
      const int words = static_cast<int>(args.size());
      const int arity = it->second.arity;
      if (arity >= 0 ? words != arity : words < -arity) {
        out->Error(WrongArity(name));
        return Outcome::kReplied;
      }
      return (this->*(it->second.run))(call);
    }
  }
  return Dispatch(call);
}

CommandHandler::Outcome CommandHandler::Dispatch(const Call& call) const {
  v1::Command& command = call.round->command;
  // Reuses the protobuf's strings: a cleared RepeatedPtrField keeps them.
  command.mutable_args()->Clear();
  command.set_name(call.args[0].data(), call.args[0].size());
  for (size_t i = 1; i < call.args.size(); ++i) {
    command.add_args(call.args[i].data(), call.args[i].size());
  }
  const RoutingView& view = call.round->View(call.session->client.readonly);
  v1::Reply& reply = call.round->reply;
  reply.Clear();
  options_.dispatcher->Dispatch(command, view, &reply);
  if (reply.has_error()) {
    v1::Error& error = *reply.mutable_error();
    if (options_.cluster_mode &&
        static_cast<int>(error.code()) == v1::READONLY) {
      // A Redis Cluster replica answers a write with MOVED to its primary
      // (READONLY is what a non-cluster replica says), and cluster clients
      // follow only MOVED/ASK. The slot is that of the first key, as Redis
      // redirects by it; node-wide writes (FLUSHALL) have no slot and keep
      // READONLY.
      const CommandSpec* spec = FindCommand(command.name());
      if (spec != nullptr && spec->first_key >= 0 &&
          spec->first_key < command.args_size()) {
        error.set_code(v1::MOVED);
        error.mutable_redirect()->set_slot(
            KeySlot(command.args(spec->first_key)));
      }
    }
    std::string address;
    if (error.has_redirect()) address = RespAddressOf(error.redirect(), view);
    call.out->Error(RedisErrorLine(error, address));
  } else {
    if (options_.clients != nullptr) CountLookups(command, reply.value());
    call.out->Value(reply.value(),
                    call.out->protocol() >= 3 && RepliesMap(call.args[0]));
  }
  return Outcome::kReplied;
}

void CommandHandler::CountLookups(const v1::Command& command,
                                  const v1::Value& value) const {
  // Reads of keys that answer a value: nil (or an empty array, HGETALL of
  // a missing key) is a miss, anything else a hit; MGET counts each key.
  // Reads answering integers or statuses (EXISTS, TTL, TYPE) are not
  // counted.
  const CommandSpec* spec = FindCommand(command.name());
  if (spec == nullptr || (spec->flags & kReadOnly) == 0 || spec->first_key < 0)
    return;
  uint64_t hits = 0, misses = 0;
  if (value.has_nil()) {
    ++misses;
  } else if (value.has_bulk()) {
    ++hits;
  } else if (value.has_array()) {
    if (Is(command.name(), "MGET")) {
      for (const v1::Value& v : value.array().values()) {
        ++(v.has_nil() ? misses : hits);
      }
    } else {
      ++(value.array().values_size() == 0 ? misses : hits);
    }
  }
  options_.clients->CountLookups(hits, misses);
}

CommandHandler::Outcome CommandHandler::Hello(const Call& call) const {
  Session* s = call.session;
  size_t i = 1;
  int protocol = s->client.protocol;
  if (call.args.size() >= 2) {
    int64_t v;
    if (!absl::SimpleAtoi(call.args[1], &v)) {
      call.out->Error("ERR Protocol version is not an integer or out of range");
      return Outcome::kReplied;
    }
    if (v != 2 && v != 3) {
      call.out->Error("NOPROTO unsupported protocol version");
      return Outcome::kReplied;
    }
    protocol = static_cast<int>(v);
    i = 2;
  }
  std::string name = s->client.name;
  bool set_name = false;
  for (; i < call.args.size(); ++i) {
    const bool has1 = i + 1 < call.args.size();
    if (Is(call.args[i], "AUTH") && i + 2 < call.args.size()) {
      // No AUTH token is configured on the RESP port yet (AUTH is not built
      // yet): accept any credentials, like a Redis without
      // requirepass does for the default user.
      i += 2;
    } else if (Is(call.args[i], "SETNAME") && has1) {
      name = std::string(call.args[++i]);
      set_name = true;
    } else {
      call.out->Error(absl::StrCat("ERR Syntax error in HELLO option '",
                                   call.args[i].substr(0, 64), "'"));
      return Outcome::kReplied;
    }
  }
  s->client.protocol = protocol;
  if (set_name) s->client.name = name;
  if (set_name && options_.clients != nullptr)
    options_.clients->Update(s->client);
  // The reply uses the new protocol.
  ReplyWriter out(call.out->buffer(), protocol);
  out.MapHeader(7);
  out.Bulk("server");
  out.Bulk("redis");
  out.Bulk("version");
  out.Bulk(kRedisVersion);
  out.Bulk("proto");
  out.Integer(protocol);
  out.Bulk("id");
  out.Integer(static_cast<int64_t>(s->client.id));
  out.Bulk("mode");
  out.Bulk(options_.cluster_mode ? "cluster" : "standalone");
  out.Bulk("role");
  out.Bulk(options_.cluster->role() == v1::REPLICA ? "replica" : "master");
  out.Bulk("modules");
  out.ArrayHeader(0);
  return Outcome::kReplied;
}

CommandHandler::Outcome CommandHandler::Select(const Call& call) const {
  int64_t db;
  if (!absl::SimpleAtoi(call.args[1], &db)) {
    call.out->Error("ERR value is not an integer or out of range");
  } else if (db != 0) {
    call.out->Error(options_.cluster_mode
                        ? "ERR SELECT is not allowed in cluster mode"
                        : "ERR DB index is out of range");
  } else {
    call.out->Status("OK");
  }
  return Outcome::kReplied;
}

CommandHandler::Outcome CommandHandler::Quit(const Call& call) const {
  call.out->Status("OK");
  return Outcome::kClose;
}

CommandHandler::Outcome CommandHandler::Reset(const Call& call) const {
  Session* s = call.session;
  s->client.protocol = 2;
  s->client.readonly = false;
  s->client.name.clear();
  if (options_.clients != nullptr) options_.clients->Update(s->client);
  // RESET answers in the protocol it resets to.
  ReplyWriter(call.out->buffer(), 2).Status("RESET");
  return Outcome::kReplied;
}

CommandHandler::Outcome CommandHandler::Echo(const Call& call) const {
  call.out->Bulk(call.args[1]);
  return Outcome::kReplied;
}

bool CommandHandler::RequireClusterMode(const Call& call) const {
  if (options_.cluster_mode) return true;
  call.out->Error("ERR This instance has cluster support disabled");
  return false;
}

CommandHandler::Outcome CommandHandler::ReadOnly(const Call& call) const {
  if (RequireClusterMode(call)) {
    call.session->client.readonly = true;
    call.out->Status("OK");
  }
  return Outcome::kReplied;
}

CommandHandler::Outcome CommandHandler::ReadWrite(const Call& call) const {
  if (RequireClusterMode(call)) {
    call.session->client.readonly = false;
    call.out->Status("OK");
  }
  return Outcome::kReplied;
}

CommandHandler::Outcome CommandHandler::Asking(const Call& call) const {
  // The node produces no ASK redirects yet (slot migration is not built yet),
  // so there is nothing for the flag to unlock: it is accepted, not kept. With
  // ASK, the session must carry it to the next command's routing.
  if (RequireClusterMode(call)) call.out->Status("OK");
  return Outcome::kReplied;
}

CommandHandler::Outcome CommandHandler::Wait(const Call& call) const {
  int64_t replicas, timeout_ms;
  if (!absl::SimpleAtoi(call.args[1], &replicas) || replicas < 0 ||
      !absl::SimpleAtoi(call.args[2], &timeout_ms)) {
    call.out->Error("ERR value is not an integer or out of range");
    return Outcome::kReplied;
  }
  if (timeout_ms < 0) {
    call.out->Error("ERR timeout is negative");
    return Outcome::kReplied;
  }
  if (options_.acks == nullptr || replicas == 0) {
    call.out->Integer(0);
    return Outcome::kReplied;
  }
  call.wait->replicas = static_cast<int>(std::min<int64_t>(replicas, 1 << 20));
  call.wait->timeout = timeout_ms == 0
                           ? kMaxWait
                           : std::min(absl::Milliseconds(timeout_ms), kMaxWait);
  return Outcome::kWait;
}

CommandHandler::Outcome CommandHandler::Time(const Call& call) const {
  const int64_t us = absl::ToUnixMicros(absl::Now());
  call.out->ArrayHeader(2);
  call.out->Bulk(absl::StrCat(us / 1000000));
  call.out->Bulk(absl::StrCat(us % 1000000));
  return Outcome::kReplied;
}

CommandHandler::Outcome CommandHandler::Cluster(const Call& call) const {
  if (!RequireClusterMode(call)) return Outcome::kReplied;
  const RoutingView& view = call.round->View(call.session->client.readonly);
  ClusterContext context;
  context.map = view.table().map.get();
  context.my_id = options_.cluster->identity().node_id;
  context.store = options_.store;
  HandleCluster(call.args, context, call.out);
  return Outcome::kReplied;
}

}  // namespace slotcache::node::resp
