// Failover in a real cluster (docs/FAILOVER.md): a coordinator and nodes
// as processes, primaries killed (SIGKILL) or hung (SIGSTOP) under steady
// writes acknowledged by a replica, and manual failover with slotctl.
// Safety is asserted strictly (no acknowledged write lost, no write
// acknowledged by a replaced primary); timings are printed and asserted
// only loosely, as the machine is shared.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/sdk/stats.h"
#include "common/rpc.h"
#include "gtest/gtest.h"
#include "proto/coordinator.grpc.pb.h"
#include "tests/cluster_harness.h"
#include "tests/failover_test_util.h"
#include "tests/harness/process.h"

namespace slotcache {
namespace {

using testing::AckedWriter;
using testing::DigestOf;
using testing::ExecuteOn;
using testing::PrimaryOf;
using testing::TestCluster;

// Generous: the machine runs several builds at once.
constexpr absl::Duration kFailoverTimeout = absl::Seconds(20);
constexpr absl::Duration kLooseGapBound = absl::Seconds(5);

const v1::NodeInfo* FindNode(const v1::ClusterMap& map, const std::string& id) {
  for (const v1::NodeInfo& node : map.nodes()) {
    if (node.node_id() == id) return &node;
  }
  return nullptr;
}

const v1::ShardInfo* FindShard(const v1::ClusterMap& map,
                               const std::string& id) {
  for (const v1::ShardInfo& shard : map.shards()) {
    if (shard.shard_id() == id) return &shard;
  }
  return nullptr;
}

v1::Command Set(const std::string& key, const std::string& value) {
  v1::Command command;
  command.set_name("SET");
  command.add_args(key);
  command.add_args(value);
  return command;
}

class FailoverTest : public ::testing::Test {
 protected:
  void StartCluster(int nodes, int shards, int replicas) {
    absl::Status created = cluster_.StartAndCreate(nodes, shards, replicas);
    ASSERT_TRUE(created.ok()) << created;
    absl::Status synced = cluster_.WaitReplicasSynced();
    ASSERT_TRUE(synced.ok()) << synced;
  }

  v1::ClusterMap Map() {
    absl::StatusOr<v1::ClusterMap> map = cluster_.Describe();
    EXPECT_TRUE(map.ok()) << map.status();
    return map.ok() ? *map : v1::ClusterMap();
  }

  // Waits until `shard_id` has a healthy primary other than `old`; returns
  // its id.
  std::string WaitForNewPrimary(const std::string& shard_id,
                                const std::string& old) {
    std::string now;
    absl::Status s = cluster_.WaitForMap(
        [&](const v1::ClusterMap& map) {
          now = PrimaryOf(map, shard_id);
          const v1::NodeInfo* node = FindNode(map, now);
          return now != old && node != nullptr && node->health() == v1::HEALTHY;
        },
        absl::StrCat(shard_id, " to get a new primary"), kFailoverTimeout);
    EXPECT_TRUE(s.ok()) << s;
    return now;
  }

  // Waits until node `id` is a healthy replica of `shard_id` whose content
  // equals its primary's (writes must have stopped).
  void WaitRejoinedAsReplica(const std::string& shard_id,
                             const std::string& id) {
    absl::Status s = cluster_.WaitForMap(
        [&](const v1::ClusterMap& map) {
          const v1::NodeInfo* node = FindNode(map, id);
          return node != nullptr && node->health() == v1::HEALTHY &&
                 node->role() == v1::REPLICA && node->shard_id() == shard_id;
        },
        absl::StrCat(id, " to rejoin ", shard_id, " as a replica"),
        kFailoverTimeout);
    ASSERT_TRUE(s.ok()) << s;
    const v1::ClusterMap map = Map();
    const std::string replica = FindNode(map, id)->address();
    const std::string primary =
        FindNode(map, PrimaryOf(map, shard_id))->address();
    s = testing::PollUntil(
        [&] {
          absl::StatusOr<v1::DigestResponse> a = DigestOf(primary);
          absl::StatusOr<v1::DigestResponse> b = DigestOf(replica);
          return a.ok() && b.ok() && a->digest() == b->digest() &&
                 a->key_count() == b->key_count();
        },
        kFailoverTimeout, absl::StrCat(id, " to hold its primary's data"));
    ASSERT_TRUE(s.ok()) << s;
  }

  void ExpectCheckPasses() {
    std::string output;
    absl::Status s = testing::PollUntil(
        [&] {
          absl::StatusOr<int> code =
              cluster_.Slotctl({"cluster", "check"}, &output);
          return code.ok() && *code == 0;
        },
        kFailoverTimeout, "slotctl cluster check to pass");
    EXPECT_TRUE(s.ok()) << s << "\n" << output;
  }

