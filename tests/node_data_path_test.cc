// Every operation family of a real slotcache-node, over each of the three
// data-plane paths (Execute, Batch, Pipeline), with the raw gRPC stubs.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/node_test_client.h"

namespace slotcache {
namespace {

using testing::Cmd;
using testing::NodeUnderTest;
using testing::Path;
using testing::ReplyText;

v1::Value Bulk(const std::string& bytes) {
  v1::Value value;
  value.set_bulk(bytes);
  return value;
}
v1::Value Int(int64_t n) {
  v1::Value value;
  value.set_integer(n);
  return value;
}
v1::Value Status(const std::string& text) {
  v1::Value value;
  value.set_status(text);
  return value;
}
v1::Value Nil() {
  v1::Value value;
  value.set_nil(true);
  return value;
}

MATCHER_P(HasValue, expected, "") {
  if (arg.has_error()) {
    *result_listener << "error " << arg.error().ShortDebugString();
    return false;
  }
  if (arg.value().SerializeAsString() != expected.SerializeAsString()) {
    *result_listener << "value " << arg.value().ShortDebugString();
    return false;
  }
  return true;
}

MATCHER_P(HasErrorCode, code, "") {
  if (!arg.has_error() || arg.error().code() != code) {
    *result_listener << ReplyText(arg);
    return false;
  }
  return true;
}

class NodeDataPathTest : public ::testing::TestWithParam<Path> {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<NodeUnderTest>> started =
        NodeUnderTest::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    node_ = started->release();
  }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }

  // A key unique to this test and path, sharing `tag`'s slot when given.
  std::string Key(const std::string& name, const std::string& tag = "") {
    const ::testing::TestInfo* info =
        ::testing::UnitTest::GetInstance()->current_test_info();
    std::string base = absl::StrCat(info->name(), ".", name);
    return tag.empty() ? base : absl::StrCat("{", tag, "}", base);
  }

  // Runs `commands` on the test's path and checks that replies come back one
  // per command.
  std::vector<v1::Reply> Run(const std::vector<v1::Command>& commands) {
    absl::StatusOr<std::vector<v1::Reply>> replies =
        node_->Run(GetParam(), commands);
    EXPECT_TRUE(replies.ok()) << replies.status();
    if (!replies.ok()) return {};
    EXPECT_EQ(replies->size(), commands.size());
    replies->resize(commands.size());
    return *replies;
  }

  static NodeUnderTest* node_;
};

NodeUnderTest* NodeDataPathTest::node_ = nullptr;

TEST_P(NodeDataPathTest, StringsSetGetAppendAndDelete) {
  std::string k = Key("k");
  std::vector<v1::Reply> r = Run({
      Cmd({"SET", k, "hello"}),          // 0
      Cmd({"GET", k}),                   // 1
      Cmd({"APPEND", k, " world"}),      // 2
      Cmd({"STRLEN", k}),                // 3
      Cmd({"SET", k, "x", "NX"}),        // 4: not written
      Cmd({"GETDEL", k}),                // 5
      Cmd({"GET", k}),                   // 6
      Cmd({"EXISTS", k}),                // 7
      Cmd({"set", k, "lower-case ok"}),  // 8
      Cmd({"GET", k}),                   // 9
      Cmd({"DEL", k}),                   // 10
  });
  EXPECT_THAT(r[0], HasValue(Status("OK")));
  EXPECT_THAT(r[1], HasValue(Bulk("hello")));
  EXPECT_THAT(r[2], HasValue(Int(11)));
  EXPECT_THAT(r[3], HasValue(Int(11)));
  EXPECT_THAT(r[4], HasValue(Nil()));
  EXPECT_THAT(r[5], HasValue(Bulk("hello world")));
  EXPECT_THAT(r[6], HasValue(Nil()));
  EXPECT_THAT(r[7], HasValue(Int(0)));
  EXPECT_THAT(r[8], HasValue(Status("OK")));
  EXPECT_THAT(r[9], HasValue(Bulk("lower-case ok")));
  EXPECT_THAT(r[10], HasValue(Int(1)));
}

TEST_P(NodeDataPathTest, BinaryValuesRoundTrip) {
  std::string k = Key("bin");
  std::string value("\0\xff\x01zero\0", 8);
  std::vector<v1::Reply> r = Run({Cmd({"SET", k, value}), Cmd({"GET", k})});
  EXPECT_THAT(r[1], HasValue(Bulk(value)));
}

TEST_P(NodeDataPathTest, MultiKeyCommandsWithinOneSlot) {
  std::string a = Key("a", "t"), b = Key("b", "t"), c = Key("c", "t");
  std::vector<v1::Reply> r = Run({
      Cmd({"MSET", a, "1", b, "2"}),
      Cmd({"MGET", a, b, c}),
      Cmd({"DEL", a, b, c}),
  });
  EXPECT_THAT(r[0], HasValue(Status("OK")));
  v1::Value mget;
  *mget.mutable_array()->add_values() = Bulk("1");
  *mget.mutable_array()->add_values() = Bulk("2");
  *mget.mutable_array()->add_values() = Nil();
  EXPECT_THAT(r[1], HasValue(mget));
  EXPECT_THAT(r[2], HasValue(Int(2)));
}

