#include "node/resp/reply_writer.h"

#include <string>

#include "common/status.h"
#include "gtest/gtest.h"

namespace slotcache::node::resp {
namespace {

v1::Value Bulk(const std::string& s) {
  v1::Value v;
  v.set_bulk(s);
  return v;
}

std::string Encode(const v1::Value& value, int protocol, bool as_map = false) {
  std::string out;
  ReplyWriter(&out, protocol).Value(value, as_map);
  return out;
}

TEST(ReplyWriterTest, EncodesScalarsInResp2) {
  v1::Value v;
  v.set_status("OK");
  EXPECT_EQ(Encode(v, 2), "+OK\r\n");
  v.set_integer(-42);
  EXPECT_EQ(Encode(v, 2), ":-42\r\n");
  EXPECT_EQ(Encode(Bulk(std::string("a\0\r\n", 4)), 2),
            std::string("$4\r\na\0\r\n\r\n", 10));
  v.set_nil(true);
  EXPECT_EQ(Encode(v, 2), "$-1\r\n");
  EXPECT_EQ(Encode(v, 3), "_\r\n");
}

TEST(ReplyWriterTest, NestedArraysAndMaps) {
  v1::Value v;
  *v.mutable_array()->add_values() = Bulk("f");
  *v.mutable_array()->add_values() = Bulk("v");
  EXPECT_EQ(Encode(v, 2, true), "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
  EXPECT_EQ(Encode(v, 3, true), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
  EXPECT_EQ(Encode(v, 3, false), "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
  v1::Value outer;
  *outer.mutable_array()->add_values() = Bulk("0");
  *outer.mutable_array()->add_values() = v;
  EXPECT_EQ(Encode(outer, 3), "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
}

TEST(ReplyWriterTest, Resp3TypesFallBackInResp2) {
  std::string out2, out3;
  ReplyWriter w2(&out2, 2), w3(&out3, 3);
  for (ReplyWriter* w : {&w2, &w3}) {
    w->Double(1.5);
    w->Boolean(true);
    w->SetHeader(0);
    w->Verbatim("hi");
    w->MapHeader(1);
  }
  EXPECT_EQ(out2, "$3\r\n1.5\r\n:1\r\n*0\r\n$2\r\nhi\r\n*2\r\n");
  EXPECT_EQ(out3, ",1.5\r\n#t\r\n~0\r\n=6\r\ntxt:hi\r\n%1\r\n");
}

TEST(ReplyWriterTest, ErrorLinesCannotBreakFraming) {
  std::string out;
  ReplyWriter(&out, 2).Error("ERR bad\r\nvalue");
  EXPECT_EQ(out, "-ERR bad  value\r\n");
}

TEST(RedisErrorLineTest, TypedErrorsBecomeRedisLines) {
  EXPECT_EQ(RedisErrorLine(ErrorOf(MovedError(3999, "10.0.0.1:7001", "n1", 5)),
                           "10.0.0.1:6379"),
            "MOVED 3999 10.0.0.1:6379");
  EXPECT_EQ(
      RedisErrorLine(ErrorOf(MovedError(3999, "10.0.0.1:7001", "n1", 5)), ""),
      "MOVED 3999 10.0.0.1:7001");
  EXPECT_EQ(RedisErrorLine(ErrorOf(AskError(7, "h:1", "n1", 5)), "h:2"),
            "ASK 7 h:2");
  EXPECT_EQ(
      RedisErrorLine(ErrorOf(WrongTypeError()), ""),
      "WRONGTYPE Operation against a key holding the wrong kind of value");
  EXPECT_EQ(RedisErrorLine(ErrorOf(CrossSlotError("CROSSSLOT keys ...")), ""),
            "CROSSSLOT Keys in request don't hash to the same slot");
  EXPECT_EQ(RedisErrorLine(ErrorOf(ReadOnlyError("h:1")), ""),
            "READONLY You can't write against a read only replica.");
  EXPECT_EQ(RedisErrorLine(ErrorOf(OomError("full")), ""),
            "OOM command not allowed when used memory > 'maxmemory'.");
  EXPECT_EQ(
      RedisErrorLine(ErrorOf(ClusterDownError("slot 5 is not served")), ""),
      "CLUSTERDOWN slot 5 is not served");
  EXPECT_EQ(RedisErrorLine(ErrorOf(TryAgainError("paused", 10)), ""),
            "TRYAGAIN paused");
  EXPECT_EQ(
      RedisErrorLine(ErrorOf(InvalidInputError("ERR unknown command")), ""),
      "ERR unknown command");
  EXPECT_EQ(RedisErrorLine(ErrorOf(RangeError("value is not an integer")), ""),
            "ERR value is not an integer");
}

}  // namespace
}  // namespace slotcache::node::resp