  TestCluster cluster_;
};

TEST_F(FailoverTest, KilledPrimaryIsReplacedWithoutLosingAckedWrites) {
  StartCluster(9, 3, 2);
  AckedWriter writer(&cluster_);
  ASSERT_TRUE(writer.Start().ok());
  for (const char* shard : {"shard-1", "shard-2", "shard-3"}) {
    ASSERT_TRUE(writer.WaitForAcks(shard, 100).ok());
  }
  const v1::ClusterMap before = Map();
  const std::string old = PrimaryOf(before, "shard-1");
  const int old_index = cluster_.NodeIndex(before, old);
  ASSERT_GE(old_index, 0);
  const uint64_t errors_2 = writer.Stats("shard-2").errors;
  const uint64_t errors_3 = writer.Stats("shard-3").errors;
  const uint64_t acked = writer.Stats("shard-1").acked;

  const absl::Time killed = absl::Now();
  cluster_.KillNode(old_index);
  const std::string promoted = WaitForNewPrimary("shard-1", old);
  const absl::Duration promotion = absl::Now() - killed;
  ASSERT_TRUE(writer.WaitForAcks("shard-1", acked + 200).ok())
      << writer.Stats("shard-1").last_error;
  writer.Stop();

  const AckedWriter::ShardStats stats = writer.Stats("shard-1");
  absl::StatusOr<int> lost = writer.CountLost();
  ASSERT_TRUE(lost.ok()) << lost.status();
  std::printf(
      "[failover] SIGKILL primary: promoted %s %s after the kill; "
      "client-visible write gap %s; %d writes acked with min_replica_acks=1, "
      "%d lost; other shards' errors: %d, %d\n",
      promoted.c_str(), absl::FormatDuration(promotion).c_str(),
      absl::FormatDuration(stats.longest_gap).c_str(),
      static_cast<int>(stats.acked), *lost,
      static_cast<int>(writer.Stats("shard-2").errors - errors_2),
      static_cast<int>(writer.Stats("shard-3").errors - errors_3));
  const ClientStats sdk = writer.SdkStats();
  std::printf(
      "[failover] SDK writer: %llu maps from the coordinator's watch, "
      "%llu MOVED/READONLY redirects, %llu retries\n",
      static_cast<unsigned long long>(sdk.watched_maps),
      static_cast<unsigned long long>(sdk.moved_redirects),
      static_cast<unsigned long long>(sdk.retries));
  EXPECT_EQ(*lost, 0);
  EXPECT_EQ(writer.Stats("shard-2").errors, errors_2);
  EXPECT_EQ(writer.Stats("shard-3").errors, errors_3);
  EXPECT_LT(stats.longest_gap, kLooseGapBound);
  // The SDK learnt the new primary from the pushed map.
  EXPECT_GE(sdk.watched_maps, 1u);
  const v1::ClusterMap after = Map();
  EXPECT_GT(FindShard(after, "shard-1")->config_epoch(),
            FindShard(before, "shard-1")->config_epoch());

  // The crashed node comes back empty and rejoins as a replica.
  ASSERT_TRUE(cluster_.StartNode(old_index).ok());
  WaitRejoinedAsReplica("shard-1", old);
  ExpectCheckPasses();
}

TEST_F(FailoverTest, PrimaryPausedShorterThanNodeTimeoutKeepsItsRole) {
  StartCluster(9, 3, 2);
  const v1::ClusterMap before = Map();
  const std::string primary = PrimaryOf(before, "shard-2");
  const int index = cluster_.NodeIndex(before, primary);
  ASSERT_TRUE(cluster_.PauseNode(index).ok());
  // The experiment itself: a hang of 150 ms, well under node_timeout.
  absl::SleepFor(absl::Milliseconds(150));
  ASSERT_TRUE(cluster_.ResumeNode(index).ok());
  // For three node timeouts nothing changes hands.
  const absl::Time until = absl::Now() + absl::Milliseconds(1500);
  while (absl::Now() < until) {
    const v1::ClusterMap map = Map();
    ASSERT_EQ(PrimaryOf(map, "shard-2"), primary);
    ASSERT_EQ(FindShard(map, "shard-2")->config_epoch(),
              FindShard(before, "shard-2")->config_epoch());
  }
  absl::StatusOr<v1::ExecuteResponse> write =
      ExecuteOn(cluster_.node_address(index), Set("{w0}.after", "x"));
  ASSERT_TRUE(write.ok());
  // Any shard's key is fine: MOVED still proves routing, OK proves writes.
  EXPECT_TRUE(!write->reply().has_error() ||
              write->reply().error().code() == v1::MOVED)
      << write->reply().error().message();
}

TEST_F(FailoverTest, PrimaryPausedPastNodeTimeoutIsReplacedAndAcksNoMore) {
  StartCluster(9, 3, 2);
  AckedWriter writer(&cluster_);
  ASSERT_TRUE(writer.Start().ok());
  ASSERT_TRUE(writer.WaitForAcks("shard-3", 100).ok());
  const v1::ClusterMap before = Map();
  const std::string old = PrimaryOf(before, "shard-3");
  const int old_index = cluster_.NodeIndex(before, old);
  const std::string old_address = cluster_.node_address(old_index);
  ASSERT_TRUE(cluster_.PauseNode(old_index).ok());
  WaitForNewPrimary("shard-3", old);
  const uint64_t acked = writer.Stats("shard-3").acked;
  ASSERT_TRUE(writer.WaitForAcks("shard-3", acked + 100).ok());
  ASSERT_TRUE(cluster_.ResumeNode(old_index).ok());

  // Written to directly, the old primary acknowledges nothing from the
  // moment it wakes up until it knows it is a replica (and after).
  v1::RequestOptions no_wait;
  int attempts = 0;
  absl::Status s = testing::PollUntil(
      [&] {
        absl::StatusOr<v1::ExecuteResponse> write = ExecuteOn(
            old_address,
            Set(absl::StrCat("{", "w2", "}.fenced", attempts++), "x"), no_wait);
        if (write.ok() && !write->reply().has_error()) {
          ADD_FAILURE() << "the replaced primary acknowledged a write";
        }
        absl::StatusOr<v1::NodeStatus> status = cluster_.NodeStatus(old_index);
        return status.ok() && status->role() == v1::REPLICA;
      },
      kFailoverTimeout, "the old primary to become a replica");
  ASSERT_TRUE(s.ok()) << s;
  std::printf(
      "[failover] SIGSTOP primary: %d direct writes after SIGCONT, "
      "none acknowledged\n",
      attempts);
  writer.Stop();
  absl::StatusOr<int> lost = writer.CountLost();
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_EQ(*lost, 0);
  std::printf(
      "[failover] SIGSTOP primary: client-visible write gap %s (includes "
      "the writer's %s attempt deadline against the hung primary)\n",
      absl::FormatDuration(writer.Stats("shard-3").longest_gap).c_str(),
      absl::FormatDuration(AckedWriter::kAttemptDeadline).c_str());
  WaitRejoinedAsReplica("shard-3", old);
}

TEST_F(FailoverTest, ShardWithoutEligibleReplicaStaysDownAndCheckSaysWhy) {
  StartCluster(2, 1, 1);
  const v1::ClusterMap map = Map();
  const std::string primary = PrimaryOf(map, "shard-1");
  const std::string replica = map.shards(0).replica_node_ids(0);
  cluster_.KillNode(cluster_.NodeIndex(map, replica));
  ASSERT_TRUE(cluster_
                  .WaitForMap(
                      [&](const v1::ClusterMap& m) {
                        return FindNode(m, replica)->health() == v1::FAILED;
                      },
                      "the replica to be FAILED", kFailoverTimeout)
                  .ok());
  cluster_.KillNode(cluster_.NodeIndex(map, primary));
  std::string output;
  absl::Status s = testing::PollUntil(
      [&] {
        absl::StatusOr<int> code =
            cluster_.Slotctl({"cluster", "check"}, &output);
        return code.ok() && *code == 1 &&
               absl::StrContains(output, "no replica can take over");
      },
      kFailoverTimeout, "cluster check to say why shard-1 is down");
  ASSERT_TRUE(s.ok()) << s << "\n" << output;
  std::printf("[failover] no eligible replica, cluster check says:\n%s\n",
              output.c_str());
  EXPECT_EQ(PrimaryOf(Map(), "shard-1"), primary) << "nothing was promoted";
  std::string events;
  ASSERT_TRUE(cluster_.Slotctl({"events"}, &events).ok());
  EXPECT_TRUE(absl::StrContains(events, "failover_failed")) << events;
}

TEST_F(FailoverTest, ManualFailoverLosesNoWriteAndPausesBriefly) {
  StartCluster(9, 3, 2);
  AckedWriter writer(&cluster_);
  ASSERT_TRUE(writer.Start().ok());
  ASSERT_TRUE(writer.WaitForAcks("shard-1", 200).ok());
  const v1::ClusterMap before = Map();
  const std::string old = PrimaryOf(before, "shard-1");
  const uint64_t errors_2 = writer.Stats("shard-2").errors;
  const uint64_t acked = writer.Stats("shard-1").acked;

  std::string output;
  absl::StatusOr<int> code =
      cluster_.Slotctl({"failover", "--shard=shard-1"}, &output);
  ASSERT_TRUE(code.ok());
  ASSERT_EQ(*code, 0) << output;
  const std::string promoted = PrimaryOf(Map(), "shard-1");
  EXPECT_NE(promoted, old);
  ASSERT_TRUE(writer.WaitForAcks("shard-1", acked + 200).ok());
  writer.Stop();
  absl::StatusOr<int> lost = writer.CountLost();
  ASSERT_TRUE(lost.ok()) << lost.status();
  const absl::Duration gap = writer.Stats("shard-1").longest_gap;
  std::printf(
      "[failover] manual failover: %s -> %s, client-visible write pause %s, "
      "%d lost\nslotctl said:\n%s\n",
      old.c_str(), promoted.c_str(), absl::FormatDuration(gap).c_str(), *lost,
      output.c_str());
  EXPECT_EQ(*lost, 0);
  EXPECT_EQ(writer.Stats("shard-2").errors, errors_2);
  EXPECT_LT(gap, absl::Seconds(2)) << "target is well under a second";

  // The old primary is a replica now, by partial resync (it never needed
  // a full sync: it had every write of the history).
  WaitRejoinedAsReplica("shard-1", old);
  absl::StatusOr<v1::NodeStatus> status =
      cluster_.NodeStatus(cluster_.NodeIndex(Map(), old));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->full_syncs(), 0u);
  EXPECT_GE(status->partial_syncs(), 1u);

