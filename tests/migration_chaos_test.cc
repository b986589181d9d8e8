// Slot migrations interrupted midway, with real processes: cancelled, the
// source primary SIGKILLed, the target primary SIGKILLed, the coordinator
// SIGKILLed and restarted. Each time, afterwards: every slot has exactly
// one owner, no node keeps keys of slots its shard does not own, and every
// key acknowledged by a replica before the interruption is present exactly
// once with its value (docs/RESHARDING.md "Rollback").
//
// The source nodes stream the snapshot at a limited rate
// (--migration_max_bytes_per_sec) so that the migration is reliably still
// copying when the test interrupts it.
#include <cstdio>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/sdk/client.h"
#include "client/sdk/coordinator_map_source.h"
#include "common/slot.h"
#include "gtest/gtest.h"
#include "tests/cluster_harness.h"
#include "tests/failover_test_util.h"
#include "tests/migration_test_util.h"

namespace slotcache::testing {
namespace {

constexpr uint32_t kSlots = 100;
constexpr int kKeysPerSlot = 300;
constexpr size_t kValueBytes = 200;

// A hash tag whose slot is `slot`.
std::string TagFor(uint32_t slot) {
  for (int n = 0;; ++n) {
    std::string tag = absl::StrCat("t", n);
    if (KeySlot(tag) == slot) return tag;
  }
}

std::string ValueOf(const std::string& key) {
  std::string value = absl::StrCat(key, ":");
  while (value.size() < kValueBytes) value += 'x';
  return value;
}

class MigrationChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.set_extra_node_flags({"--migration_max_bytes_per_sec=4000000"});
    // Slower failure detection than the harness' 500 ms, so that only the
    // kills the tests make fail nodes over, not a busy machine's late
    // heartbeat.
    cluster_.set_extra_coordinator_flags(
        {"--node_timeout=1500ms", "--primary_lease=1000ms"});
    ASSERT_TRUE(cluster_.StartAndCreate(6, 3, 1).ok());
    ASSERT_TRUE(cluster_.WaitReplicasSynced().ok());
    ClientOptions options;
    options.map_source =
        std::make_shared<CoordinatorMapSource>(cluster_.coordinator_address());
    options.default_timeout = absl::Seconds(10);
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    absl::StatusOr<v1::ClusterMap> map = cluster_.Describe();
    ASSERT_TRUE(map.ok());
    slots_ = SlotsOf(*map, "shard-1", kSlots);
    Preload();
  }

  // kKeysPerSlot keys in each slot to move, then one write acknowledged by
  // a replica (replication is ordered, so the replica has them all).
  void Preload() {
    std::vector<std::future<absl::StatusOr<bool>>> pending;
    for (uint32_t slot : slots_) {
      const std::string tag = TagFor(slot);
      for (int i = 0; i < kKeysPerSlot; ++i) {
        std::string key = absl::StrCat("{", tag, "}k", i);
        pending.push_back(client_->SetAsync(key, ValueOf(key)));
        keys_.push_back(std::move(key));
        if (pending.size() >= 512) Drain(&pending);
      }
    }
    Drain(&pending);
    ASSERT_TRUE(WriteAcked(cluster_,
                           absl::StrCat("{", TagFor(slots_[0]), "}fence"), "1")
                    .ok());
    std::printf(
        "[chaos] preloaded %zu keys (%zu bytes each) in %u slots of "
        "shard-1\n",
        keys_.size(), kValueBytes, kSlots);
  }

  static void Drain(std::vector<std::future<absl::StatusOr<bool>>>* pending) {
    for (auto& f : *pending) {
      absl::StatusOr<bool> r = f.get();
      ASSERT_TRUE(r.ok()) << r.status();
    }
    pending->clear();
  }

  // Starts moving the slots shard-1 -> shard-2 and waits until the
  // snapshot is being copied.
  std::string StartMoveAndWaitForCopying() {
    v1::MigrateSlotsRequest request;
    request.set_from_shard_id("shard-1");
    request.set_to_shard_id("shard-2");
    for (uint32_t s : slots_) {
      v1::SlotRange* r = request.add_slots();
      r->set_start(s);
      r->set_end(s);
    }
    absl::StatusOr<v1::Operation> op = MigrateSlots(cluster_, request);
    EXPECT_TRUE(op.ok()) << op.status();
    if (!op.ok()) return "";
    absl::StatusOr<v1::Operation> copying = WaitOperation(
        cluster_, op->id(),
        [](const v1::Operation& o) {
          return o.migration().keys_copied() > 1000;
        },
        "the snapshot to be copying");
    EXPECT_TRUE(copying.ok()) << copying.status();
    if (copying.ok()) {
      std::printf(
          "[chaos] %s copying: %llu keys so far, step '%s'\n",
          copying->id().c_str(),
          static_cast<unsigned long long>(copying->migration().keys_copied()),
          copying->migration().step().c_str());
    }
    return op->id();
  }

  // The operation ended FAILED, the slots still belong to shard-1, only
  // their owner holds them and every preloaded key reads back.
  void ExpectRolledBack(const std::string& id) {
    absl::StatusOr<v1::Operation> done = WaitOperationDone(cluster_, id);
    ASSERT_TRUE(done.ok()) << done.status();
    std::printf("[chaos] %s ended %s: %s\n", id.c_str(),
                v1::Operation::State_Name(done->state()).c_str(),
                done->progress().c_str());
    EXPECT_EQ(done->state(), v1::Operation::FAILED);
    absl::StatusOr<v1::ClusterMap> map = cluster_.Describe();
    ASSERT_TRUE(map.ok());
    for (uint32_t s : slots_) ASSERT_EQ(OwnerOf(*map, s), "shard-1") << s;
    ExpectEveryKeyOnce();
  }

