#include "tests/bench/failover_probe/resp.h"

#include "gtest/gtest.h"

namespace slotcache::bench {
namespace {

TEST(RespTest, EncodesCommandAsArrayOfBulkStrings) {
  EXPECT_EQ(EncodeCommand({"SET", "k", ""}),
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(RespTest, ParsesEachReplyTypeAndReportsBytesUsed) {
  RespValue v;
  EXPECT_EQ(*ParseReply("+OK\r\nrest", &v), 5u);
  EXPECT_EQ(v.type, RespValue::Type::kSimpleString);
  EXPECT_EQ(v.text, "OK");
  EXPECT_EQ(*ParseReply("-CLUSTERDOWN The cluster is down\r\n", &v), 34u);
  EXPECT_EQ(v.type, RespValue::Type::kError);
  EXPECT_EQ(v.text, "CLUSTERDOWN The cluster is down");
  EXPECT_EQ(*ParseReply(":-42\r\n", &v), 6u);
  EXPECT_EQ(v.integer, -42);
  EXPECT_EQ(*ParseReply("$5\r\na\r\nbc\r\n", &v), 11u);
  EXPECT_EQ(v.text, "a\r\nbc");
  EXPECT_EQ(*ParseReply("$-1\r\n", &v), 5u);
  EXPECT_EQ(v.type, RespValue::Type::kNull);
}

TEST(RespTest, IncompleteReplyNeedsMoreBytes) {
  RespValue v;
  EXPECT_EQ(*ParseReply("+OK", &v), 0u);
  EXPECT_EQ(*ParseReply("$5\r\nab", &v), 0u);
  EXPECT_EQ(*ParseReply("*2\r\n:1\r\n", &v), 0u);
}

TEST(RespTest, MalformedReplyIsAnError) {
  RespValue v;
  EXPECT_FALSE(ParseReply("?x\r\n", &v).ok());
  EXPECT_FALSE(ParseReply(":abc\r\n", &v).ok());
  EXPECT_FALSE(ParseReply("$-7\r\n", &v).ok());
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "*1\r\n";
  EXPECT_FALSE(ParseReply(deep + ":1\r\n", &v).ok());
}

TEST(RespTest, ParsesMovedAndAskRedirects) {
  std::optional<Redirect> moved = ParseRedirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved.has_value());
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999u);
  EXPECT_EQ(moved->address, "127.0.0.1:6381");
  std::optional<Redirect> ask = ParseRedirect("ASK 1 127.0.0.1:7000");
  ASSERT_TRUE(ask.has_value());
  EXPECT_TRUE(ask->ask);
  EXPECT_FALSE(ParseRedirect("CLUSTERDOWN Hash slot not served").has_value());
  EXPECT_FALSE(ParseRedirect("MOVED 16384 127.0.0.1:1").has_value());
  EXPECT_FALSE(ParseRedirect("MOVED 1 nohostport").has_value());
}

TEST(RespTest, ParsesClusterSlotsPrimaries) {
  const std::string reply =
      "*2\r\n"
      "*4\r\n:0\r\n:5460\r\n"
      "*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$3\r\nid1\r\n"
      "*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n$3\r\nid4\r\n"
      "*3\r\n:5461\r\n:16383\r\n"
      "*3\r\n$9\r\n127.0.0.1\r\n:7002\r\n$3\r\nid2\r\n";
  RespValue v;
  ASSERT_EQ(*ParseReply(reply, &v), reply.size());
  absl::StatusOr<std::vector<SlotOwner>> owners = ParseClusterSlots(v);
  ASSERT_TRUE(owners.ok()) << owners.status();
  ASSERT_EQ(owners->size(), 2u);
  EXPECT_EQ((*owners)[0].first, 0u);
  EXPECT_EQ((*owners)[0].last, 5460u);
  EXPECT_EQ((*owners)[0].primary, "127.0.0.1:7001");
  EXPECT_EQ((*owners)[1].primary, "127.0.0.1:7002");
}

TEST(RespTest, RefusesMalformedClusterSlots) {
  RespValue v;
  ASSERT_TRUE(
      ParseReply("*1\r\n*3\r\n:9\r\n:2\r\n*2\r\n$1\r\nh\r\n:1\r\n", &v).ok());
  EXPECT_FALSE(ParseClusterSlots(v).ok());
  ASSERT_TRUE(ParseReply("+OK\r\n", &v).ok());
  EXPECT_FALSE(ParseClusterSlots(v).ok());
}

}  // namespace
}  // namespace slotcache::bench