TEST_P(NodeDataPathTest, CountersIncrementAndDecrement) {
  std::string k = Key("n"), f = Key("f");
  std::vector<v1::Reply> r = Run({
      Cmd({"INCR", k}),
      Cmd({"INCRBY", k, "41"}),
      Cmd({"DECR", k}),
      Cmd({"DECRBY", k, "10"}),
      Cmd({"GET", k}),
      Cmd({"INCRBYFLOAT", f, "1.5"}),
      Cmd({"SET", f, "not a number"}),
      Cmd({"INCR", f}),
  });
  EXPECT_THAT(r[0], HasValue(Int(1)));
  EXPECT_THAT(r[1], HasValue(Int(42)));
  EXPECT_THAT(r[2], HasValue(Int(41)));
  EXPECT_THAT(r[3], HasValue(Int(31)));
  EXPECT_THAT(r[4], HasValue(Bulk("31")));
  EXPECT_THAT(r[5], HasValue(Bulk("1.5")));
  EXPECT_THAT(r[7], HasErrorCode(v1::OUT_OF_RANGE));
}

TEST_P(NodeDataPathTest, KeysExpireAndPersist) {
  std::string k = Key("ttl");
  std::vector<v1::Reply> r = Run({
      Cmd({"SET", k, "v", "EX", "100"}),  // 0
      Cmd({"TTL", k}),                    // 1
      Cmd({"PERSIST", k}),                // 2
      Cmd({"TTL", k}),                    // 3
      Cmd({"EXPIRE", k, "50"}),           // 4
      Cmd({"TYPE", k}),                   // 5
      Cmd({"PEXPIRE", k, "1"}),           // 6
  });
  ASSERT_FALSE(r[1].has_error()) << ReplyText(r[1]);
  EXPECT_GT(r[1].value().integer(), 90);
  EXPECT_LE(r[1].value().integer(), 100);
  EXPECT_THAT(r[2], HasValue(Int(1)));
  EXPECT_THAT(r[3], HasValue(Int(-1)));
  EXPECT_THAT(r[4], HasValue(Int(1)));
  EXPECT_THAT(r[5], HasValue(Status("string")));
  EXPECT_THAT(r[6], HasValue(Int(1)));
  // Expired keys read as missing (lazy expiry), without any fixed sleep.
  ASSERT_TRUE(testing::PollUntil(
                  [&] {
                    return node_->Run1(GetParam(), Cmd({"EXISTS", k}))
                               .value()
                               .integer() == 0;
                  },
                  absl::Seconds(10), "key to expire")
                  .ok());
  EXPECT_THAT(node_->Run1(GetParam(), Cmd({"TTL", k})), HasValue(Int(-2)));
}

TEST_P(NodeDataPathTest, HashesHoldFields) {
  std::string h = Key("h");
  std::vector<v1::Reply> r = Run({
      Cmd({"HSET", h, "name", "ada", "lang", "c++"}),  // 0
      Cmd({"HGET", h, "name"}),                        // 1
      Cmd({"HMGET", h, "lang", "nope"}),               // 2
      Cmd({"HINCRBY", h, "visits", "3"}),              // 3
      Cmd({"HLEN", h}),                                // 4
      Cmd({"HEXISTS", h, "lang"}),                     // 5
      Cmd({"HDEL", h, "lang", "nope"}),                // 6
      Cmd({"HGETALL", h}),                             // 7
      Cmd({"TYPE", h}),                                // 8
  });
  EXPECT_THAT(r[0], HasValue(Int(2)));
  EXPECT_THAT(r[1], HasValue(Bulk("ada")));
  v1::Value hmget;
  *hmget.mutable_array()->add_values() = Bulk("c++");
  *hmget.mutable_array()->add_values() = Nil();
  EXPECT_THAT(r[2], HasValue(hmget));
  EXPECT_THAT(r[3], HasValue(Int(3)));
  EXPECT_THAT(r[4], HasValue(Int(3)));
  EXPECT_THAT(r[5], HasValue(Int(1)));
  EXPECT_THAT(r[6], HasValue(Int(1)));
  ASSERT_FALSE(r[7].has_error()) << ReplyText(r[7]);
  EXPECT_EQ(r[7].value().array().values_size(), 4) << ReplyText(r[7]);
  EXPECT_THAT(r[8], HasValue(Status("hash")));
}

TEST_P(NodeDataPathTest, NodeWideCommandsAndPing) {
  std::vector<v1::Reply> r = Run({
      Cmd({"PING"}),
      Cmd({"SET", Key("x"), "1"}),
      Cmd({"DBSIZE"}),
      Cmd({"SCAN", "0", "MATCH", Key("*"), "COUNT", "1000"}),
  });
  EXPECT_THAT(r[0], HasValue(Status("PONG")));
  ASSERT_FALSE(r[2].has_error()) << ReplyText(r[2]);
  EXPECT_GE(r[2].value().integer(), 1);
  ASSERT_FALSE(r[3].has_error()) << ReplyText(r[3]);
  EXPECT_EQ(r[3].value().array().values_size(), 2) << ReplyText(r[3]);
}

