#include "node/server/dispatcher.h"

#include <string>

#include "common/slot.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "node/cluster/cluster_state.h"
#include "node/commands/executor.h"
#include "node/storage/store.h"

namespace slotcache::node {
namespace {

v1::Command Cmd(std::initializer_list<std::string> words) {
  v1::Command command;
  auto it = words.begin();
  command.set_name(*it++);
  for (; it != words.end(); ++it) command.add_args(*it);
  return command;
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest()
      : executor_(&store_),
        cluster_({"n1", "127.0.0.1:1", "az-a"}, {}),
        dispatcher_(&executor_, Limits()) {}

  static RequestLimits Limits() {
    RequestLimits limits;
    limits.max_key_bytes = 8;
    limits.max_value_bytes = 16;
    limits.max_batch_commands = 3;
    limits.max_message_bytes = 1000;
    return limits;
  }

  v1::Reply Run(const v1::Command& command, bool allow_replica_read = false) {
    v1::Reply reply;
    dispatcher_.Dispatch(command, cluster_.View(allow_replica_read), &reply);
    return reply;
  }

  storage::Store store_;
  CommandExecutor executor_;
  ClusterState cluster_;
  Dispatcher dispatcher_;
};

TEST_F(DispatcherTest, RunsAdmittedCommandsOnTheExecutor) {
  EXPECT_EQ(Run(Cmd({"SET", "k", "v"})).value().status(), "OK");
  EXPECT_EQ(Run(Cmd({"get", "k"})).value().bulk(), "v");
}

TEST_F(DispatcherTest, UnknownCommandAndBadArityAreInvalidArgument) {
  v1::Reply unknown = Run(Cmd({"FROBNICATE", "k"}));
  EXPECT_EQ(unknown.error().code(), v1::INVALID_ARGUMENT);
  EXPECT_NE(unknown.error().message().find("FROBNICATE"), std::string::npos);
  v1::Reply arity = Run(Cmd({"GET", "a", "b"}));
  EXPECT_EQ(arity.error().code(), v1::INVALID_ARGUMENT);
  EXPECT_NE(arity.error().message().find("wrong number of arguments"),
            std::string::npos);
}

TEST_F(DispatcherTest, KeysAndValuesAreCheckedAgainstTheirOwnLimits) {
  // 12 bytes: too long for a key (8), fine for a value (16).
  std::string twelve(12, 'x');
  v1::Reply key = Run(Cmd({"SET", twelve, "v"}));
  EXPECT_EQ(key.error().code(), v1::INVALID_ARGUMENT);
  EXPECT_NE(key.error().message().find("max_key_bytes"), std::string::npos);
  EXPECT_EQ(Run(Cmd({"SET", "k", twelve})).value().status(), "OK");

  v1::Reply value = Run(Cmd({"SET", "k2", std::string(17, 'v')}));
  EXPECT_EQ(value.error().code(), v1::INVALID_ARGUMENT);
  EXPECT_NE(value.error().message().find("max_value_bytes"), std::string::npos);
  // MSET alternates keys and values: positions decide which limit applies.
  EXPECT_EQ(Run(Cmd({"MSET", "{a}1", twelve, "{a}2", twelve})).value().status(),
            "OK");
  EXPECT_EQ(Run(Cmd({"MSET", "{a}1", "v", twelve, "v"})).error().code(),
            v1::INVALID_ARGUMENT);
  EXPECT_TRUE(Run(Cmd({"GET", "k2"})).value().nil());
}

TEST_F(DispatcherTest, StandaloneRunsMultiKeyCommandsAcrossSlots) {
  // Like a single Redis with cluster mode disabled.
  ASSERT_NE(KeySlot("a"), KeySlot("b"));
  EXPECT_EQ(Run(Cmd({"MSET", "a", "1", "b", "2"})).value().status(), "OK");
  EXPECT_EQ(Run(Cmd({"GET", "b"})).value().bulk(), "2");
  EXPECT_EQ(Run(Cmd({"DEL", "a", "b", "c"})).value().integer(), 2);
}

TEST_F(DispatcherTest, ClusterModeMultiKeyCommandsNeedOneSlot) {
  v1::ClusterMap map;
  map.set_version(1);
  v1::NodeInfo* self = map.add_nodes();
  self->set_node_id("n1");
  self->set_address("127.0.0.1:1");
  v1::ShardInfo* shard = map.add_shards();
  shard->set_shard_id("s1");
  shard->add_slots()->set_end(kNumSlots - 1);
  shard->set_primary_node_id("n1");
  shard->set_config_epoch(1);
  ASSERT_TRUE(cluster_.Apply(map).ok());

  ASSERT_NE(KeySlot("a"), KeySlot("b"));
  EXPECT_EQ(Run(Cmd({"MSET", "a", "1", "b", "2"})).error().code(),
            v1::CROSSSLOT);
  EXPECT_EQ(Run(Cmd({"MGET", "a", "b"})).error().code(), v1::CROSSSLOT);
  EXPECT_EQ(Run(Cmd({"MGET", "{t}a", "{t}b"})).value().array().values_size(),
            2);
}

TEST_F(DispatcherTest, RoutesThroughTheClusterMap) {
  v1::ClusterMap map;
  map.set_version(1);
  v1::NodeInfo* other = map.add_nodes();
  other->set_node_id("n2");
  other->set_address("127.0.0.1:2");
  v1::ShardInfo* shard = map.add_shards();
  shard->set_shard_id("s2");
  shard->add_slots()->set_end(kNumSlots - 1);
  shard->set_primary_node_id("n2");
  shard->set_config_epoch(3);
  ASSERT_TRUE(cluster_.Apply(map).ok());

  v1::Reply moved = Run(Cmd({"GET", "k"}));
  EXPECT_EQ(moved.error().code(), v1::MOVED);
  EXPECT_EQ(moved.error().redirect().address(), "127.0.0.1:2");
  EXPECT_EQ(moved.error().redirect().config_epoch(), 3u);
  EXPECT_EQ(Run(Cmd({"PING"})).value().status(), "PONG");
  EXPECT_FALSE(Run(Cmd({"DBSIZE"})).has_error());
}

TEST_F(DispatcherTest, ErrorTextsQuotingClientBytesStayValidUtf8) {
  // A proto3 string must be UTF-8, or gRPC cannot send the response.
  v1::Reply reply = Run(Cmd({"INCRBY", "k", std::string("\xff\xfe", 2)}));
  ASSERT_TRUE(reply.has_error());
  std::string wire;
  EXPECT_TRUE(reply.SerializeToString(&wire));
  v1::Reply parsed;
  EXPECT_TRUE(parsed.ParseFromString(wire)) << reply.error().message();
  // Valid UTF-8 (here: "é") is left alone.
  v1::Reply utf8 = Run(Cmd({"INCRBY", "k", "\xc3\xa9"}));
  ASSERT_TRUE(utf8.has_error());
  EXPECT_TRUE(parsed.ParseFromString(utf8.SerializeAsString()));
}

TEST_F(DispatcherTest, RequestLimitsNameTheLimit) {
  EXPECT_TRUE(dispatcher_.CheckRequest(1000, 3).ok());
  absl::Status big = dispatcher_.CheckRequest(1001, 1);
  EXPECT_EQ(ErrorCodeOf(big), v1::INVALID_ARGUMENT);
  EXPECT_NE(big.message().find("max_message_bytes"), std::string::npos);
  absl::Status many = dispatcher_.CheckRequest(10, 4);
  EXPECT_EQ(ErrorCodeOf(many), v1::INVALID_ARGUMENT);
  EXPECT_NE(many.message().find("max_batch_commands"), std::string::npos);
}

}  // namespace
}  // namespace slotcache::node
