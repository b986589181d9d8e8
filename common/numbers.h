// Strict number parsing and formatting with Redis's rules (the store's INCR
// family, the command handlers' argument parsing, and any Redis-protocol
// front end).
//
// Thread-safety: pure functions.
#ifndef SLOTCACHE_COMMON_NUMBERS_H_
#define SLOTCACHE_COMMON_NUMBERS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace slotcache {

// A base-10 int64 with no spaces, no '+', no leading zeros ("0" and "-1"
// are fine, "01", " 1", "1.0", "-0" are not), like Redis's string2ll.
bool ParseInt64(absl::string_view text, int64_t* out);

// A long double like Redis's string2ld ("1.5", "-3", "1e3", "inf"; " 1",
// NaN and values out of long double's range are refused). Infinity is
// accepted as Redis does: INCRBYFLOAT then fails on its result.
bool ParseLongDouble(absl::string_view text, long double* out);

// Redis's human float format: 17 decimals, then no trailing
// zeros, no exponent ("10.6", "3", "-0.5").
std::string FormatLongDouble(long double value);

// a + b, false on int64 overflow.
bool AddOverflows(int64_t a, int64_t b, int64_t* sum);

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_NUMBERS_H_
