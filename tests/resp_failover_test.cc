// ioredis (a Node.js Redis Cluster client, as applications use it) riding
// through a primary kill: a 3 x (1+1) slotcache cluster, an ioredis
// Cluster application doing INCR/SET (each with WAIT 1) and GET in a loop
// over 240 keys (tests/ioredis/failover_loop.js), one shard's primary
// SIGKILLed mid-run, its replica promoted by the coordinator, the killed
// node restarted and rejoined as a replica. Asserted: the client recovers
// by itself, every acknowledged write reads back with its last
// acknowledged value (counters exact up to INCRs whose answer was lost;
// "acknowledged" is WAIT 1 answering 1: a write only the primary
// acknowledged, WAIT answering 0 within its 200 ms, may roll back as in
// Redis, and such rollbacks are counted and printed),
// the outage the client sees is bounded (printed), and no error reaches
// the application once every key of the failed shard was written again.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/cluster_harness.h"
#include "tests/harness/process.h"
#include "tests/resp_client.h"

namespace slotcache::testing {
namespace {

// Generous: the machine runs several builds at once.
constexpr absl::Duration kFailoverTimeout = absl::Seconds(30);
// The outage the client may see (the failover itself is ~1 s with the
// harness' 500 ms node timeout and lease).
constexpr int64_t kOutageBoundMs = 15000;

const v1::NodeInfo* FindNode(const v1::ClusterMap& map, const std::string& id) {
  for (const v1::NodeInfo& node : map.nodes()) {
    if (node.node_id() == id) return &node;
  }
  return nullptr;
}

std::string PrimaryOf(const v1::ClusterMap& map, const std::string& shard) {
  for (const v1::ShardInfo& s : map.shards()) {
    if (s.shard_id() == shard) return s.primary_node_id();
  }
  return "";
}

// Writes `content` to `path` atomically (the script polls for the file).
void WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << content << "\n";
  }
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0) << path;
}

// The script's `name=value` lines.
std::map<std::string, std::string> Fields(const std::string& log) {
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos || absl::StrContains(line, " ")) {
      if (absl::StartsWith(line, "verdict=")) {
        fields["verdict"] = std::string(line.substr(8));
      }
      continue;
    }
    fields[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return fields;
}

int64_t Number(const std::map<std::string, std::string>& fields,
               const std::string& name) {
  int64_t n = -1;
  auto it = fields.find(name);
  if (it == fields.end() || !absl::SimpleAtoi(it->second, &n)) {
    ADD_FAILURE() << "the script printed no number " << name;
  }
  return n;
}

TEST(RespFailoverTest, IoredisRidesThroughPrimaryKill) {
  absl::StatusOr<std::string> modules = IoredisModules();
  if (absl::IsFailedPrecondition(modules.status())) {
    GTEST_SKIP() << modules.status();
  }
  ASSERT_TRUE(modules.ok()) << modules.status();

  TestCluster cluster;
  absl::Status created = cluster.StartAndCreate(6, 3, 1);
  ASSERT_TRUE(created.ok()) << created;
  absl::Status synced = cluster.WaitReplicasSynced();
  ASSERT_TRUE(synced.ok()) << synced;

  const std::string dir = NewTempDir("resp-failover");
  ASSERT_EQ(setenv("NODE_PATH", modules->c_str(), 1), 0);
  auto app = ChildProcess::Start("/usr/bin/node",
                                 {RunfilePath("tests/ioredis/failover_loop.js"),
                                  cluster.node_resp_address(0), dir},
                                 dir + "/app.log");
  ASSERT_TRUE(app.ok()) << app.status();
  absl::Status warm = PollUntil(
      [&] { return absl::StrContains((*app)->ReadLog(), "warm\n"); },
      absl::Seconds(60), "the ioredis application to acknowledge every key");
  ASSERT_TRUE(warm.ok()) << warm << "\n" << (*app)->ReadLog();

  // Kill shard-1's primary mid-run.
  absl::StatusOr<v1::ClusterMap> before = cluster.Describe();
  ASSERT_TRUE(before.ok()) << before.status();
  const std::string old_primary = PrimaryOf(*before, "shard-1");
  const int victim = cluster.NodeIndex(*before, old_primary);
  ASSERT_GE(victim, 0) << old_primary;
  const std::string victim_resp = cluster.node_resp_address(victim);
  cluster.KillNode(victim);
  WriteFileAtomically(
      dir + "/killed",
      absl::StrCat(absl::ToUnixMillis(absl::Now()), " ", victim_resp));
  const absl::Time killed = absl::Now();

  // The coordinator promotes the replica...
  absl::Status promoted = cluster.WaitForMap(
      [&](const v1::ClusterMap& map) {
        const std::string now = PrimaryOf(map, "shard-1");
        const v1::NodeInfo* node = FindNode(map, now);
        return now != old_primary && node != nullptr &&
               node->health() == v1::HEALTHY;
      },
      "shard-1 to get a new primary", kFailoverTimeout);
  ASSERT_TRUE(promoted.ok()) << promoted;
  std::cerr << "coordinator promoted a new primary "
            << absl::ToInt64Milliseconds(absl::Now() - killed)
            << " ms after the kill\n";
  // ... and the killed node comes back as its replica, under the traffic.
  absl::Status restarted = cluster.StartNode(victim);
  ASSERT_TRUE(restarted.ok()) << restarted;
  absl::Status rejoined = cluster.WaitForMap(
      [&](const v1::ClusterMap& map) {
        const v1::NodeInfo* node = FindNode(map, old_primary);
        return node != nullptr && node->health() == v1::HEALTHY &&
               node->role() == v1::REPLICA && node->shard_id() == "shard-1";
      },
      "the killed node to rejoin shard-1 as a replica", kFailoverTimeout);
  ASSERT_TRUE(rejoined.ok()) << rejoined;
  synced = cluster.WaitReplicasSynced(kFailoverTimeout);
  ASSERT_TRUE(synced.ok()) << synced;
  WriteFileAtomically(dir + "/stop", "stop");

  absl::StatusOr<int> code = (*app)->Wait(absl::Seconds(120));
  const std::string log = (*app)->ReadLog();
  std::cerr << "ioredis application:\n" << log;
  ASSERT_TRUE(code.ok()) << code.status() << "\n" << log;
  EXPECT_EQ(*code, 0) << log;

  const std::map<std::string, std::string> fields = Fields(log);
  EXPECT_EQ(fields.count("verdict") ? fields.at("verdict") : "", "ok") << log;
  EXPECT_EQ(Number(fields, "lost"), 0) << log;
  EXPECT_EQ(Number(fields, "errors_after_recovery"), 0) << log;
  EXPECT_EQ(Number(fields, "errors_before_kill"), 0) << log;
  EXPECT_EQ(Number(fields, "read_mismatches"), 0) << log;
  EXPECT_EQ(Number(fields, "verify_errors"), 0) << log;
  EXPECT_GT(Number(fields, "victim_keys"), 0) << log;
  const int64_t recovered = Number(fields, "recovered_after_ms");
  EXPECT_GE(recovered, 0) << log;
  EXPECT_LT(recovered, kOutageBoundMs) << log;
  EXPECT_LT(Number(fields, "longest_stall_ms"), kOutageBoundMs) << log;
}

}  // namespace
}  // namespace slotcache::testing
