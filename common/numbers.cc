#include "common/numbers.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace slotcache {

bool ParseInt64(absl::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative) i = 1;
  if (i == text.size()) return false;
  if (text[i] == '0') {
    // Only a lone "0" may start with zero; "-0" is refused like Redis.
    if (text.size() == 1) {
      *out = 0;
      return true;
    }
    return false;
  }
  uint64_t value = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return false;
    }
    value = value * 10 + digit;
  }
  if (negative) {
    const uint64_t limit =
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1;
    if (value > limit) return false;
    *out = value == limit ? std::numeric_limits<int64_t>::min()
                          : -static_cast<int64_t>(value);
  } else {
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return false;
    }
    *out = static_cast<int64_t>(value);
  }
  return true;
}

bool ParseLongDouble(absl::string_view text, long double* out) {
  if (text.empty() || text.size() > 5000) return false;
  if (std::isspace(static_cast<unsigned char>(text.front())) ||
      std::isspace(static_cast<unsigned char>(text.back()))) {
    return false;
  }
  const std::string buf(text);
  char* end = nullptr;
  errno = 0;
  const long double value = std::strtold(buf.c_str(), &end);
  const bool out_of_range =
      errno == ERANGE && (std::isinf(value) || value == 0);
  if (end != buf.c_str() + buf.size() || out_of_range || std::isnan(value)) {
    return false;
  }
  *out = value;
  return true;
}

std::string FormatLongDouble(long double value) {
  // Redis's ld2string(LD_STR_HUMAN): 17 decimals ("%.17Lf": long double
  // rounds most short decimals users type back to what they typed), never
  // an exponent, then no trailing zeros. The buffer holds the largest
  // finite long double (4933 integer digits).
  char buf[5200];
  const int len = std::snprintf(buf, sizeof(buf), "%.17Lf", value);
  if (len <= 0 || len >= static_cast<int>(sizeof(buf))) return "0";
  std::string s(buf, static_cast<size_t>(len));
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

bool AddOverflows(int64_t a, int64_t b, int64_t* sum) {
  return __builtin_add_overflow(a, b, sum);
}

}  // namespace slotcache
