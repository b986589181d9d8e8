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
#include "common/slot.h"
#include "common/commands/command_table.h"
#include "node/resp/cluster_commands.h"

namespace slotcache::node::resp {
namespace {

// The Redis version slotcache reports (HELLO, INFO): the command set and
// reply shapes it follows are Redis 7.0's.
constexpr absl::string_view kRedisVersion = "7.0.0";

// WAIT with timeout 0 blocks forever in Redis; here it is capped so a
// connection never waits on replicas without end.
constexpr absl::Duration kMaxWait = absl::Hours(1);

std::string Upper(absl::string_view s) { return absl::AsciiStrToUpper(s); }

bool Is(absl::string_view a, absl::string_view b) {
  return absl::EqualsIgnoreCase(a, b);
}

std::string WrongArity(absl::string_view name) {
  return absl::StrCat("ERR wrong number of arguments for '",
                      absl::AsciiStrToLower(name), "' command");
}

// Redis' glob for CONFIG GET (only '*' is needed for the few parameters).
bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (size_t i = 0; i <= text.size(); ++i) {
      if (GlobMatch(pattern.substr(1), text.substr(i))) return true;
    }
    return false;
  }
  return !text.empty() &&
         (pattern[0] == '?' ||
          absl::ascii_tolower(pattern[0]) == absl::ascii_tolower(text[0])) &&
         GlobMatch(pattern.substr(1), text.substr(1));
}

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
    call.out->Value(reply.value(),
                    call.out->protocol() >= 3 && RepliesMap(call.args[0]));
  }
  return Outcome::kReplied;
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
      // No AUTH token is configured on the RESP port yet (DESIGN §8 tokens
      // are gRPC metadata): accept any credentials, like a Redis without
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

std::string CommandHandler::ClientLine(const ClientSummary& c) const {
  // Redis' CLIENT LIST fields; buffer and memory figures are not tracked
  // per client here and read 0.
  const int64_t age = absl::ToInt64Seconds(absl::Now() - c.connected_at);
  return absl::StrCat(
      "id=", c.id, " addr=", c.address, " laddr=", c.local_address,
      " fd=0 name=", c.name, " age=", age,
      " idle=0 flags=", c.readonly ? "r" : "N",
      " db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 "
      "obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=NULL user=default "
      "redir=-1 resp=",
      c.protocol);
}

CommandHandler::Outcome CommandHandler::Client(const Call& call) const {
  Session* s = call.session;
  ReplyWriter* out = call.out;
  const std::string sub = Upper(call.args[1]);
  const size_t n = call.args.size();
  if (sub == "SETNAME" && n == 3) {
    for (char c : call.args[2]) {
      if (c <= ' ' || c > '~') {
        out->Error(
            "ERR Client names cannot contain spaces, newlines or "
            "special characters.");
        return Outcome::kReplied;
      }
    }
    s->client.name = std::string(call.args[2]);
    if (options_.clients != nullptr) options_.clients->Update(s->client);
    out->Status("OK");
  } else if (sub == "GETNAME" && n == 2) {
    if (s->client.name.empty()) {
      out->Null();
    } else {
      out->Bulk(s->client.name);
    }
  } else if (sub == "ID" && n == 2) {
    out->Integer(static_cast<int64_t>(s->client.id));
  } else if (sub == "INFO" && n == 2) {
    out->Verbatim(absl::StrCat(ClientLine(s->client), "\n"));
  } else if (sub == "LIST") {
    std::string text;
    if (options_.clients != nullptr) {
      for (const ClientSummary& c : options_.clients->List()) {
        absl::StrAppend(&text, ClientLine(c.id == s->client.id ? s->client : c),
                        "\n");
      }
    }
    out->Verbatim(text);
  } else if (sub == "KILL" && n >= 3) {
    // CLIENT KILL addr (old form) or CLIENT KILL ID id / ADDR addr ...
    std::function<bool(const ClientSummary&)> match;
    if (n == 3) {
      const std::string addr(call.args[2]);
      match = [addr](const ClientSummary& c) { return c.address == addr; };
    } else if (n == 4 && Is(call.args[2], "ID")) {
      uint64_t id;
      if (!absl::SimpleAtoi(call.args[3], &id)) {
        out->Error("ERR client-id should be greater than 0");
        return Outcome::kReplied;
      }
      match = [id](const ClientSummary& c) { return c.id == id; };
    } else if (n == 4 &&
               (Is(call.args[2], "ADDR") || Is(call.args[2], "LADDR"))) {
      const std::string addr(call.args[3]);
      const bool local = Is(call.args[2], "LADDR");
      match = [addr, local](const ClientSummary& c) {
        return (local ? c.local_address : c.address) == addr;
      };
    } else {
      out->Error(
          "ERR syntax error; use CLIENT KILL ID <id> or CLIENT KILL "
          "ADDR <ip:port>");
      return Outcome::kReplied;
    }
    const int killed =
        options_.clients == nullptr ? 0 : options_.clients->Kill(match);
    if (n == 3) {
      if (killed == 0) {
        out->Error("ERR No such client");
      } else {
        out->Status("OK");
      }
    } else {
      out->Integer(killed);
    }
  } else if ((sub == "NO-EVICT" || sub == "NO-TOUCH") && n == 3 &&
             (Is(call.args[2], "ON") || Is(call.args[2], "OFF"))) {
    // No client tracking or eviction of clients here: accepted as a no-op.
    out->Status("OK");
  } else if (sub == "SETINFO" && n == 4) {
    out->Status("OK");
  } else {
    out->Error(
        absl::StrCat("ERR unknown subcommand or wrong number of "
                     "arguments for '",
                     call.args[1].substr(0, 64), "'. Try CLIENT HELP."));
  }
  return Outcome::kReplied;
}