  std::string events;
  ASSERT_TRUE(cluster_.Slotctl({"events"}, &events).ok());
  const size_t requested = events.find("failover_requested");
  const size_t completed = events.find("failover_completed");
  ASSERT_NE(requested, std::string::npos) << events;
  EXPECT_NE(completed, std::string::npos) << events;
  EXPECT_LT(requested, completed);
}

TEST_F(FailoverTest, ManualFailoverIsRefusedWhileAnotherRuns) {
  StartCluster(9, 3, 2);
  const v1::ClusterMap map = Map();
  const std::string target = map.shards(0).replica_node_ids(0);
  const int target_index = cluster_.NodeIndex(map, target);
  // A hung target cannot catch up, so the first failover keeps running.
  ASSERT_TRUE(cluster_.PauseNode(target_index).ok());
  auto stub = v1::CoordinatorService::NewStub(
      MakeChannel(cluster_.coordinator_address()));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  v1::FailoverRequest request;
  request.set_shard_id("shard-1");
  request.set_to_node_id(target);
  v1::FailoverResponse response;
  grpc::Status started = stub->Failover(&context, request, &response);
  ASSERT_TRUE(started.ok()) << started.error_message();

  std::string output;
  absl::StatusOr<int> code =
      cluster_.Slotctl({"failover", "--shard=shard-2"}, &output);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 1) << output;
  EXPECT_TRUE(absl::StrContains(output, "another failover is running"))
      << output;
  ASSERT_TRUE(cluster_.ResumeNode(target_index).ok());
  // Either way the first one ends and the cluster is whole again.
  ExpectCheckPasses();
}

