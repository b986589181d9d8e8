#include "node/commands/command_table.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace slotcache::node {
namespace {

v1::Command Cmd(std::initializer_list<std::string> words) {
  v1::Command c;
  auto it = words.begin();
  c.set_name(*it++);
  for (; it != words.end(); ++it) c.add_args(*it);
  return c;
}

std::vector<std::string> Keys(const v1::Command& c) {
  const CommandSpec* spec = FindCommand(c.name());
  EXPECT_NE(spec, nullptr);
  std::vector<std::string> out;
  for (absl::string_view k : CommandKeys(*spec, c)) out.emplace_back(k);
  return out;
}

TEST(CommandTableTest, FindsCommandsCaseInsensitively) {
  ASSERT_NE(FindCommand("get"), nullptr);
  EXPECT_EQ(FindCommand("GeT")->name, "GET");
  EXPECT_EQ(FindCommand("NOSUCH"), nullptr);
  EXPECT_EQ(FindCommand(""), nullptr);
  EXPECT_EQ(FindCommand(std::string(100, 'A')), nullptr);
}

TEST(CommandTableTest, HasEveryCommandOfTheIssueOnce) {
  const std::set<std::string> expected = {
      "GET",      "SET",       "GETEX",    "GETDEL",      "APPEND", "STRLEN",
      "DEL",      "UNLINK",    "EXISTS",   "TYPE",        "EXPIRE", "PEXPIRE",
      "EXPIREAT", "PEXPIREAT", "PERSIST",  "TTL",         "PTTL",   "MGET",
      "MSET",     "DBSIZE",    "FLUSHALL", "RANDOMKEY",   "SCAN",   "INCR",
      "DECR",     "INCRBY",    "DECRBY",   "INCRBYFLOAT", "HSET",   "HGET",
      "HMGET",    "HDEL",      "HGETALL",  "HINCRBY",     "HLEN",   "HEXISTS"};
  std::set<std::string> names;
  for (const CommandSpec& spec : AllCommands()) {
    EXPECT_TRUE(names.insert(std::string(spec.name)).second) << spec.name;
  }
  for (const std::string& name : expected) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
}

TEST(CommandTableTest, EveryCommandIsEitherReadOrWrite) {
  for (const CommandSpec& spec : AllCommands()) {
    const bool write = spec.flags & kWrite;
    const bool read = spec.flags & kReadOnly;
    EXPECT_NE(write, read) << spec.name;
    if (spec.flags & kDenyOom) {
      EXPECT_TRUE(write) << spec.name;
    }
    EXPECT_EQ((spec.flags & kNodeWide) != 0, spec.first_key < 0) << spec.name;
  }
}

TEST(CommandTableTest, WritesThatGrowMemoryDenyOomButDeletesDoNot) {
  EXPECT_TRUE(FindCommand("SET")->flags & kDenyOom);
  EXPECT_TRUE(FindCommand("HSET")->flags & kDenyOom);
  EXPECT_TRUE(FindCommand("APPEND")->flags & kDenyOom);
  EXPECT_FALSE(FindCommand("DEL")->flags & kDenyOom);
  EXPECT_FALSE(FindCommand("UNLINK")->flags & kDenyOom);
  EXPECT_FALSE(FindCommand("HDEL")->flags & kDenyOom);
  EXPECT_TRUE(FindCommand("GET")->flags & kReadOnly);
}

TEST(CommandTableTest, ChecksArity) {
  const CommandSpec& get = *FindCommand("GET");
  EXPECT_TRUE(HasValidArity(get, Cmd({"GET", "k"})));
  EXPECT_FALSE(HasValidArity(get, Cmd({"GET"})));
  EXPECT_FALSE(HasValidArity(get, Cmd({"GET", "a", "b"})));
  const CommandSpec& set = *FindCommand("SET");
  EXPECT_FALSE(HasValidArity(set, Cmd({"SET", "k"})));
  EXPECT_TRUE(HasValidArity(set, Cmd({"SET", "k", "v"})));
  EXPECT_TRUE(HasValidArity(set, Cmd({"SET", "k", "v", "EX", "10"})));
  EXPECT_TRUE(HasValidArity(*FindCommand("DBSIZE"), Cmd({"DBSIZE"})));
  EXPECT_FALSE(HasValidArity(*FindCommand("DBSIZE"), Cmd({"DBSIZE", "x"})));
}

TEST(CommandTableTest, ExtractsKeyPositions) {
  EXPECT_EQ(Keys(Cmd({"GET", "k"})), std::vector<std::string>{"k"});
  EXPECT_EQ(Keys(Cmd({"SET", "k", "v", "EX", "5"})),
            std::vector<std::string>{"k"});
  EXPECT_EQ(Keys(Cmd({"MSET", "a", "1", "b", "2"})),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Keys(Cmd({"DEL", "a", "b", "c"})),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Keys(Cmd({"HSET", "h", "f", "v"})), std::vector<std::string>{"h"});
  EXPECT_TRUE(Keys(Cmd({"DBSIZE"})).empty());
  EXPECT_TRUE(Keys(Cmd({"SCAN", "0"})).empty());
}

TEST(CommandTableTest, KeyExtractionNeverReadsPastTheArguments) {
  // Arity not checked: MSET with an odd tail and no args at all.
  EXPECT_EQ(Keys(Cmd({"MSET", "a", "1", "b"})),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(Keys(Cmd({"GET"})).empty());
  EXPECT_TRUE(Keys(Cmd({"DEL"})).empty());
}

}  // namespace
}  // namespace slotcache::node