void CommandHandler::WriteCommandInfo(absl::string_view name,
                                      ReplyWriter* out) {
  // Redis 6's six-element form: name, arity, flags, first key, last key,
  // step (key positions 1-based, counting the name; last -1 = the last
  // argument).
  const std::string upper = Upper(name);
  std::vector<absl::string_view> flags;
  int arity, first = 0, last = 0, step = 0;
  if (const auto it = ServerCommands().find(upper);
      it != ServerCommands().end()) {
    arity = it->second.arity;
    flags = {"loading", "stale", "fast"};
  } else if (const CommandSpec* spec = FindCommand(name); spec != nullptr) {
    arity = spec->arity;
    if ((spec->flags & kWrite) != 0) flags.push_back("write");
    if ((spec->flags & kReadOnly) != 0) flags.push_back("readonly");
    if ((spec->flags & kDenyOom) != 0) flags.push_back("denyoom");
    if (spec->first_key >= 0) {
      first = spec->first_key + 1;
      last = spec->last_key < 0 ? spec->last_key : spec->last_key + 1;
      step = spec->key_step;
    }
  } else {
    out->Null();
    return;
  }
  out->ArrayHeader(6);
  out->Bulk(absl::AsciiStrToLower(name));
  out->Integer(arity);
  out->SetHeader(flags.size());
  for (absl::string_view f : flags) out->Status(f);
  out->Integer(first);
  out->Integer(last);
  out->Integer(step);
}

CommandHandler::Outcome CommandHandler::Command(const Call& call) const {
  // Both tables: the node's keyspace commands (the dispatcher's command
  // table) and this port's connection/server commands.
  ReplyWriter* out = call.out;
  std::vector<std::string> names;
  for (const CommandSpec& spec : AllCommands()) names.emplace_back(spec.name);
  for (const auto& [name, spec] : ServerCommands()) names.push_back(name);
  if (call.args.size() == 1) {
    out->ArrayHeader(names.size());
    for (const std::string& name : names) WriteCommandInfo(name, out);
    return Outcome::kReplied;
  }
  const std::string sub = Upper(call.args[1]);
  if (sub == "COUNT" && call.args.size() == 2) {
    out->Integer(static_cast<int64_t>(names.size()));
  } else if (sub == "DOCS") {
    // redis-cli asks for docs to show hints; having none is fine for it.
    out->MapHeader(0);
  } else if (sub == "INFO") {
    out->ArrayHeader(call.args.size() - 2);
    for (size_t i = 2; i < call.args.size(); ++i) {
      WriteCommandInfo(call.args[i], out);
    }
  } else if (sub == "LIST" && call.args.size() == 2) {
    out->ArrayHeader(names.size());
    for (const std::string& name : names) {
      out->Bulk(absl::AsciiStrToLower(name));
    }
  } else {
    out->Error(absl::StrCat("ERR unknown subcommand '",
                            call.args[1].substr(0, 64),
                            "'. Try COMMAND HELP."));
  }
  return Outcome::kReplied;
}

