// The `--slots` argument of `slotctl reshard`: either a count N ("move N
// of the source's slots", MigrateSlotsRequest.slot_count) or a list of
// slot ranges such as "0-99,200,300-310" (MigrateSlotsRequest.slots).
//
// A lone number is always a count; the single slot 200 is written
// "200-200". Ranges are inclusive, within [0, 16383], may not overlap, and
// come back sorted and with adjacent ranges merged.
//
// Thread-safety: pure functions, safe from any thread.
#ifndef SLOTCACHE_CLIENT_SLOTCTL_SLOT_SPEC_H_
#define SLOTCACHE_CLIENT_SLOTCTL_SLOT_SPEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_field.h"
#include "proto/common.pb.h"

namespace slotcache::slotctl {

struct SlotSpec {
  // Set when the spec was a count; then `ranges` is empty.
  uint32_t count = 0;
  std::vector<v1::SlotRange> ranges;
};

// Parses `text`. Errors are INVALID_ARGUMENT and name the bad part and the
// accepted forms.
absl::StatusOr<SlotSpec> ParseSlotSpec(absl::string_view text);

// "0-99,200,300-310"; "-" when empty.
std::string FormatSlotRanges(
    const google::protobuf::RepeatedPtrField<v1::SlotRange>& ranges);

// Slots covered by `ranges` (assumed not to overlap).
uint64_t CountSlots(
    const google::protobuf::RepeatedPtrField<v1::SlotRange>& ranges);

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_SLOT_SPEC_H_
