// Online resharding with real processes (docs/RESHARDING.md): slots move
// between shards of a 3 x (1 + 1) cluster while a model workload writes
// through the SDK, as a user runs it (`slotctl reshard`, `slotctl shard
// add`, `slotctl rebalance`, `slotctl shard remove`). After every step the
// final state must equal the model of the acknowledged writes (nothing
// lost, duplicated or reordered), the SDK must have returned no error (it
// retries TRYAGAIN and MOVED by itself), every slot must have exactly one
// owner and no node may keep keys of slots its shard does not own.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/cluster_harness.h"
#include "tests/migration_test_util.h"

namespace slotcache::testing {
namespace {

// Slower failure detection than the harness' 500 ms: these tests load the
// machine (16 writers, moves) and must not see a failover (which rolls a
// move back) because a busy node's heartbeat came late.
const std::vector<std::string> kTolerantTimeouts = {"--node_timeout=1500ms",
                                                    "--primary_lease=1000ms"};

int SlotCount(const v1::ShardInfo& shard) {
  int n = 0;
  for (const v1::SlotRange& r : shard.slots()) n += r.end() - r.start() + 1;
  return n;
}

std::string Layout(const v1::ClusterMap& map) {
  std::vector<std::string> parts;
  for (const v1::ShardInfo& shard : map.shards()) {
    parts.push_back(absl::StrCat(shard.shard_id(), "=", SlotCount(shard),
                                 " slots (epoch ", shard.config_epoch(), ")"));
  }
  return absl::StrJoin(parts, ", ");
}

void ExpectClusterCheckPasses(const TestCluster& cluster) {
  std::string output;
  absl::StatusOr<int> code = cluster.Slotctl({"cluster", "check"}, &output);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << output;
}

void ExpectModelHolds(const ModelWorkload& workload) {
  EXPECT_EQ(workload.errors(), 0u) << workload.first_error();
  uint64_t checked = 0;
  absl::StatusOr<int> mismatches = workload.CountMismatches(&checked);
  ASSERT_TRUE(mismatches.ok()) << mismatches.status();
  std::printf(
      "[migration] %llu writes acknowledged, %llu keys checked, %d "
      "differ from the model, %llu SDK errors\n",
      static_cast<unsigned long long>(workload.acked()),
      static_cast<unsigned long long>(checked), *mismatches,
      static_cast<unsigned long long>(workload.errors()));
  EXPECT_EQ(*mismatches, 0);
}

TEST(MigrationTest, SlotsMoveUnderLoadAndStateMatchesTheModel) {
  TestCluster cluster;
  cluster.set_extra_coordinator_flags(kTolerantTimeouts);
  ASSERT_TRUE(cluster.StartAndCreate(6, 3, 1).ok());
  ASSERT_TRUE(cluster.WaitReplicasSynced().ok());

  ModelWorkload::Options options;  // 200k writes over 50k keys.
  options.threads = 16;
  ModelWorkload workload(&cluster, options);
  ASSERT_TRUE(workload.Start().ok());
  ASSERT_TRUE(workload.WaitForWrites(20000).ok());

  // As a user: slotctl reshard, which shows progress and waits.
  absl::StatusOr<v1::ClusterMap> before = cluster.Describe();
  ASSERT_TRUE(before.ok());
  const std::vector<uint32_t> first = SlotsOf(*before, "shard-1", 150);
  std::string output;
  const absl::Time start = absl::Now();
  absl::StatusOr<int> code = cluster.Slotctl(
      {"reshard", "--from=shard-1", "--to=shard-2", "--slots=150"}, &output);
  ASSERT_TRUE(code.ok()) << code.status();
  ASSERT_EQ(*code, 0) << output;
  std::printf(
      "[migration] slotctl reshard 150 slots shard-1 -> shard-2 in "
      "%s under load:\n%s\n",
      absl::FormatDuration(absl::Now() - start).c_str(), output.c_str());

  // Then through the API, for the rest of the workload: 120 slots at a
  // time around the ring shard-3 -> shard-1 -> shard-2 -> shard-3, move
  // after move, until the 200k writes are done.
  const char* ring[] = {"shard-3", "shard-1", "shard-2"};
  int moves = 0;
  uint32_t longest_pause_ms = 0;
  uint64_t keys_copied = 0;
  std::vector<uint32_t> second;
  while (workload.acked() < options.writes) {
    const std::string from = ring[moves % 3], to = ring[(moves + 1) % 3];
    absl::StatusOr<v1::ClusterMap> mid = cluster.Describe();
    ASSERT_TRUE(mid.ok());
    const std::vector<uint32_t> slots = SlotsOf(*mid, from, 120);
    v1::MigrateSlotsRequest request;
    request.set_from_shard_id(from);
    request.set_to_shard_id(to);
    request.set_slot_count(120);
    absl::StatusOr<v1::Operation> op = MigrateSlots(cluster, request);
    ASSERT_TRUE(op.ok()) << op.status();
    absl::StatusOr<v1::Operation> done = WaitOperationDone(cluster, op->id());
    ASSERT_TRUE(done.ok()) << done.status();
    ASSERT_EQ(done->state(), v1::Operation::SUCCEEDED) << done->progress();
    longest_pause_ms =
        std::max(longest_pause_ms, done->migration().max_pause_ms());
    keys_copied += done->migration().keys_copied();
    second.insert(second.end(), slots.begin(), slots.end());
    ++moves;
  }
  std::printf(
      "[migration] %d more moves of 120 slots during the workload: "
      "%llu keys copied, longest write pause %u ms\n",
      moves, static_cast<unsigned long long>(keys_copied), longest_pause_ms);
  EXPECT_GE(moves, 1);

  workload.Stop();
  absl::StatusOr<v1::ClusterMap> after = cluster.Describe();
  ASSERT_TRUE(after.ok());
  std::printf("[migration] layout after: %s\n", Layout(*after).c_str());
  std::vector<uint32_t> moved = first;
  moved.insert(moved.end(), second.begin(), second.end());
  absl::StatusOr<uint64_t> keys = CheckSingleOwner(cluster, moved);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_GT(*keys, 0u);
  ExpectModelHolds(workload);
  ExpectClusterCheckPasses(cluster);
}

TEST(MigrationTest, ScaleOutThreeToFourAndBackInUnderLoad) {
  TestCluster cluster;
  cluster.set_extra_coordinator_flags(kTolerantTimeouts);
  ASSERT_TRUE(cluster.StartAndCreate(6, 3, 1).ok());
  ASSERT_TRUE(cluster.WaitReplicasSynced().ok());

  ModelWorkload::Options options;
  options.writes = 0;  // Until stopped.
  options.keys = 20000;
  options.threads = 4;
  ModelWorkload workload(&cluster, options);
  ASSERT_TRUE(workload.Start().ok());
  ASSERT_TRUE(workload.WaitForWrites(5000).ok());

  // Scale out: two new nodes register, form shard-4, rebalance.
  ASSERT_TRUE(cluster.StartNodes(2).ok());
  ASSERT_TRUE(cluster
                  .WaitForMap(
                      [](const v1::ClusterMap& map) {
                        int joining = 0;
                        for (const v1::NodeInfo& n : map.nodes()) {
                          joining += n.health() == v1::JOINING;
                        }
                        return joining == 2;
                      },
                      "the two new nodes to register")
                  .ok());
  std::string output;
  absl::StatusOr<int> code =
      cluster.Slotctl({"shard", "add", "--replicas=1"}, &output);
  ASSERT_TRUE(code.ok()) << code.status();
  ASSERT_EQ(*code, 0) << output;
  std::printf("[scale] slotctl shard add:\n%s\n", output.c_str());
  ASSERT_TRUE(cluster.WaitReplicasSynced().ok());
  // What a plan by keys would do (per-slot key counts from the nodes).
  code = cluster.Slotctl({"rebalance", "--dry-run", "--by=keys"}, &output);
  ASSERT_TRUE(code.ok()) << code.status();
  ASSERT_EQ(*code, 0) << output;
  EXPECT_NE(output.find("by keys"), std::string::npos) << output;
  std::printf("[scale] slotctl rebalance --dry-run --by=keys:\n%s\n",
              output.c_str());
  absl::Time start = absl::Now();
  code = cluster.Slotctl({"rebalance"}, &output);
  ASSERT_TRUE(code.ok()) << code.status();
  ASSERT_EQ(*code, 0) << output;
  std::printf("[scale] slotctl rebalance (3 -> 4 shards) in %s:\n%s\n",
              absl::FormatDuration(absl::Now() - start).c_str(),
              output.c_str());
  absl::StatusOr<v1::ClusterMap> four = cluster.Describe();
  ASSERT_TRUE(four.ok());
  ASSERT_EQ(four->shards_size(), 4);
  for (const v1::ShardInfo& shard : four->shards()) {
    EXPECT_NEAR(SlotCount(shard), 4096, 2) << Layout(*four);
  }
  std::printf("[scale] layout: %s\n", Layout(*four).c_str());
  std::vector<uint32_t> all;
  for (uint32_t s = 0; s < 16384; ++s) all.push_back(s);
  ASSERT_TRUE(CheckSingleOwner(cluster, all).ok());
  ExpectClusterCheckPasses(cluster);

  // Scale in: drain shard-4 back into the others.
  start = absl::Now();
  code = cluster.Slotctl({"shard", "remove", "shard-4"}, &output);
  ASSERT_TRUE(code.ok()) << code.status();
  ASSERT_EQ(*code, 0) << output;
  std::printf("[scale] slotctl shard remove shard-4 in %s:\n%s\n",
              absl::FormatDuration(absl::Now() - start).c_str(),
              output.c_str());
  workload.Stop();
  absl::StatusOr<v1::ClusterMap> three = cluster.Describe();
  ASSERT_TRUE(three.ok());
  ASSERT_EQ(three->shards_size(), 3) << Layout(*three);
  std::printf("[scale] layout: %s\n", Layout(*three).c_str());
  ASSERT_TRUE(CheckSingleOwner(cluster, all).ok());
  ExpectModelHolds(workload);
  ExpectClusterCheckPasses(cluster);
}

}  // namespace
}  // namespace slotcache::testing
