#include "common/glob.h"

#include "gtest/gtest.h"

namespace slotcache {
namespace {

TEST(GlobMatchTest, StarAndQuestionMark) {
  EXPECT_TRUE(GlobMatch("user:*", "user:42"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("h?llo", "hello"));
  EXPECT_FALSE(GlobMatch("h?llo", "hllo"));
  EXPECT_TRUE(GlobMatch("*max*", "maxmemory-policy"));
  EXPECT_FALSE(GlobMatch("user:*", "session:1"));
}

TEST(GlobMatchTest, ClassesRangesAndEscapes) {
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(GlobMatch("a\\*b", "a*b"));
  EXPECT_FALSE(GlobMatch("a\\*b", "axb"));
}

TEST(GlobMatchTest, IsCaseSensitive) {
  EXPECT_FALSE(GlobMatch("MAX*", "maxmemory"));
}

}  // namespace
}  // namespace slotcache
