// CommandHandler's introspection commands: CLIENT, COMMAND, INFO and
// CONFIG (what clients and tools send to learn about the server). The
// connection and cluster commands are in command_handler.cc.
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/byte_size.h"
#include "common/commands/command_table.h"
#include "common/glob.h"
#include "node/resp/cluster_commands.h"
#include "node/resp/command_docs.h"
#include "node/resp/command_handler.h"
#include "node/resp/command_util.h"

namespace slotcache::node::resp {
namespace {

// Redis' bytesToHuman: 1023B, 1.00K, 12.50M, 1.00G, ...
std::string BytesToHuman(uint64_t n) {
  if (n < 1024) return absl::StrCat(n, "B");
  const char* const units = "KMGTPE";
  double v = static_cast<double>(n) / 1024;
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.2f%c", v, units[unit]);
}

// This process's resident set size (used_memory_rss), 0 if unknown.
int64_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long long total = 0, resident = 0;
  const int n = std::fscanf(f, "%lld %lld", &total, &resident);
  std::fclose(f);
  return n == 2 ? resident * sysconf(_SC_PAGESIZE) : 0;
}

}  // namespace

std::string CommandHandler::ClientLine(const ClientSummary& c) const {
  // Redis' CLIENT LIST fields. The buffers are as the connection's loop
  // last published them (after its previous read round or send): one
  // input buffer (qbuf, qbuf-free) and one output buffer (obl: unsent
  // bytes, oll: 0 as there is no reply list, omem: the allocation holding
  // the unsent bytes). Idle time is not tracked per client and reads 0.
  const int64_t age = absl::ToInt64Seconds(absl::Now() - c.connected_at);
  int64_t qbuf = 0, qbuf_free = 0, obl = 0, omem = 0;
  if (c.buffers != nullptr) {
    qbuf = c.buffers->qbuf.load(std::memory_order_relaxed);
    qbuf_free = c.buffers->qbuf_free.load(std::memory_order_relaxed);
    obl = c.buffers->obl.load(std::memory_order_relaxed);
    omem = c.buffers->omem.load(std::memory_order_relaxed);
  }
  return absl::StrCat(
      "id=", c.id, " addr=", c.address, " laddr=", c.local_address,
      " fd=", c.fd, " name=", c.name, " age=", age,
      " idle=0 flags=", c.readonly ? "r" : "N",
      " db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=", qbuf,
      " qbuf-free=", qbuf_free, " argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=", obl,
      " oll=0 omem=", omem, " tot-mem=", qbuf + qbuf_free + omem,
      " events=r cmd=NULL user=default redir=-1 resp=", c.protocol);
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
    // All docs, or those of the names given (unknown names are left out,
    // as in Redis).
    std::vector<const CommandDoc*> docs;
    if (call.args.size() == 2) {
      for (const CommandDoc& d : AllCommandDocs()) docs.push_back(&d);
    }
    for (size_t i = 2; i < call.args.size(); ++i) {
      if (const CommandDoc* d = FindCommandDoc(call.args[i])) docs.push_back(d);
    }
    out->MapHeader(docs.size());
    for (const CommandDoc* d : docs) {
      out->Bulk(d->name);
      WriteCommandDoc(*d, out);
    }
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
  const ClientRegistry* clients = options_.clients;
  std::string text;
  if (wanted("server")) {
    utsname uts{};
    uname(&uts);
    const absl::Time now = absl::Now();
    const int64_t uptime = absl::ToInt64Seconds(now - started_at_);
    absl::StrAppend(
        &text, "# Server\r\nredis_version:", kRedisVersion,
        "\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_mode:",
        options_.cluster_mode ? "cluster" : "standalone",
        "\r\nos:", uts.sysname, " ", uts.release, " ", uts.machine,
        "\r\narch_bits:", sizeof(void*) * 8,
        "\r\nmultiplexing_api:epoll\r\ngcc_version:", __GNUC__, ".",
        __GNUC_MINOR__, ".", __GNUC_PATCHLEVEL__, "\r\nprocess_id:", getpid(),
        "\r\nprocess_supervised:no\r\nrun_id:",
        RedisNodeId(options_.cluster->identity().node_id),
        "\r\ntcp_port:", local_address_.substr(local_address_.rfind(':') + 1),
        "\r\nserver_time_usec:", absl::ToUnixMicros(now),
        "\r\nuptime_in_seconds:", uptime, "\r\nuptime_in_days:", uptime / 86400,
        "\r\nexecutable:slotcache-node\r\nconfig_file:\r\n\r\n");
  }
  if (wanted("clients")) {
    // No cluster bus, client tracking or blocking list commands here; the
    // only blocked clients are those in WAIT.
    const int64_t blocked = clients == nullptr ? 0 : clients->blocked();
    absl::StrAppend(
        &text, "# Clients\r\nconnected_clients:",
        clients == nullptr ? 0 : clients->connected(),
        "\r\ncluster_connections:0\r\nmaxclients:", options_.max_clients,
        "\r\nblocked_clients:", blocked,
        "\r\ntracking_clients:0\r\nclients_in_timeout_table:", blocked,
        "\r\n\r\n");
  }
  if (wanted("memory")) {
    // used_memory is the store's own accounting of keys and values (what
    // maxmemory limits), not the allocator's total; hence no
    // mem_fragmentation_ratio, which would compare RSS with a different
    // quantity than Redis does.
    const int64_t rss = ResidentBytes();
    absl::StrAppend(
        &text, "# Memory\r\nused_memory:", stats.used_memory_bytes,
        "\r\nused_memory_human:", BytesToHuman(stats.used_memory_bytes),
        "\r\nused_memory_rss:", rss,
        "\r\nused_memory_rss_human:", BytesToHuman(rss),
        "\r\nused_memory_dataset:", stats.used_memory_bytes,
        "\r\nmaxmemory:", stats.maxmemory_bytes,
        "\r\nmaxmemory_human:", BytesToHuman(stats.maxmemory_bytes),
        "\r\nmaxmemory_policy:",
        storage::EvictionPolicyName(stats.eviction_policy),
        "\r\nmem_allocator:libc\r\n\r\n");
  }
  if (wanted("persistence")) {
    // Nothing is saved or loaded: a cache node starts empty.
    absl::StrAppend(&text,
                    "# Persistence\r\nloading:0\r\nasync_loading:0\r\n"
                    "rdb_bgsave_in_progress:0\r\naof_enabled:0\r\n"
                    "aof_rewrite_in_progress:0\r\n\r\n");
  }
  v1::NodeStatus replication;
  if ((wanted("stats") || wanted("replication")) && options_.fill_replication) {
    options_.fill_replication(&replication);
  }
  if (wanted("stats")) {
    absl::StrAppend(
        &text, "# Stats\r\ntotal_connections_received:",
        clients == nullptr ? 0 : clients->connections_received(),
        "\r\ntotal_commands_processed:",
        clients == nullptr ? 0 : clients->commands_processed(),
        "\r\ninstantaneous_ops_per_sec:",
        clients == nullptr ? 0 : clients->InstantaneousOpsPerSec(),
        "\r\nrejected_connections:",
        clients == nullptr ? 0 : clients->rejected_connections(),
        "\r\nexpired_keys:", stats.expired_keys,
        "\r\nevicted_keys:", stats.evicted_keys,
        "\r\nkeyspace_hits:", clients == nullptr ? 0 : clients->keyspace_hits(),
        "\r\nkeyspace_misses:",
        clients == nullptr ? 0 : clients->keyspace_misses(),
        "\r\nsync_full:", replication.full_syncs_served(),
        "\r\nsync_partial_ok:", replication.partial_syncs_served(),
        "\r\npubsub_channels:0\r\npubsub_patterns:0\r\n\r\n");
  }
  if (wanted("replication"))
    absl::StrAppend(&text, ReplicationInfo(replication));
  if (wanted("cpu")) {
    rusage self{}, children{};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    auto seconds = [](const timeval& t) {
      return absl::StrFormat("%.6f", t.tv_sec + t.tv_usec / 1e6);
    };
    absl::StrAppend(&text, "# CPU\r\nused_cpu_sys:", seconds(self.ru_stime),
                    "\r\nused_cpu_user:", seconds(self.ru_utime),
                    "\r\nused_cpu_sys_children:", seconds(children.ru_stime),
                    "\r\nused_cpu_user_children:", seconds(children.ru_utime),
                    "\r\n\r\n");
  }
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

std::string CommandHandler::ReplicationInfo(
    const v1::NodeStatus& status) const {
  const bool replica = options_.cluster->role() == v1::REPLICA ||
                       !status.primary_address().empty();
  std::string text = absl::StrCat(
      "# Replication\r\nrole:", replica ? "slave" : "master", "\r\n");
  if (replica) {
    // Replication runs over gRPC: the primary's gRPC address, shown as its
    // RESP address when the cluster map knows it (what a Redis tool would
    // connect to), else as is (standalone --replicaof).
    std::string primary = status.primary_address();
    const RoutingView view = options_.cluster->View(false);
    if (const v1::ClusterMap* map = view.table().map.get(); map != nullptr) {
      for (const v1::NodeInfo& n : map->nodes()) {
        if (n.address() == primary && !n.resp_address().empty()) {
          primary = n.resp_address();
        }
      }
    }
    const size_t colon = primary.rfind(':');
    const bool syncing = status.primary_link_up() &&
                         status.full_syncs() + status.partial_syncs() == 0;
    absl::StrAppend(
        &text, "master_host:", primary.substr(0, colon), "\r\nmaster_port:",
        colon == std::string::npos ? "" : primary.substr(colon + 1),
        "\r\nmaster_link_status:", status.primary_link_up() ? "up" : "down",
        "\r\nmaster_sync_in_progress:", syncing ? 1 : 0,
        "\r\nslave_read_repl_offset:", status.replication_offset(),
        "\r\nslave_repl_offset:", status.replication_offset(),
        "\r\nslave_lag_entries:", status.replication_lag_entries(),
        "\r\nslave_priority:100\r\nslave_read_only:1\r\n"
        "replica_announced:1\r\n");
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
  absl::StrAppend(&text, "master_failover_state:no-failover\r\nmaster_replid:",
                  status.replication_id(),
                  "\r\nmaster_repl_offset:", status.replication_offset(),
                  "\r\nsecond_repl_offset:-1\r\n\r\n");
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
        // CONFIG GET matches case-insensitively; parameter names are
        // lower case.
        if (GlobMatch(absl::AsciiStrToLower(call.args[i]), p.first)) {
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

}  // namespace slotcache::node::resp
