#include "common/byte_size.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace slotcache {
namespace {

struct Unit {
  const char* suffix;
  uint64_t multiplier;
};

// Longest suffixes first so "kb" wins over "b".
constexpr Unit kUnits[] = {
    {"kb", 1ull << 10}, {"mb", 1ull << 20}, {"gb", 1ull << 30},
    {"k", 1000ull},     {"m", 1000000ull},  {"g", 1000000000ull},
    {"b", 1ull},
};

}  // namespace

absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text) {
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  absl::string_view number = lower;
  uint64_t multiplier = 1;
  for (const Unit& unit : kUnits) {
    if (absl::EndsWith(number, unit.suffix)) {
      number.remove_suffix(absl::string_view(unit.suffix).size());
      multiplier = unit.multiplier;
      break;
    }
  }
  uint64_t value = 0;
  if (number.empty() || !absl::SimpleAtoi(number, &value) ||
      value > std::numeric_limits<uint64_t>::max() / multiplier) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text,
                     "' is not a byte size; use a whole number with an "
                     "optional unit: b, k, kb, m, mb, g, gb (e.g. 100mb)"));
  }
  return value * multiplier;
}

bool AbslParseFlag(absl::string_view text, ByteSize* size, std::string* error) {
  absl::StatusOr<uint64_t> bytes = ParseByteSize(text);
  if (!bytes.ok()) {
    *error = std::string(bytes.status().message());
    return false;
  }
  size->bytes = *bytes;
  return true;
}

std::string AbslUnparseFlag(ByteSize size) { return absl::StrCat(size.bytes); }

}  // namespace slotcache
