#include "node/migration/slot_dropper.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"

namespace slotcache::node::migration {
namespace {

using slotcache::testing::PollUntil;

// Shard s1 (this node, primary) owns [0, split), s2 the rest.
v1::ClusterMap Map(uint64_t version, uint32_t split) {
  v1::ClusterMap map;
  map.set_version(version);
  for (const char* id : {"a", "b"}) {
    v1::NodeInfo* node = map.add_nodes();
    node->set_node_id(id);
    node->set_address(absl::StrCat(id, ":1"));
  }
  v1::ShardInfo* s1 = map.add_shards();
  s1->set_shard_id("s1");
  s1->set_primary_node_id("a");
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

}  // namespace
}  // namespace slotcache::node::migration