  void ExpectEveryKeyOnce() {
    absl::StatusOr<uint64_t> on_owner =
        CheckSingleOwner(cluster_, slots_, absl::Seconds(30));
    ASSERT_TRUE(on_owner.ok()) << on_owner.status();
    // The preloaded keys and the fence, each exactly once.
    EXPECT_EQ(*on_owner, keys_.size() + 1);
    int missing = 0;
    std::vector<std::future<absl::StatusOr<std::optional<std::string>>>> got;
    for (const std::string& key : keys_) got.push_back(client_->GetAsync(key));
    for (size_t i = 0; i < keys_.size(); ++i) {
      absl::StatusOr<std::optional<std::string>> v = got[i].get();
      ASSERT_TRUE(v.ok()) << keys_[i] << ": " << v.status();
      if (!v->has_value() || **v != ValueOf(keys_[i])) ++missing;
    }
    std::printf(
        "[chaos] %zu keys checked, %d missing or wrong, %llu on the "
        "owner\n",
        keys_.size(), missing, static_cast<unsigned long long>(*on_owner));
    EXPECT_EQ(missing, 0);
  }

  absl::Status WaitForNewPrimary(const std::string& shard_id,
                                 const std::string& old_primary) {
    return cluster_.WaitForMap(
        [&](const v1::ClusterMap& map) {
          std::string now = PrimaryOf(map, shard_id);
          return !now.empty() && now != old_primary;
        },
        absl::StrCat(shard_id, " to fail over"));
  }

  // Starts the move, SIGKILLs `shard_id`'s primary while the snapshot
  // copies and waits until a replica replaced it; returns the move's id
  // ("" after a failure, reported).
  std::string KillPrimaryMidMove(const std::string& shard_id) {
    absl::StatusOr<v1::ClusterMap> map = cluster_.Describe();
    EXPECT_TRUE(map.ok());
    if (!map.ok()) return "";
    const std::string old_primary = PrimaryOf(*map, shard_id);
    const int index = cluster_.NodeIndex(*map, old_primary);
    const std::string id = StartMoveAndWaitForCopying();
    if (id.empty()) return "";
    cluster_.KillNode(index);
    absl::Status replaced = WaitForNewPrimary(shard_id, old_primary);
    EXPECT_TRUE(replaced.ok()) << replaced;
    return replaced.ok() ? id : "";
  }

  TestCluster cluster_;
  std::unique_ptr<Client> client_;
  std::vector<uint32_t> slots_;
  std::vector<std::string> keys_;
};

TEST_F(MigrationChaosTest, CancelMidMigrationRollsBack) {
  const std::string id = StartMoveAndWaitForCopying();
  ASSERT_FALSE(id.empty());
  std::string output;
  absl::StatusOr<int> code =
      cluster_.Slotctl({"operation", "cancel", id}, &output);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << output;
  ExpectRolledBack(id);
}

TEST_F(MigrationChaosTest, SourcePrimaryKilledMidMigration) {
  const std::string id = KillPrimaryMidMove("shard-1");
  ASSERT_FALSE(id.empty());
  ExpectRolledBack(id);
}

TEST_F(MigrationChaosTest, TargetPrimaryKilledMidMigration) {
  const std::string id = KillPrimaryMidMove("shard-2");
  ASSERT_FALSE(id.empty());
  // The promoted replica of the target got part of the import by
  // replication; the rollback must drop it there.
  ExpectRolledBack(id);
}

TEST_F(MigrationChaosTest, TargetPrimaryKilledRightAfterTheCommit) {
  // The commit waits until the target's replicas acknowledged the import,
  // so the promoted replica has every key.
  v1::MigrateSlotsRequest request;
  request.set_from_shard_id("shard-1");
  request.set_to_shard_id("shard-2");
  request.set_slot_count(kSlots);
  absl::StatusOr<v1::Operation> op = MigrateSlots(cluster_, request);
  ASSERT_TRUE(op.ok()) << op.status();
  absl::StatusOr<v1::Operation> done = WaitOperationDone(cluster_, op->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::Operation::SUCCEEDED) << done->progress();
  absl::StatusOr<v1::ClusterMap> map = cluster_.Describe();
  ASSERT_TRUE(map.ok());
  const std::string old_primary = PrimaryOf(*map, "shard-2");
  cluster_.KillNode(cluster_.NodeIndex(*map, old_primary));
  ASSERT_TRUE(WaitForNewPrimary("shard-2", old_primary).ok());
  map = cluster_.Describe();
  ASSERT_TRUE(map.ok());
  for (uint32_t s : slots_) ASSERT_EQ(OwnerOf(*map, s), "shard-2") << s;
  ExpectEveryKeyOnce();
}

TEST_F(MigrationChaosTest, CoordinatorRestartedMidMigration) {
  const std::string id = StartMoveAndWaitForCopying();
  ASSERT_FALSE(id.empty());
  cluster_.KillCoordinator();
  ASSERT_TRUE(cluster_.StartCoordinator().ok());
  ExpectRolledBack(id);
  // The cluster moves slots again afterwards.
  v1::MigrateSlotsRequest request;
  request.set_from_shard_id("shard-1");
  request.set_to_shard_id("shard-2");
  request.set_slot_count(kSlots);
  absl::StatusOr<v1::Operation> op = MigrateSlots(cluster_, request);
  ASSERT_TRUE(op.ok()) << op.status();
  absl::StatusOr<v1::Operation> done = WaitOperationDone(cluster_, op->id());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::Operation::SUCCEEDED) << done->progress();
}

}  // namespace
}  // namespace slotcache::testing
