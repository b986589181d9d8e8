// INFO field names against a real redis-server: a Redis primary with a
// replica and a standalone slotcache primary with a replica, the same
// small traffic on both, then every field we promise tools (monitoring
// exporters, redis-cli, Sentinel-style scripts read them by name) must be
// in the same section of both INFO outputs, with values of the same shape.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"
#include "tests/resp_client.h"

namespace slotcache::testing {
namespace {

// section name (lower case) -> field -> value.
using Info = std::map<std::string, std::map<std::string, std::string>>;

Info ParseInfo(const std::string& text) {
  Info info;
  std::string section;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (absl::ConsumePrefix(&line, "# ")) {
      section = absl::AsciiStrToLower(line);
      continue;
    }
    const size_t colon = line.find(':');
    if (line.empty() || colon == absl::string_view::npos) continue;
    info[section][std::string(line.substr(0, colon))] =
        std::string(line.substr(colon + 1));
  }
  return info;
}

// Fields promised on every server, by section (node/resp/README.md).
const std::map<std::string, std::vector<std::string>>& Promised() {
  static const auto* promised =
      new std::map<std::string, std::vector<std::string>>{
          {"server",
           {"redis_version", "redis_mode", "os", "arch_bits",
            "multiplexing_api", "process_id", "run_id", "tcp_port",
            "server_time_usec", "uptime_in_seconds", "uptime_in_days",
            "executable", "config_file"}},
          {"clients",
           {"connected_clients", "cluster_connections", "maxclients",
            "blocked_clients", "tracking_clients", "clients_in_timeout_table"}},
          {"memory",
           {"used_memory", "used_memory_human", "used_memory_rss",
            "used_memory_rss_human", "used_memory_dataset", "maxmemory",
            "maxmemory_human", "maxmemory_policy", "mem_allocator"}},
          {"stats",
           {"total_connections_received", "total_commands_processed",
            "instantaneous_ops_per_sec", "rejected_connections", "expired_keys",
            "evicted_keys", "keyspace_hits", "keyspace_misses"}},
          {"replication",
           {"role", "connected_slaves", "master_failover_state",
            "master_replid", "master_repl_offset", "second_repl_offset"}},
          {"cluster", {"cluster_enabled"}},
      };
  return *promised;
}

// Promised on a primary with one replica, and on a replica.
const std::vector<std::string> kPrimaryReplication = {"slave0"};
const std::vector<std::string> kReplicaReplication = {"master_host",
                                                      "master_port",
                                                      "master_link_status",
                                                      "master_sync_in_progress",
                                                      "slave_read_repl_offset",
                                                      "slave_repl_offset",
                                                      "slave_priority",
                                                      "slave_read_only",
                                                      "replica_announced"};

// The keys of a "k1=v1,k2=v2" value (keyspace db0, replication slave0).
std::vector<std::string> SubKeys(const std::string& value) {
  std::vector<std::string> keys;
  for (absl::string_view kv : absl::StrSplit(value, ',')) {
    keys.emplace_back(kv.substr(0, kv.find('=')));
  }
  return keys;
}

// Redis' bytesToHuman shapes: "123B" or "1.50K" (K, M, G, T, P, E).
bool IsHumanBytes(absl::string_view v) {
  auto digits = [](absl::string_view d) {
    return !d.empty() && std::all_of(d.begin(), d.end(), absl::ascii_isdigit);
  };
  if (absl::ConsumeSuffix(&v, "B")) return digits(v);
  if (v.empty() ||
      absl::string_view("KMGTPE").find(v.back()) == absl::string_view::npos) {
    return false;
  }
  v.remove_suffix(1);
  const size_t dot = v.find('.');
  return dot != absl::string_view::npos && digits(v.substr(0, dot)) &&
         v.size() - dot == 3 && digits(v.substr(dot + 1));
}

class Server {
 public:
  virtual ~Server() = default;
  virtual std::string resp_address() const = 0;
  Info InfoNow() const {
    absl::StatusOr<std::string> out = RedisCli(resp_address(), {"INFO"});
    EXPECT_TRUE(out.ok()) << out.status();
    return ParseInfo(out.ok() ? *out : "");
  }
};

class RedisServer : public Server {
 public:
  // A redis-server, replicating `primary` (a RESP address) if not empty.
  static std::unique_ptr<RedisServer> Start(const std::string& dir,
                                            const std::string& primary) {
    auto s = std::make_unique<RedisServer>();
    const int port = FreePort();
    EXPECT_GT(port, 0);
    s->address_ = absl::StrCat("127.0.0.1:", port);
    std::vector<std::string> args = {
        "--port", absl::StrCat(port), "--bind", "127.0.0.1", "--save",
        "",       "--appendonly",     "no",     "--dir",     dir};
    if (!primary.empty()) {
      args.push_back("--replicaof");
      args.push_back(primary.substr(0, primary.rfind(':')));
      args.push_back(primary.substr(primary.rfind(':') + 1));
    }
    auto p = ChildProcess::Start(kRedisServer, args,
                                 absl::StrCat(dir, "/redis-", port, ".log"));
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return nullptr;
    s->process_ = std::move(*p);
    absl::Status up = PollUntil(
        [&] {
          absl::StatusOr<std::string> pong = RedisCli(s->address_, {"PING"});
          return pong.ok() && absl::StartsWith(*pong, "PONG");
        },
        absl::Seconds(30), "redis-server to answer PING");
    EXPECT_TRUE(up.ok()) << up << "\n" << s->process_->ReadLog();
    return s;
  }
  std::string resp_address() const override { return address_; }