TEST_F(FailoverTest, CoordinatorCrashMidFailoverRollsBackAndKeepsAPrimary) {
  StartCluster(9, 3, 2);
  const v1::ClusterMap map = Map();
  const std::string primary = PrimaryOf(map, "shard-1");
  const std::string target = map.shards(0).replica_node_ids(0);
  const int target_index = cluster_.NodeIndex(map, target);
  // The hung target keeps the failover waiting when the coordinator dies.
  ASSERT_TRUE(cluster_.PauseNode(target_index).ok());
  std::string op_id;
  {
    auto stub = v1::CoordinatorService::NewStub(
        MakeChannel(cluster_.coordinator_address()));
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(10)));
    v1::FailoverRequest request;
    request.set_shard_id("shard-1");
    request.set_to_node_id(target);
    v1::FailoverResponse response;
    grpc::Status started = stub->Failover(&context, request, &response);
    ASSERT_TRUE(started.ok()) << started.error_message();
    op_id = response.operation().id();
  }
  cluster_.KillCoordinator();
  ASSERT_TRUE(cluster_.ResumeNode(target_index).ok());
  ASSERT_TRUE(cluster_.StartCoordinator().ok());

  // The restarted coordinator finds the operation RUNNING and rolls it
  // back: the shard keeps its primary, which serves writes again.
  std::string operations;
  absl::Status s = testing::PollUntil(
      [&] {
        absl::StatusOr<int> code =
            cluster_.Slotctl({"operations", "--output=json"}, &operations);
        return code.ok() && *code == 0 &&
               absl::StrContains(operations,
                                 "interrupted by a coordinator restart");
      },
      kFailoverTimeout, absl::StrCat(op_id, " to be rolled back"));
  ASSERT_TRUE(s.ok()) << s << "\n" << operations;
  ExpectCheckPasses();
  EXPECT_EQ(PrimaryOf(Map(), "shard-1"), primary);
  EXPECT_TRUE(testing::WriteAcked(cluster_, "{w0}.after-restart", "x").ok());
}

}  // namespace
}  // namespace slotcache
