#include "common/slot.h"

#include "gtest/gtest.h"

namespace slotcache {
namespace {

TEST(Crc16Test, MatchesXmodemCheckValue) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
}

TEST(Crc16Test, EmptyInputIsZero) { EXPECT_EQ(Crc16(""), 0); }

TEST(KeySlotTest, MatchesRedisClusterVectors) {
  EXPECT_EQ(KeySlot("foo"), 12182u);
  EXPECT_EQ(KeySlot("bar"), 5061u);
  EXPECT_EQ(KeySlot("123456789"), 0x31C3u);
  EXPECT_EQ(KeySlot(""), 0u);
}

TEST(KeySlotTest, HashTagsShareASlot) {
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
}

TEST(KeySlotTest, EmptyOrUnclosedBracesDoNotMakeATag) {
  EXPECT_EQ(HashTag("{}"), "{}");
  EXPECT_EQ(HashTag("{"), "{");
  EXPECT_EQ(HashTag("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(KeySlot("{}"), Crc16("{}") % kNumSlots);
  EXPECT_EQ(KeySlot("{"), Crc16("{") % kNumSlots);
}

TEST(KeySlotTest, OnlyTheFirstTagCounts) {
  EXPECT_EQ(HashTag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(HashTag("foo{bar}{zap}"), "bar");
}

TEST(KeySlotTest, BinaryKeysAreHashedWhole) {
  std::string key("a\0b", 3);
  EXPECT_EQ(KeySlot(key), Crc16(key) % kNumSlots);
  EXPECT_LT(KeySlot(key), kNumSlots);
}

}  // namespace
}  // namespace slotcache
