#include "common/byte_size.h"

#include "gtest/gtest.h"

namespace slotcache {
namespace {

TEST(ByteSizeTest, ParsesRedisUnitsCaseInsensitively) {
  EXPECT_EQ(*ParseByteSize("0"), 0u);
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("12b"), 12u);
  EXPECT_EQ(*ParseByteSize("1k"), 1000u);
  EXPECT_EQ(*ParseByteSize("1kb"), 1024u);
  EXPECT_EQ(*ParseByteSize("100mb"), 100u << 20);
  EXPECT_EQ(*ParseByteSize("100M"), 100000000u);
  EXPECT_EQ(*ParseByteSize("1GB"), 1u << 30);
  EXPECT_EQ(*ParseByteSize(" 2g "), 2000000000u);
}

TEST(ByteSizeTest, RefusesWhatIsNotASizeAndSaysWhatIsAccepted) {
  for (const char* bad : {"", "mb", "-1", "1.5gb", "12 parsecs", "1tb",
                          "99999999999999999999", "20000000000gb"}) {
    absl::StatusOr<uint64_t> parsed = ParseByteSize(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("100mb"), std::string::npos);
  }
}

TEST(ByteSizeTest, WorksAsAFlagType) {
  ByteSize size;
  std::string error;
  EXPECT_TRUE(AbslParseFlag("64kb", &size, &error));
  EXPECT_EQ(size.bytes, 65536u);
  EXPECT_EQ(AbslUnparseFlag(size), "65536");
  EXPECT_FALSE(AbslParseFlag("lots", &size, &error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace slotcache
