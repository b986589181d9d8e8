#include "common/glob.h"

#include <cstddef>
#include <utility>

namespace slotcache {
namespace {

// Matches one pattern element (not '*') starting at pattern[*p] against
// byte c; advances *p past the element. False on no match.
bool MatchOne(absl::string_view pattern, size_t* p, unsigned char c) {
  const char pc = pattern[*p];
  if (pc == '?') {
    ++*p;
    return true;
  }
  if (pc == '\\' && *p + 1 < pattern.size()) {
    const bool ok = static_cast<unsigned char>(pattern[*p + 1]) == c;
    *p += 2;
    return ok;
  }
  if (pc == '[') {
    size_t i = *p + 1;
    bool negate = false;
    if (i < pattern.size() && pattern[i] == '^') {
      negate = true;
      ++i;
    }
    bool matched = false;
    while (i < pattern.size() && pattern[i] != ']') {
      if (pattern[i] == '\\' && i + 1 < pattern.size()) {
        if (static_cast<unsigned char>(pattern[i + 1]) == c) matched = true;
        i += 2;
      } else if (i + 2 < pattern.size() && pattern[i + 1] == '-' &&
                 pattern[i + 2] != ']') {
        unsigned char lo = pattern[i], hi = pattern[i + 2];
        if (lo > hi) std::swap(lo, hi);
        if (c >= lo && c <= hi) matched = true;
        i += 3;
      } else {
        if (static_cast<unsigned char>(pattern[i]) == c) matched = true;
        ++i;
      }
    }
    // An unterminated class runs to the end of the pattern (as in Redis).
    *p = i < pattern.size() ? i + 1 : i;
    return matched != negate;
  }
  ++*p;
  return static_cast<unsigned char>(pc) == c;
}

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Iterative matcher with one backtrack point for the last '*': linear
  // in practice, never exponential.
  size_t p = 0, t = 0;
  size_t star_p = absl::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      star_p = p;
      star_t = t;
      continue;
    }
    if (p < pattern.size()) {
      size_t next = p;
      if (MatchOne(pattern, &next, static_cast<unsigned char>(text[t]))) {
        p = next;
        ++t;
        continue;
      }
    }
    if (star_p == absl::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace slotcache
