#include "coordinator/rocksdb_state_store.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace slotcache::coordinator {
namespace {

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
}

TEST(RocksDbStateStoreTest, WritesSurviveReopen) {
  const std::string dir = FreshDir("reopen");
  {
    auto store = OpenRocksDbStateStore(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    StateUpdate update;
    update.meta.emplace();
    update.meta->set_cluster_id("c1");
    update.meta->set_map_version(7);
    update.meta->set_max_config_epoch(3);
    v1::NodeInfo& node = update.nodes.emplace_back();
    node.set_node_id("n1");
    node.set_address("127.0.0.1:1");
    node.set_az("a");
    v1::ShardInfo& shard = update.shards.emplace_back();
    shard.set_shard_id("shard-1");
    shard.set_config_epoch(3);
    shard.add_slots()->set_end(16383);
    for (int i = 1; i <= 12; ++i) {
      v1::Operation& op = update.operations.emplace_back();
      op.set_id(absl::StrCat("op-", i));
    }
    for (int i = 1; i <= 3; ++i) {
      v1::Event& event = update.events.emplace_back();
      event.set_seq(i);
      event.set_kind(absl::StrCat("k", i));
    }
    ASSERT_TRUE((*store)->Write(update).ok());
  }
  auto store = OpenRocksDbStateStore(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  auto state = (*store)->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->meta.cluster_id(), "c1");
  EXPECT_EQ(state->meta.map_version(), 7u);
  EXPECT_EQ(state->meta.max_config_epoch(), 3u);
  ASSERT_EQ(state->nodes.size(), 1u);
  EXPECT_EQ(state->nodes[0].address(), "127.0.0.1:1");
  ASSERT_EQ(state->shards.size(), 1u);
  EXPECT_EQ(state->shards[0].config_epoch(), 3u);
  EXPECT_EQ(state->shards[0].slots(0).end(), 16383u);
  ASSERT_EQ(state->operations.size(), 12u);
  EXPECT_EQ(state->operations[1].id(), "op-2") << "numeric, not byte, order";
  EXPECT_EQ(state->operations[11].id(), "op-12");

  auto events = (*store)->ReadEvents(1, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].kind(), "k2");
  auto limited = (*store)->ReadEvents(0, 1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].seq(), 1u);
}

TEST(RocksDbStateStoreTest, UpsertReplacesRecordById) {
  auto store = OpenRocksDbStateStore(FreshDir("upsert"));
  ASSERT_TRUE(store.ok());
  for (const char* address : {"127.0.0.1:1", "127.0.0.1:2"}) {
    StateUpdate update;
    v1::NodeInfo& node = update.nodes.emplace_back();
    node.set_node_id("n1");
    node.set_address(address);
    ASSERT_TRUE((*store)->Write(update).ok());
  }
  auto state = (*store)->Load();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->nodes.size(), 1u);
  EXPECT_EQ(state->nodes[0].address(), "127.0.0.1:2");
}

TEST(RocksDbStateStoreTest, SecondOpenOfTheSameFolderFailsClearly) {
  const std::string dir = FreshDir("locked");
  auto first = OpenRocksDbStateStore(dir);
  ASSERT_TRUE(first.ok());
  auto second = OpenRocksDbStateStore(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("no other coordinator"),
            std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace slotcache::coordinator