std::string CommandHandler::InfoText(
    absl::Span<const absl::string_view> sections) const {
  auto wanted = [&](absl::string_view section) {
    if (sections.empty()) return true;
    for (absl::string_view s : sections) {
      if (Is(s, section) || Is(s, "all") || Is(s, "everything") ||
          Is(s, "default")) {
        return true;
      }
    }
    return false;
  };
  const storage::StoreStats stats = options_.store->Stats();
  std::string text;
  if (wanted("server")) {
    absl::StrAppend(
        &text, "# Server\r\nredis_version:", kRedisVersion,
        "\r\nredis_mode:", options_.cluster_mode ? "cluster" : "standalone",
        "\r\nos:Linux\r\nprocess_id:", getpid(),
        "\r\nrun_id:", RedisNodeId(options_.cluster->identity().node_id),
        "\r\ntcp_port:", local_address_.substr(local_address_.rfind(':') + 1),
        "\r\nuptime_in_seconds:",
        absl::ToInt64Seconds(absl::Now() - started_at_),
        "\r\nexecutable:slotcache-node\r\n\r\n");
  }
  if (wanted("clients")) {
    absl::StrAppend(
        &text, "# Clients\r\nconnected_clients:",
        options_.clients == nullptr ? 0 : options_.clients->connected(),
        "\r\nmaxclients:", options_.max_clients,
        "\r\nblocked_clients:0\r\n\r\n");
  }
  if (wanted("memory")) {
    absl::StrAppend(
        &text, "# Memory\r\nused_memory:", stats.used_memory_bytes,
        "\r\nmaxmemory:", stats.maxmemory_bytes, "\r\nmaxmemory_policy:",
        storage::EvictionPolicyName(stats.eviction_policy), "\r\n\r\n");
  }
  if (wanted("stats")) {
    absl::StrAppend(
        &text, "# Stats\r\ntotal_connections_received:",
        options_.clients == nullptr ? 0
                                    : options_.clients->connections_received(),
        "\r\ntotal_commands_processed:",
        options_.clients == nullptr ? 0
                                    : options_.clients->commands_processed(),
        "\r\nrejected_connections:",
        options_.clients == nullptr ? 0
                                    : options_.clients->rejected_connections(),
        "\r\nexpired_keys:", stats.expired_keys,
        "\r\nevicted_keys:", stats.evicted_keys, "\r\n\r\n");
  }
  if (wanted("replication")) absl::StrAppend(&text, ReplicationInfo());
  if (wanted("cluster")) {
    absl::StrAppend(&text, "# Cluster\r\ncluster_enabled:",
                    options_.cluster_mode ? 1 : 0, "\r\n\r\n");
  }
  if (wanted("keyspace")) {
    absl::StrAppend(&text, "# Keyspace\r\n");
    if (stats.keys > 0) {
      absl::StrAppend(&text, "db0:keys=", stats.keys,
                      ",expires=", stats.keys_with_ttl, ",avg_ttl=0\r\n");
    }
  }
  return text;
}

std::string CommandHandler::ReplicationInfo() const {
  v1::NodeStatus status;
  if (options_.fill_replication) options_.fill_replication(&status);
  const bool replica = options_.cluster->role() == v1::REPLICA ||
                       !status.primary_address().empty();
  std::string text = absl::StrCat(
      "# Replication\r\nrole:", replica ? "slave" : "master", "\r\n");
  if (replica) {
    // The primary's gRPC address: replication runs over gRPC.
    const std::string& primary = status.primary_address();
    const size_t colon = primary.rfind(':');
    absl::StrAppend(
        &text, "master_host:", primary.substr(0, colon), "\r\nmaster_port:",
        colon == std::string::npos ? "" : primary.substr(colon + 1),
        "\r\nmaster_link_status:", status.primary_link_up() ? "up" : "down",
        "\r\nslave_repl_offset:", status.replication_offset(),
        "\r\nslave_read_repl_offset:", status.replication_offset(),
        "\r\nslave_lag_entries:", status.replication_lag_entries(), "\r\n");
  }
  absl::StrAppend(&text, "connected_slaves:", status.replicas_size(), "\r\n");
  for (int i = 0; i < status.replicas_size(); ++i) {
    const v1::ReplicaLag& r = status.replicas(i);
    const size_t colon = r.peer().rfind(':');
    absl::string_view host = absl::string_view(r.peer()).substr(0, colon);
    if (absl::StartsWith(host, "ipv4:")) host.remove_prefix(5);
    absl::StrAppend(
        &text, "slave", i, ":ip=", host,
        ",port=", colon == std::string::npos ? "0" : r.peer().substr(colon + 1),
        ",state=", r.full_sync_in_progress() ? "wait_bgsave" : "online",
        ",offset=", r.acked_offset(),
        ",lag=", static_cast<int64_t>(r.lag_seconds()), "\r\n");
  }
  absl::StrAppend(&text, "master_replid:", status.replication_id(),
                  "\r\nmaster_repl_offset:", status.replication_offset(),
                  "\r\n\r\n");
  return text;
}

