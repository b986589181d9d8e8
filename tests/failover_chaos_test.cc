// Failover under repeated and correlated failures in a real 3 x (1+2)
// cluster: twenty rounds of SIGKILL + restart of a random node, and the
// outage of a whole AZ (its nodes SIGSTOPped) and its healing.
#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/cluster_harness.h"
#include "tests/failover_test_util.h"
#include "tests/harness/process.h"

namespace slotcache {
namespace {

using testing::AckedWriter;
using testing::PrimaryOf;
using testing::TestCluster;

constexpr absl::Duration kTimeout = absl::Seconds(30);
constexpr int kRounds = 20;
constexpr int kKeysPerRound = 200;

class FailoverChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status created = cluster_.StartAndCreate(9, 3, 2);
    ASSERT_TRUE(created.ok()) << created;
    absl::Status synced = cluster_.WaitReplicasSynced();
    ASSERT_TRUE(synced.ok()) << synced;
  }

  v1::ClusterMap Map() {
    absl::StatusOr<v1::ClusterMap> map = cluster_.Describe();
    EXPECT_TRUE(map.ok()) << map.status();
    return map.ok() ? *map : v1::ClusterMap();
  }

  // Every node healthy in the map and `slotctl cluster check` passing.
  absl::Status WaitHealthy() {
    absl::Status all = cluster_.WaitForMap(
        [](const v1::ClusterMap& map) {
          for (const v1::NodeInfo& node : map.nodes()) {
            if (node.health() != v1::HEALTHY) return false;
          }
          return true;
        },
        "every node to be HEALTHY", kTimeout);
    if (!all.ok()) return all;
    std::string output;
    absl::Status check = testing::PollUntil(
        [&] {
          absl::StatusOr<int> code =
              cluster_.Slotctl({"cluster", "check"}, &output);
          return code.ok() && *code == 0;
        },
        kTimeout, "slotctl cluster check to pass");
    if (!check.ok()) {
      return absl::DeadlineExceededError(
          absl::StrCat(check.message(), ":\n", output));
    }
    return absl::OkStatus();
  }

  // The AZ of every shard's primary.
  std::multiset<std::string> PrimaryAzs(const v1::ClusterMap& map) {
    std::multiset<std::string> azs;
    for (const v1::ShardInfo& shard : map.shards()) {
      for (const v1::NodeInfo& node : map.nodes()) {
        if (node.node_id() == shard.primary_node_id()) azs.insert(node.az());
      }
    }
    return azs;
  }

  TestCluster cluster_;
};

TEST_F(FailoverChaosTest, TwentyRandomKillsLoseNoAckedKeyAndEpochsOnlyGrow) {
  const uint32_t seed = absl::Uniform<uint32_t>(absl::BitGen());
  std::printf("[chaos] seed %u\n", seed);
  std::mt19937 gen(seed);
  std::vector<std::pair<std::string, std::string>> written;
  v1::ClusterMap last = Map();
  int failovers = 0;
  const absl::Time start = absl::Now();
  for (int round = 0; round < kRounds; ++round) {
    const int victim = static_cast<int>(gen() % cluster_.node_count());
    const v1::ClusterMap before = Map();
    bool was_primary = false;
    for (const v1::ShardInfo& shard : before.shards()) {
      if (cluster_.NodeIndex(before, shard.primary_node_id()) == victim) {
        was_primary = true;
      }
    }
    failovers += was_primary ? 1 : 0;
    cluster_.KillNode(victim);
    ASSERT_TRUE(cluster_.StartNode(victim).ok()) << "round " << round;
    absl::Status healthy = WaitHealthy();
    ASSERT_TRUE(healthy.ok()) << "round " << round << ": " << healthy;

    for (int k = 0; k < kKeysPerRound; ++k) {
      std::string key = absl::StrCat("r", round, ".k", k);
      std::string value = absl::StrCat("v", round, ".", k);
      absl::Status s = testing::WriteAcked(cluster_, key, value);
      ASSERT_TRUE(s.ok()) << "round " << round << ": " << s;
      written.emplace_back(std::move(key), std::move(value));
    }
    absl::StatusOr<int> missing = testing::CountMissing(cluster_, written);
    ASSERT_TRUE(missing.ok()) << missing.status();
    ASSERT_EQ(*missing, 0) << "round " << round << " (node " << victim
                           << (was_primary ? ", a primary" : "") << ")";

    const v1::ClusterMap now = Map();
    EXPECT_GT(now.version(), last.version());
    for (int s = 0; s < now.shards_size(); ++s) {
      EXPECT_GE(now.shards(s).config_epoch(), last.shards(s).config_epoch())
          << "epochs never go backwards";
    }
    last = now;
  }
  std::printf(
      "[chaos] %d rounds (%d killed a primary) in %s; %zu replica-acked keys "
      "all read back\n",
      kRounds, failovers, absl::FormatDuration(absl::Now() - start).c_str(),
      written.size());
}

