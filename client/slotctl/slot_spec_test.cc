#include "client/slotctl/slot_spec.h"

#include "gtest/gtest.h"

namespace slotcache::slotctl {
namespace {

std::string Ranges(const SlotSpec& spec) {
  google::protobuf::RepeatedPtrField<v1::SlotRange> ranges(spec.ranges.begin(),
                                                           spec.ranges.end());
  return FormatSlotRanges(ranges);
}

TEST(SlotSpecTest, LoneNumberIsACount) {
  absl::StatusOr<SlotSpec> spec = ParseSlotSpec("100");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->count, 100u);
  EXPECT_TRUE(spec->ranges.empty());
  EXPECT_EQ(ParseSlotSpec("16384")->count, 16384u);
}

TEST(SlotSpecTest, RangesAreSortedAndMerged) {
  absl::StatusOr<SlotSpec> spec = ParseSlotSpec("300-310, 0-99,200,100-150");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->count, 0u);
  EXPECT_EQ(Ranges(*spec), "0-150,200,300-310");
  google::protobuf::RepeatedPtrField<v1::SlotRange> ranges(spec->ranges.begin(),
                                                           spec->ranges.end());
  EXPECT_EQ(CountSlots(ranges), 151u + 1 + 11);
  EXPECT_EQ(Ranges(*ParseSlotSpec("200-200")), "200");
}

TEST(SlotSpecTest, BadSpecsAreInvalidArgumentAndSayWhy) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"", "it is empty"},
      {"0", "a count must be 1..16384"},
      {"16385", "a count must be 1..16384"},
      {"ten", "neither a count nor ranges"},
      {"-5", "is not a slot or a range of slots"},
      {"0-99,,5", "empty item"},
      {"1-2-3", "is not a slot or a range"},
      {"99-0", "ends before it starts"},
      {"0-16384", "out of range (slots are 0..16383)"},
      {"0-10,5-20", "slot 5 is listed twice"},
      {"0-10,10", "slot 10 is listed twice"},
      {"1,+2", "is not a slot"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SlotSpec> spec = ParseSlotSpec(c.text);
    ASSERT_FALSE(spec.ok()) << c.text;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(spec.status().message().find(c.says), std::string::npos)
        << c.text << ": " << spec.status();
    EXPECT_NE(spec.status().message().find("0-99,200,300-310"),
              std::string::npos)
        << "every error shows the accepted forms";
  }
}

}  // namespace
}  // namespace slotcache::slotctl