TEST_P(NodeDataPathTest, ErrorsAreRepliedPerCommandAndTheRestRuns) {
  std::string k = Key("k");
  std::vector<v1::Reply> r = Run({
      Cmd({"SET", k, "v"}),
      Cmd({"NOSUCHCOMMAND", k}),
      Cmd({"GET"}),
      Cmd({"HGET", k, "field"}),
      Cmd({"GET", k}),
  });
  EXPECT_THAT(r[0], HasValue(Status("OK")));
  EXPECT_THAT(r[1], HasErrorCode(v1::INVALID_ARGUMENT));
  EXPECT_NE(r[1].error().message().find("unknown command"), std::string::npos)
      << ReplyText(r[1]);
  EXPECT_THAT(r[2], HasErrorCode(v1::INVALID_ARGUMENT));
  EXPECT_NE(r[2].error().message().find("wrong number of arguments"),
            std::string::npos)
      << ReplyText(r[2]);
  EXPECT_THAT(r[3], HasErrorCode(v1::WRONGTYPE));
  EXPECT_THAT(r[4], HasValue(Bulk("v")));
}

// A standalone node is like a single Redis (cluster mode disabled);
// CROSSSLOT is cluster mode's rule (node/server/dispatcher_test.cc).
TEST_P(NodeDataPathTest, StandaloneNodeRunsMultiKeyCommandsAcrossSlots) {
  ASSERT_NE(KeySlot(Key("a")), KeySlot(Key("b")));
  std::vector<v1::Reply> r = Run({
      Cmd({"MSET", Key("a"), "1", Key("b"), "2"}),
      Cmd({"GET", Key("b")}),
      Cmd({"DEL", Key("a"), Key("b")}),
  });
  EXPECT_THAT(r[0], HasValue(Status("OK")));
  EXPECT_THAT(r[1], HasValue(Bulk("2")));
  EXPECT_THAT(r[2], HasValue(Int(2)));
}

TEST_P(NodeDataPathTest, ExpiryVariantsUnlinkAndRandomKey) {
  std::string k = Key("k"), gone = Key("gone", "u"),
              absent = Key("absent", "u");
  std::string far_future = "4102444800";  // 2100-01-01, in seconds.
  std::vector<v1::Reply> r = Run({
      Cmd({"SET", k, "v"}),                       // 0
      Cmd({"GETEX", k, "EX", "100"}),             // 1
      Cmd({"PTTL", k}),                           // 2
      Cmd({"EXPIREAT", k, far_future}),           // 3
      Cmd({"PEXPIREAT", k, far_future + "000"}),  // 4
      Cmd({"RANDOMKEY"}),                         // 5
      Cmd({"SET", gone, "x"}),                    // 6
      Cmd({"UNLINK", gone, absent}),              // 7
      Cmd({"GETEX", gone}),                       // 8
      Cmd({"PING", "echo me"}),                   // 9
  });
  EXPECT_THAT(r[1], HasValue(Bulk("v")));
  ASSERT_FALSE(r[2].has_error()) << ReplyText(r[2]);
  EXPECT_GT(r[2].value().integer(), 90000);
  EXPECT_THAT(r[3], HasValue(Int(1)));
  EXPECT_THAT(r[4], HasValue(Int(1)));
  ASSERT_FALSE(r[5].has_error()) << ReplyText(r[5]);
  EXPECT_FALSE(r[5].value().bulk().empty()) << ReplyText(r[5]);
  EXPECT_THAT(r[7], HasValue(Int(1)));
  EXPECT_THAT(r[8], HasValue(Nil()));
  EXPECT_THAT(r[9], HasValue(Bulk("echo me")));
}

// FLUSHALL empties the node, so it runs on a node of its own.
TEST_P(NodeDataPathTest, FlushAllEmptiesTheNode) {
  absl::StatusOr<std::unique_ptr<NodeUnderTest>> node = NodeUnderTest::Start();
  ASSERT_TRUE(node.ok()) << node.status();
  absl::StatusOr<std::vector<v1::Reply>> r = (*node)->Run(
      GetParam(), {Cmd({"SET", "a", "1"}), Cmd({"HSET", "h", "f", "v"}),
                   Cmd({"FLUSHALL"}), Cmd({"DBSIZE"}), Cmd({"RANDOMKEY"})});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_THAT((*r)[2], HasValue(Status("OK")));
  EXPECT_THAT((*r)[3], HasValue(Int(0)));
  EXPECT_THAT((*r)[4], HasValue(Nil()));
}

INSTANTIATE_TEST_SUITE_P(Paths, NodeDataPathTest,
                         ::testing::Values(Path::kExecute, Path::kBatch,
                                           Path::kPipeline),
                         [](const ::testing::TestParamInfo<Path>& info) {
                           return testing::PathName(info.param);
                         });

}  // namespace
}  // namespace slotcache
