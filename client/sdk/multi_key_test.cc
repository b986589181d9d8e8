#include "client/sdk/multi_key.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/slot.h"
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

// Two keys in different slots.
const std::string kA = "a";
const std::string kB = "b";

v1::Value Integer(int64_t i) {
  v1::Value v;
  v.set_integer(i);
  return v;
}

v1::Value Array(std::initializer_list<std::string> items) {
  v1::Value v;
  for (const std::string& item : items) {
    v.mutable_array()->add_values()->set_bulk(item);
  }
  return v;
}

TEST(MultiKeyTest, KeysHashToDifferentSlots) {
  ASSERT_NE(KeySlot(kA), KeySlot(kB));
}

TEST(MultiKeyTest, OneSlotOneKeyOrNotSplittableIsSentAsItIs) {
  EXPECT_FALSE(SplitPerSlot(Cmd({"MGET", "{t}1", "{t}2"})).has_value());
  EXPECT_FALSE(SplitPerSlot(Cmd({"DEL", kA})).has_value());
  EXPECT_FALSE(SplitPerSlot(Cmd({"HMGET", kA, kB})).has_value());
  EXPECT_FALSE(SplitPerSlot(Cmd({"NOSUCH", kA, kB})).has_value());
  // Malformed: the node's wrong-arity error is the answer.
  EXPECT_FALSE(SplitPerSlot(Cmd({"MSET", kA, "1", kB})).has_value());
}

TEST(MultiKeyTest, MsetPartsKeepEachValueWithItsKey) {
  std::optional<SplitCommand> split =
      SplitPerSlot(Cmd({"MSET", kA, "1", kB, "2", "{a}x", "3"}));
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->keys, 3);
  ASSERT_EQ(split->parts.size(), 2u);
  for (size_t p = 0; p < split->parts.size(); ++p) {
    const v1::Command& part = split->parts[p];
    EXPECT_EQ(part.name(), "MSET");
    ASSERT_EQ(part.args_size(),
              2 * static_cast<int>(split->key_order[p].size()));
    for (int i = 0; i < part.args_size(); i += 2) {
      const int ordinal = split->key_order[p][i / 2];
      EXPECT_EQ(part.args(i + 1), absl::StrCat(ordinal + 1));
    }
  }
  EXPECT_EQ(MergeParts(*split, {Integer(0), Integer(0)}).status().code(),
            absl::StatusCode::kOk);
  EXPECT_EQ(MergeParts(*split, {Integer(0), Integer(0)})->status(), "OK");
}

TEST(MultiKeyTest, MgetMergesValuesBackInTheCallersOrder) {
  std::optional<SplitCommand> split = SplitPerSlot(Cmd({"MGET", kA, kB, kA}));
  ASSERT_TRUE(split.has_value());
  ASSERT_EQ(split->parts.size(), 2u);
  std::vector<absl::StatusOr<v1::Value>> results;
  for (size_t p = 0; p < split->parts.size(); ++p) {
    v1::Value reply;
    for (const std::string& key : split->parts[p].args()) {
      reply.mutable_array()->add_values()->set_bulk("v-" + key);
    }
    results.push_back(reply);
  }
  absl::StatusOr<v1::Value> merged = MergeParts(*split, std::move(results));
  ASSERT_TRUE(merged.ok()) << merged.status();
  ASSERT_EQ(merged->array().values_size(), 3);
  EXPECT_EQ(merged->array().values(0).bulk(), "v-a");
  EXPECT_EQ(merged->array().values(1).bulk(), "v-b");
  EXPECT_EQ(merged->array().values(2).bulk(), "v-a");
}

TEST(MultiKeyTest, DelSumsAndTheFirstFailedPartFailsTheCall) {
  std::optional<SplitCommand> split = SplitPerSlot(Cmd({"DEL", kA, kB}));
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(MergeParts(*split, {Integer(1), Integer(1)})->integer(), 2);
  EXPECT_EQ(
      ErrorCodeOf(MergeParts(*split, {Integer(1), WrongTypeError()}).status()),
      v1::WRONGTYPE);
  EXPECT_EQ(
      ErrorCodeOf(MergeParts(*split, {Integer(1), Array({"x"})}).status()),
      v1::INTERNAL);
}

}  // namespace
}  // namespace slotcache
