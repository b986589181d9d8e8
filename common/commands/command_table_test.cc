#include "common/commands/command_table.h"

#include <set>
#include <string>

#include "common/status.h"
#include "gtest/gtest.h"

namespace slotcache {
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

TEST(CommandTableTest, KeyPositionsMatchCommandKeysWithoutAllocating) {
  const KeyPositions mset = KeyPositionsOf(*FindCommand("MSET"), 4);
  EXPECT_EQ(mset.first, 0);
  EXPECT_EQ(mset.last, 3);
  EXPECT_EQ(mset.size(), 2);
  EXPECT_TRUE(mset.Contains(0));
  EXPECT_FALSE(mset.Contains(1));
  EXPECT_TRUE(mset.Contains(2));
  EXPECT_FALSE(mset.Contains(4));
  const KeyPositions set = KeyPositionsOf(*FindCommand("SET"), 4);
  EXPECT_EQ(set.size(), 1);
  EXPECT_FALSE(set.Contains(1));
  EXPECT_TRUE(KeyPositionsOf(*FindCommand("PING"), 1).empty());
  EXPECT_EQ(KeyPositionsOf(*FindCommand("PING"), 1).size(), 0);
  // Fewer arguments than the arity allows: no position past the end.
  EXPECT_TRUE(KeyPositionsOf(*FindCommand("GET"), 0).empty());
}

TEST(CommandTableTest, ResolveRefusesUnknownNamesAndBadArityWithAHint) {
  absl::StatusOr<const CommandSpec*> get = ResolveCommand(Cmd({"get", "k"}));
  ASSERT_TRUE(get.ok());
  EXPECT_EQ((*get)->name, "GET");

  absl::StatusOr<const CommandSpec*> unknown =
      ResolveCommand(Cmd({"FROBNICATE", "k"}));
  EXPECT_EQ(ErrorCodeOf(unknown.status()), v1::INVALID_ARGUMENT);
  EXPECT_NE(unknown.status().message().find("FROBNICATE"), std::string::npos);

  absl::StatusOr<const CommandSpec*> arity =
      ResolveCommand(Cmd({"GET", "a", "b"}));
  EXPECT_EQ(ErrorCodeOf(arity.status()), v1::INVALID_ARGUMENT);
  EXPECT_NE(arity.status().message().find("wrong number of arguments"),
            std::string::npos);
}

TEST(CommandTableTest, IdsIndexTheTable) {
  for (size_t i = 0; i < AllCommands().size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(AllCommands()[i].id), i);
  }
}

TEST(CommandTableTest, OnlyMultiKeyCommandsSplitAndTheirKeysCoverTheArgs) {
  for (const CommandSpec& spec : AllCommands()) {
    if (spec.split == SplitMerge::kNone) continue;
    // The SDK's split takes every argument as a key and its key_step - 1
    // followers, so the keys must run from the first argument to the end.
    EXPECT_EQ(spec.first_key, 0) << spec.name;
    EXPECT_EQ(spec.last_key, -1) << spec.name;
    EXPECT_GE(spec.key_step, 1) << spec.name;
  }
  EXPECT_EQ(FindCommand("MGET")->split, SplitMerge::kArray);
  EXPECT_EQ(FindCommand("MSET")->split, SplitMerge::kOk);
  EXPECT_EQ(FindCommand("DEL")->split, SplitMerge::kSum);
  EXPECT_EQ(FindCommand("GET")->split, SplitMerge::kNone);
}

}  // namespace
}  // namespace slotcache
