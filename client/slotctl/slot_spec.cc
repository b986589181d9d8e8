#include "client/slotctl/slot_spec.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/slot.h"

namespace slotcache::slotctl {
namespace {

constexpr absl::string_view kForms =
    "use a count N (1..16384) or ranges like 0-99,200,300-310 (a single slot "
    "alone is written 200-200)";

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad --slots: ", what, "; ", kForms));
}

// A slot number in [0, kNumSlots); digits only (no sign, no spaces).
absl::StatusOr<uint32_t> ParseSlot(absl::string_view text,
                                   absl::string_view part) {
  uint32_t slot = 0;
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(text, &slot)) {
    return Bad(absl::StrCat("'", part, "' is not a slot or a range of slots"));
  }
  if (slot >= kNumSlots) {
    return Bad(absl::StrCat("slot ", text, " in '", part,
                            "' is out of range (slots are 0..", kNumSlots - 1,
                            ")"));
  }
  return slot;
}

}  // namespace

absl::StatusOr<SlotSpec> ParseSlotSpec(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return Bad("it is empty");
  SlotSpec spec;
  if (text.find_first_of(",-") == absl::string_view::npos) {
    uint32_t count = 0;
    if (!std::all_of(text.begin(), text.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        !absl::SimpleAtoi(text, &count)) {
      return Bad(absl::StrCat("'", text, "' is neither a count nor ranges"));
    }
    if (count == 0 || count > kNumSlots) {
      return Bad(
          absl::StrCat("a count must be 1..", kNumSlots, " (got ", text, ")"));
    }
    spec.count = count;
    return spec;
  }
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) return Bad(absl::StrCat("empty item in '", text, "'"));
    std::vector<absl::string_view> ends = absl::StrSplit(part, '-');
    if (ends.size() > 2) {
      return Bad(absl::StrCat("'", part, "' is not a slot or a range"));
    }
    absl::StatusOr<uint32_t> start = ParseSlot(ends[0], part);
    if (!start.ok()) return start.status();
    absl::StatusOr<uint32_t> end =
        ends.size() == 2 ? ParseSlot(ends[1], part) : start;
    if (!end.ok()) return end.status();
    if (*start > *end) {
      return Bad(absl::StrCat("range '", part, "' ends before it starts"));
    }
    v1::SlotRange range;
    range.set_start(*start);
    range.set_end(*end);
    spec.ranges.push_back(range);
  }
  std::sort(spec.ranges.begin(), spec.ranges.end(),
            [](const v1::SlotRange& a, const v1::SlotRange& b) {
              return a.start() < b.start();
            });
  std::vector<v1::SlotRange> merged;
  for (const v1::SlotRange& range : spec.ranges) {
    if (!merged.empty() && range.start() <= merged.back().end()) {
      return Bad(absl::StrCat("slot ", range.start(), " is listed twice"));
    }
    if (!merged.empty() && range.start() == merged.back().end() + 1) {
      merged.back().set_end(range.end());
    } else {
      merged.push_back(range);
    }
  }
  spec.ranges = std::move(merged);
  return spec;
}

std::string FormatSlotRanges(
    const google::protobuf::RepeatedPtrField<v1::SlotRange>& ranges) {
  if (ranges.empty()) return "-";
  return absl::StrJoin(ranges, ",",
                       [](std::string* out, const v1::SlotRange& r) {
                         absl::StrAppend(out, r.start());
                         if (r.end() != r.start()) {
                           absl::StrAppend(out, "-", r.end());
                         }
                       });
}

uint64_t CountSlots(
    const google::protobuf::RepeatedPtrField<v1::SlotRange>& ranges) {
  uint64_t n = 0;
  for (const v1::SlotRange& r : ranges) {
    if (r.end() >= r.start()) n += uint64_t{r.end()} - r.start() + 1;
  }
  return n;
}

}  // namespace slotcache::slotctl