 private:
  std::string address_;
  std::unique_ptr<ChildProcess> process_;
};

class SlotcacheNode : public Server {
 public:
  // A standalone node, replicating `primary` (a gRPC address) if not empty.
  static std::unique_ptr<SlotcacheNode> Start(const std::string& dir,
                                              const std::string& primary) {
    auto s = std::make_unique<SlotcacheNode>();
    static int n = 0;
    const std::string file = absl::StrCat(dir, "/node-", n++, ".resp");
    std::vector<std::string> args = {
        "--resp_listen=127.0.0.1:0",
        absl::StrCat("--resp_address_file=", file)};
    if (!primary.empty()) args.push_back("--replicaof=" + primary);
    auto node = StartServer(RunfilePath("node/slotcache-node"), args);
    EXPECT_TRUE(node.ok()) << node.status();
    if (!node.ok()) return nullptr;
    s->node_ = std::move(*node);
    std::getline(std::ifstream(file), s->resp_);
    return s;
  }
  std::string resp_address() const override { return resp_; }
  const std::string& grpc_address() const { return node_.address; }

 private:
  ServerProcess node_;
  std::string resp_;
};

// Waits until `replica` says its link to its primary is up and the
// primary lists it.
void WaitLinked(const Server& primary, const Server& replica) {
  absl::Status linked = PollUntil(
      [&] {
        return replica.InfoNow()["replication"]["master_link_status"] == "up" &&
               primary.InfoNow()["replication"].count("slave0") == 1;
      },
      absl::Seconds(30), "the replica to link to its primary");
  ASSERT_TRUE(linked.ok()) << linked << " (" << replica.resp_address() << ")";
}

// The same traffic on both primaries: keys with and without TTL, a hit
// and a miss.
void Traffic(const Server& s) {
  for (const std::vector<std::string>& command :
       std::vector<std::vector<std::string>>{{"SET", "a", "1"},
                                             {"SET", "b", "2", "EX", "1000"},
                                             {"GET", "a"},
                                             {"GET", "missing"}}) {
    absl::StatusOr<std::string> out = RedisCli(s.resp_address(), command);
    ASSERT_TRUE(out.ok()) << out.status();
  }
}

TEST(RespInfoTest, PromisedFieldsAreInRedisAndSlotcacheInfo) {
  if (access(kRedisServer, X_OK) != 0) {
    GTEST_SKIP() << kRedisServer
                 << " is missing: run deploy/setup.sh (Debian redis-server)";
  }
  const std::string dir = NewTempDir("resp-info");
  auto redis = RedisServer::Start(dir, "");
  ASSERT_NE(redis, nullptr);
  auto redis_replica = RedisServer::Start(dir, redis->resp_address());
  ASSERT_NE(redis_replica, nullptr);
  auto node = SlotcacheNode::Start(dir, "");
  ASSERT_NE(node, nullptr);
  auto node_replica = SlotcacheNode::Start(dir, node->grpc_address());
  ASSERT_NE(node_replica, nullptr);
  WaitLinked(*redis, *redis_replica);
  WaitLinked(*node, *node_replica);
  Traffic(*redis);
  Traffic(*node);

  struct Pair {
    const char* what;
    Info redis, slotcache;
  };
  const Pair primaries{"primary", redis->InfoNow(), node->InfoNow()};
  const Pair replicas{"replica", redis_replica->InfoNow(),
                      node_replica->InfoNow()};
  auto expect_field = [](const Pair& p, const std::string& section,
                         const std::string& field) {
    EXPECT_EQ(p.redis.count(section) ? p.redis.at(section).count(field) : 0, 1)
        << "redis-server " << p.what << " has no " << section << "." << field;
    EXPECT_EQ(
        p.slotcache.count(section) ? p.slotcache.at(section).count(field) : 0,
        1)
        << "slotcache " << p.what << " has no " << section << "." << field
        << ": add it to INFO (node/resp/command_handler_introspection.cc)";
  };
  for (const Pair* p : {&primaries, &replicas}) {
    for (const auto& [section, fields] : Promised()) {
      for (const std::string& field : fields) expect_field(*p, section, field);
    }
  }
  for (const std::string& f : kPrimaryReplication) {
    expect_field(primaries, "replication", f);
  }
  for (const std::string& f : kReplicaReplication) {
    expect_field(replicas, "replication", f);
  }
  expect_field(primaries, "keyspace", "db0");

  // Values of the same shape.
  Info r = primaries.redis, s = primaries.slotcache;
  EXPECT_EQ(SubKeys(s["keyspace"]["db0"]), SubKeys(r["keyspace"]["db0"]));
  EXPECT_EQ(s["keyspace"]["db0"].substr(0, 16), "keys=2,expires=1");
  EXPECT_EQ(SubKeys(s["replication"]["slave0"]),
            SubKeys(r["replication"]["slave0"]));
  for (const char* f : {"redis_mode", "arch_bits", "multiplexing_api"}) {
    EXPECT_EQ(s["server"][f], r["server"][f]) << f;
  }
  EXPECT_EQ(s["replication"]["role"], "master");
  EXPECT_EQ(replicas.slotcache.at("replication").at("role"), "slave");
  EXPECT_EQ(s["cluster"]["cluster_enabled"], "0");
  EXPECT_EQ(s["server"]["tcp_port"],
            node->resp_address().substr(node->resp_address().rfind(':') + 1));
  EXPECT_EQ(s["server"]["run_id"].size(), 40u);
  for (const char* f :
       {"used_memory_human", "used_memory_rss_human", "maxmemory_human"}) {
    EXPECT_TRUE(IsHumanBytes(s["memory"][f]))
        << f << "=" << s["memory"][f] << " (redis: " << r["memory"][f] << ")";
  }
  int64_t hits = 0, misses = 0, processed = 0;
  EXPECT_TRUE(absl::SimpleAtoi(s["stats"]["keyspace_hits"], &hits));
  EXPECT_TRUE(absl::SimpleAtoi(s["stats"]["keyspace_misses"], &misses));
  EXPECT_TRUE(
      absl::SimpleAtoi(s["stats"]["total_commands_processed"], &processed));
  EXPECT_GE(hits, 1);
  EXPECT_GE(misses, 1);
  EXPECT_GE(processed, 4);

  // Fields Redis has and slotcache does not, for the record.
  std::string missing;
  for (const auto& [section, fields] : r) {
    for (const auto& [field, value] : fields) {
      if (!s.count(section) || !s[section].count(field)) {
        absl::StrAppend(&missing, " ", section, ".", field);
      }
    }
  }
  std::cerr << "Redis INFO fields slotcache does not report:" << missing
            << "\n";
}

// redis-cli's flat print of COMMAND DOCS <name>: the top-level value after
// the first line `field`, and every value after a "token" line.
std::string DocField(const std::vector<std::string>& lines,
                     const std::string& field) {
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    if (lines[i] == field) return lines[i + 1];
  }
  return "";
}
std::set<std::string> DocTokens(const std::vector<std::string>& lines) {
  std::set<std::string> tokens;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    if (lines[i] == "token") tokens.insert(lines[i + 1]);
  }
  return tokens;
}
std::vector<std::string> CliLines(const std::string& address,
                                  const std::vector<std::string>& args) {
  absl::StatusOr<std::string> out = RedisCli(address, args);
  EXPECT_TRUE(out.ok()) << out.status();
  std::vector<std::string> lines =
      absl::StrSplit(out.ok() ? *out : "", '\n', absl::SkipEmpty());
  return lines;
}