CommandHandler::Outcome CommandHandler::Info(const Call& call) const {
  call.out->Verbatim(InfoText(call.args.subspan(1)));
  return Outcome::kReplied;
}

CommandHandler::Outcome CommandHandler::Config(const Call& call) const {
  ReplyWriter* out = call.out;
  const std::string sub = Upper(call.args[1]);
  storage::Store* store = options_.store;
  if (sub == "GET" && call.args.size() >= 3) {
    const storage::StoreStats stats = store->Stats();
    const std::pair<std::string, std::string> params[] = {
        {"maxmemory", absl::StrCat(stats.maxmemory_bytes)},
        {"maxmemory-policy",
         std::string(storage::EvictionPolicyName(stats.eviction_policy))},
        {"maxclients", absl::StrCat(options_.max_clients)},
        {"databases", "1"},
        {"cluster-enabled", options_.cluster_mode ? "yes" : "no"},
        {"save", ""},
        {"appendonly", "no"},
    };
    std::vector<const std::pair<std::string, std::string>*> matched;
    for (const auto& p : params) {
      for (size_t i = 2; i < call.args.size(); ++i) {
        if (GlobMatch(call.args[i], p.first)) {
          matched.push_back(&p);
          break;
        }
      }
    }
    out->MapHeader(matched.size());
    for (const auto* p : matched) {
      out->Bulk(p->first);
      out->Bulk(p->second);
    }
  } else if (sub == "SET" && call.args.size() >= 4 &&
             call.args.size() % 2 == 0) {
    // Validate every pair before applying any (Redis applies atomically).
    absl::optional<uint64_t> maxmemory;
    absl::optional<storage::EvictionPolicy> policy;
    for (size_t i = 2; i + 1 < call.args.size(); i += 2) {
      const absl::string_view param = call.args[i], value = call.args[i + 1];
      if (Is(param, "maxmemory")) {
        absl::StatusOr<uint64_t> bytes = ParseByteSize(value);
        if (!bytes.ok()) {
          out->Error(
              absl::StrCat("ERR CONFIG SET failed (possibly related to "
                           "argument 'maxmemory') - ",
                           bytes.status().message()));
          return Outcome::kReplied;
        }
        maxmemory = *bytes;
      } else if (Is(param, "maxmemory-policy")) {
        absl::StatusOr<storage::EvictionPolicy> p =
            storage::ParseEvictionPolicy(absl::AsciiStrToLower(value));
        if (!p.ok()) {
          out->Error(
              absl::StrCat("ERR CONFIG SET failed (possibly related to "
                           "argument 'maxmemory-policy') - ",
                           p.status().message()));
          return Outcome::kReplied;
        }
        policy = *p;
      } else {
        out->Error(
            absl::StrCat("ERR Unknown option or number of arguments "
                         "for CONFIG SET - '",
                         param.substr(0, 64),
                         "'; only maxmemory and maxmemory-policy can "
                         "be changed at run time"));
        return Outcome::kReplied;
      }
    }
    if (maxmemory.has_value()) store->SetMaxMemory(*maxmemory);
    if (policy.has_value()) store->SetEvictionPolicy(*policy);
    out->Status("OK");
  } else if (sub == "RESETSTAT" && call.args.size() == 2) {
    out->Status("OK");
  } else {
    out->Error(
        absl::StrCat("ERR unknown subcommand or wrong number of "
                     "arguments for '",
                     call.args[1].substr(0, 64), "'. Try CONFIG HELP."));
  }
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
  // The node produces no ASK redirects yet (slot migration, DESIGN §6), so
  // there is nothing for the flag to unlock: it is accepted, not kept.
  // With ASK, the session must carry it to the next command's routing.
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