TEST_F(FailoverChaosTest,
       AzOutageFailsOverThenNodesRejoinWithoutFullSyncAndRebalance) {
  // Quiesced first, so the cut-off primary holds nothing its replicas
  // lack and the rejoin can be a partial resync for every node.
  {
    AckedWriter writer(&cluster_);
    ASSERT_TRUE(writer.Start().ok());
    for (const char* shard : {"shard-1", "shard-2", "shard-3"}) {
      ASSERT_TRUE(writer.WaitForAcks(shard, 100).ok());
    }
    writer.Stop();
    ASSERT_TRUE(writer.CountLost().ok());
  }
  ASSERT_TRUE(cluster_
                  .WaitForMap(
                      [](const v1::ClusterMap& map) {
                        for (const v1::ShardInfo& shard : map.shards()) {
                          uint64_t primary = 0;
                          for (const v1::NodeInfo& n : map.nodes()) {
                            if (n.node_id() == shard.primary_node_id()) {
                              primary = n.replication_offset();
                            }
                          }
                          for (const v1::NodeInfo& n : map.nodes()) {
                            if (n.shard_id() == shard.shard_id() &&
                                n.replication_offset() != primary) {
                              return false;
                            }
                          }
                        }
                        return true;
                      },
                      "every replica to report its primary's offset", kTimeout)
                  .ok());

  // Node i is in az-a + i % 3: az-a holds nodes 0, 3 and 6.
  const std::vector<int> az_a = {0, 3, 6};
  const v1::ClusterMap before = Map();
  std::vector<std::string> replaced;
  for (const v1::ShardInfo& shard : before.shards()) {
    const int p = cluster_.NodeIndex(before, shard.primary_node_id());
    if (p % 3 == 0) replaced.push_back(shard.shard_id());
  }
  std::vector<uint64_t> full_syncs;
  for (int i : az_a) {
    absl::StatusOr<v1::NodeStatus> status = cluster_.NodeStatus(i);
    ASSERT_TRUE(status.ok());
    full_syncs.push_back(status->full_syncs());
  }

  const absl::Time cut = absl::Now();
  for (int i : az_a) ASSERT_TRUE(cluster_.PauseNode(i).ok());
  AckedWriter writer(&cluster_);
  ASSERT_TRUE(writer.Start().ok());
  for (const char* shard : {"shard-1", "shard-2", "shard-3"}) {
    ASSERT_TRUE(writer.WaitForAcks(shard, 100, kTimeout).ok())
        << shard << ": " << writer.Stats(shard).last_error;
  }
  const absl::Duration serving = absl::Now() - cut;
  writer.Stop();
  absl::StatusOr<int> lost = writer.CountLost();
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_EQ(*lost, 0);
  const v1::ClusterMap during = Map();
  for (const v1::ShardInfo& shard : during.shards()) {
    EXPECT_NE(cluster_.NodeIndex(during, shard.primary_node_id()) % 3, 0)
        << shard.shard_id() << " is served from a surviving AZ";
  }
  std::printf(
      "[az-outage] az-a cut off: %zu shard(s) failed over; every shard "
      "acked 100 writes %s after the cut; 0 lost\n",
      replaced.size(), absl::FormatDuration(serving).c_str());

  for (int i : az_a) ASSERT_TRUE(cluster_.ResumeNode(i).ok());
  absl::Status healthy = WaitHealthy();
  ASSERT_TRUE(healthy.ok()) << healthy;
  for (size_t k = 0; k < az_a.size(); ++k) {
    absl::Status rejoined = testing::PollUntil(
        [&] {
          absl::StatusOr<v1::NodeStatus> s = cluster_.NodeStatus(az_a[k]);
          return s.ok() && s->role() == v1::REPLICA && s->primary_link_up() &&
                 s->replication_lag_entries() == 0;
        },
        kTimeout, absl::StrCat("node ", az_a[k], " to follow its primary"));
    ASSERT_TRUE(rejoined.ok()) << rejoined;
    absl::StatusOr<v1::NodeStatus> status = cluster_.NodeStatus(az_a[k]);
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(status->full_syncs(), full_syncs[k])
        << "node " << az_a[k] << " rejoined without a full sync";
    // A node whose primary changed switched by partial resync; one whose
    // primary survived simply resumed its stream.
    if (std::find(replaced.begin(), replaced.end(), status->shard_id()) !=
        replaced.end()) {
      EXPECT_GE(status->partial_syncs(), 1u) << "node " << az_a[k];
    }
  }

  // After the outage az-a holds no primary; rebalancing hands the moved
  // ones back so each AZ has one again.
  std::string plan;
  absl::StatusOr<int> code =
      cluster_.Slotctl({"cluster", "rebalance-primaries", "--dry-run"}, &plan);
  ASSERT_TRUE(code.ok());
  ASSERT_EQ(*code, 0) << plan;
  EXPECT_NE(plan.find("Would run"), std::string::npos) << plan;
  EXPECT_EQ(PrimaryAzs(Map()).count("az-a"), 0u) << "dry run changes nothing";
  std::string output;
  code = cluster_.Slotctl({"cluster", "rebalance-primaries"}, &output);
  ASSERT_TRUE(code.ok());
  ASSERT_EQ(*code, 0) << output;
  std::printf("[az-outage] rebalance-primaries:\n%s\n", output.c_str());
  const std::multiset<std::string> azs = PrimaryAzs(Map());
  EXPECT_EQ(azs, (std::multiset<std::string>{"az-a", "az-b", "az-c"}));
}

}  // namespace
}  // namespace slotcache
