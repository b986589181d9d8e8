#include "node/migration/slot_dropper.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "gtest/gtest.h"
#include "node/migration/importer.h"
#include "node/replication/replication_log.h"
#include "tests/harness/process.h"

namespace slotcache::node::migration {
namespace {

using slotcache::testing::PollUntil;

// Shard s1 (primary `s1_primary`, with "a" = this node as its replica
// otherwise) owns [0, split), s2 the rest.
v1::ClusterMap Map(uint64_t version, uint32_t split,
                   const std::string& s1_primary = "a") {
  v1::ClusterMap map;
  map.set_version(version);
  for (const char* id : {"a", "b", "c"}) {
    v1::NodeInfo* node = map.add_nodes();
    node->set_node_id(id);
    node->set_address(absl::StrCat(id, ":1"));
  }
  v1::ShardInfo* s1 = map.add_shards();
  s1->set_shard_id("s1");
  s1->set_primary_node_id(s1_primary);
  if (s1_primary != "a") s1->add_replica_node_ids("a");
  s1->add_slots()->set_end(split - 1);
  v1::ShardInfo* s2 = map.add_shards();
  s2->set_shard_id("s2");
  s2->set_primary_node_id("b");
  v1::SlotRange* range = s2->add_slots();
  range->set_start(split);
  range->set_end(kNumSlots - 1);
  return map;
}

// A key of slot `slot` (brute force over a hash tag).
std::string KeyOf(uint32_t slot, int i) {
  for (int tag = 0;; ++tag) {
    std::string t = absl::StrCat(tag);
    if (KeySlot(t) == slot) return absl::StrCat("{", t, "}", i);
  }
}

TEST(SlotDropperTest, DropsKeysOfSlotsTheShardLostAndNothingElse) {
  storage::Store store;
  ClusterState cluster({"a", "a:1", "az"}, {/*coordinated=*/true});
  SlotDropper dropper(&store, &cluster);
  cluster.SetSlotsLostListener(
      [&](std::vector<uint32_t> slots) { dropper.Drop(std::move(slots)); });
  ASSERT_TRUE(cluster.Apply(Map(1, 100)).ok());
  // Slot 99 moves away; slot 98 stays; slot 200 was never ours (an
  // import's keys).
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(store.Set(KeyOf(99, i), "v").ok());
  }
  ASSERT_TRUE(store.Set(KeyOf(98, 0), "v").ok());
  ASSERT_TRUE(store.Set(KeyOf(200, 0), "v").ok());
  ASSERT_TRUE(cluster.Apply(Map(2, 99)).ok());
  ASSERT_TRUE(PollUntil([&] { return store.SlotKeyCount(99) == 0; },
                        absl::Seconds(10), "slot 99 to be dropped")
                  .ok());
  ASSERT_TRUE(PollUntil([&] { return dropper.idle(); }, absl::Seconds(10),
                        "the dropper to go idle")
                  .ok());
  EXPECT_EQ(dropper.keys_dropped(), 1000u);
  EXPECT_EQ(store.SlotKeyCount(98), 1);
  EXPECT_EQ(store.SlotKeyCount(200), 1);
}

TEST(SlotDropperTest, SkipsASlotTheShardOwnsAgainByThen) {
  storage::Store store;
  ClusterState cluster({"a", "a:1", "az"}, {/*coordinated=*/true});
  SlotDropper dropper(&store, &cluster);
  ASSERT_TRUE(cluster.Apply(Map(1, 100)).ok());
  ASSERT_TRUE(store.Set(KeyOf(50, 0), "v").ok());
  // Queued as if a map had taken it, but the map in force gives it back.
  dropper.Drop({50});
  ASSERT_TRUE(PollUntil([&] { return dropper.idle(); }, absl::Seconds(10),
                        "the dropper to go idle")
                  .ok());
  EXPECT_EQ(store.SlotKeyCount(50), 1);
  EXPECT_EQ(dropper.keys_dropped(), 0u);
}

TEST(SlotDropperTest, APromotedNodeDeletesStrayKeysAsLoggedDeletes) {
  ReplicationLog log({});
  storage::StoreOptions store_options;
  store_options.listener = &log;
  storage::Store store(store_options);
  ClusterState cluster({"a", "a:1", "az"}, {/*coordinated=*/true});
  Importer importer(&store, &log, &cluster, {});
  SlotDropper dropper(&store, &cluster);
  cluster.SetBecamePrimaryListener(
      [&] { dropper.Sweep([&] { return importer.DropStrayKeys(); }); });
  // A replica of s1 ("c" is its primary) holding its shard's keys and
  // keys of slot 200 (s2's) that an import on the old primary copied.
  ASSERT_TRUE(cluster.Apply(Map(1, 100, "c")).ok());
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(store.Set(KeyOf(200, i), "v").ok());
  }
  ASSERT_TRUE(store.Set(KeyOf(98, 0), "v").ok());
  // Promoted: the stray keys go, as logged deletes; its own stay.
  ASSERT_TRUE(cluster.Apply(Map(2, 100, "a")).ok());
  ASSERT_TRUE(PollUntil([&] { return store.SlotKeyCount(200) == 0; },
                        absl::Seconds(10), "slot 200's stray keys to go")
                  .ok());
  ASSERT_TRUE(PollUntil([&] { return dropper.idle(); }, absl::Seconds(10),
                        "the dropper to go idle")
                  .ok());
  EXPECT_EQ(dropper.keys_dropped(), 300u);
  EXPECT_EQ(store.SlotKeyCount(98), 1);
  // 301 writes, then 300 logged deletes (the replicas delete them too).
  EXPECT_EQ(log.reserved_offset(), 601u);
}

}  // namespace
}  // namespace slotcache::node::migration