// COMMAND DOCS: for every command slotcache documents, the same "since"
// and "group" as Redis, and only tokens (NX, EX, MATCH, ...) Redis has.
TEST(RespInfoTest, CommandDocsAgreeWithRedis) {
  if (access(kRedisServer, X_OK) != 0) {
    GTEST_SKIP() << kRedisServer
                 << " is missing: run deploy/setup.sh (Debian redis-server)";
  }
  const std::string dir = NewTempDir("resp-docs");
  auto redis = RedisServer::Start(dir, "");
  ASSERT_NE(redis, nullptr);
  auto node = SlotcacheNode::Start(dir, "");
  ASSERT_NE(node, nullptr);
  const std::vector<std::string> names =
      CliLines(node->resp_address(), {"COMMAND", "LIST"});
  ASSERT_GT(names.size(), 40u);
  for (const std::string& name : names) {
    const std::vector<std::string> ours =
        CliLines(node->resp_address(), {"COMMAND", "DOCS", name});
    const std::vector<std::string> theirs =
        CliLines(redis->resp_address(), {"COMMAND", "DOCS", name});
    ASSERT_FALSE(ours.empty()) << name << " has no COMMAND DOCS entry";
    ASSERT_FALSE(theirs.empty()) << name << " is unknown to redis-server";
    EXPECT_EQ(DocField(ours, "since"), DocField(theirs, "since")) << name;
    EXPECT_EQ(DocField(ours, "group"), DocField(theirs, "group")) << name;
    const std::set<std::string> redis_tokens = DocTokens(theirs);
    for (const std::string& token : DocTokens(ours)) {
      EXPECT_EQ(redis_tokens.count(token), 1)
          << name << ": token " << token << " is not in Redis' docs";
    }
  }
}

}  // namespace
}  // namespace slotcache::testing
