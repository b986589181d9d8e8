#include "node/resp/request_parser.h"

#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace slotcache::node::resp {
namespace {

// Redis reserves at most this many words up front whatever the header
// claims, so "*1000000\r\n" alone costs nothing.
constexpr int64_t kMaxReservedWords = 1024;

// A non-negative or negative decimal integer, digits only (no '+', no
// spaces, no leading zeros check: Redis accepts "007"). False on overflow.
bool ParseInteger(absl::string_view text, int64_t* out) {
  bool negative = false;
  if (!text.empty() && text[0] == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > 18) return false;  // 18 digits fit.
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = negative ? -v : v;
  return true;
}

// One byte for an error message: itself when printable, else \xHH.
std::string Printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string(1, c);
  return absl::StrCat("\\x", absl::Hex(u, absl::kZeroPad2));
}

bool IsHexDigit(char c) {
  return absl::ascii_isxdigit(static_cast<unsigned char>(c));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' ||
         c == '\f';
}

}  // namespace

bool SplitInlineArgs(absl::string_view line, std::vector<std::string>* words) {
  words->clear();
  const char* p = line.data();
  const char* const end = line.data() + line.size();
  while (true) {
    while (p < end && IsSpace(*p)) ++p;
    if (p == end) return true;
    std::string word;
    bool in_double = false, in_single = false;
    while (true) {
      if (in_double) {
        if (p == end) return false;  // Unterminated "...".
        if (*p == '\\' && end - p >= 4 && p[1] == 'x' && IsHexDigit(p[2]) &&
            IsHexDigit(p[3])) {
          word.push_back(
              static_cast<char>(HexValue(p[2]) * 16 + HexValue(p[3])));
          p += 4;
        } else if (*p == '\\' && end - p >= 2) {
          char c = p[1];
          switch (c) {
            case 'n':
              c = '\n';
              break;
            case 'r':
              c = '\r';
              break;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'a':
              c = '\a';
              break;
            default:
              break;
          }
          word.push_back(c);
          p += 2;
        } else if (*p == '"') {
          // A closing quote must end the word.
          if (end - p >= 2 && !IsSpace(p[1])) return false;
          ++p;
          break;
        } else {
          word.push_back(*p++);
        }
      } else if (in_single) {
        if (p == end) return false;
        if (*p == '\\' && end - p >= 2 && p[1] == '\'') {
          word.push_back('\'');
          p += 2;
        } else if (*p == '\'') {
          if (end - p >= 2 && !IsSpace(p[1])) return false;
          ++p;
          break;
        } else {
          word.push_back(*p++);
        }
      } else {
        if (p == end || IsSpace(*p)) break;
        if (*p == '"') {
          in_double = true;
        } else if (*p == '\'') {
          in_single = true;
        } else {
          word.push_back(*p);
        }
        ++p;
      }
    }
    words->push_back(std::move(word));
  }
}

RequestParser::Result RequestParser::Parse(absl::string_view input,
                                           size_t* consumed) {
  *consumed = 0;
  while (true) {
    Result r;
    if (words_left_ >= 0) {
      r = ParseMultibulk(input);
    } else if (pos_ >= input.size()) {
      return Result::kNeedMore;
    } else if (input[pos_] == '*') {
      r = ParseMultibulk(input);
    } else {
      r = ParseInline(input);
    }
    if (r != Result::kCommand) return r;
    if (args_.empty()) continue;  // An empty request: skip it.
    *consumed = pos_;
    pos_ = 0;
    return r;
  }
}

size_t RequestParser::wanted_input_bytes() const {
  if (words_left_ <= 0 || bulk_len_ < 0) return 0;
  return pos_ + static_cast<size_t>(bulk_len_) + 2;
}

RequestParser::Result RequestParser::Fail(std::string message) {
  error_ = std::move(message);
  args_.clear();
  return Result::kError;
}

RequestParser::Result RequestParser::ReadHeader(absl::string_view input,
                                                absl::string_view too_long,
                                                absl::string_view* line) {
  const size_t available = input.size() - pos_;
  const size_t scan = std::min(available, limits_.max_inline_bytes + 2);
  const void* cr = std::memchr(input.data() + pos_, '\r', scan);
  if (cr == nullptr) {
    if (available > limits_.max_inline_bytes)
      return Fail(std::string(too_long));
    return Result::kNeedMore;
  }
  const size_t at = static_cast<const char*>(cr) - input.data();
  // The same verdict whether the line arrived whole or in pieces.
  if (at - pos_ > limits_.max_inline_bytes) return Fail(std::string(too_long));
  if (at + 1 >= input.size()) return Result::kNeedMore;
  if (input[at + 1] != '\n') {
    return Fail(
        absl::StrCat("Protocol error: expected '\\n' after '\\r', got '",
                     Printable(input[at + 1]), "'"));
  }
  *line = input.substr(pos_, at - pos_);
  pos_ = at + 2;
  return Result::kCommand;
}

RequestParser::Result RequestParser::ParseMultibulk(absl::string_view input) {
  if (words_left_ < 0) {
    absl::string_view line;
    const Result r =
        ReadHeader(input, "Protocol error: too big mbulk count string", &line);
    if (r != Result::kCommand) return r;
    int64_t n;
    if (!ParseInteger(line.substr(1), &n) || n > limits_.max_multibulk_length) {
      return Fail("Protocol error: invalid multibulk length");
    }
    args_.clear();
    if (n <= 0) return Result::kCommand;  // "*0" and "*-1": nothing to run.
    words_left_ = n;
    bulk_len_ = -1;
    spans_.clear();
    spans_.reserve(static_cast<size_t>(std::min(n, kMaxReservedWords)));
  }
  while (words_left_ > 0) {
    if (bulk_len_ < 0) {
      if (pos_ >= input.size()) return Result::kNeedMore;
      if (input[pos_] != '$') {
        return Fail(absl::StrCat("Protocol error: expected '$', got '",
                                 Printable(input[pos_]), "'"));
      }
      absl::string_view line;
      const Result r =
          ReadHeader(input, "Protocol error: too big bulk count string", &line);
      if (r != Result::kCommand) return r;
      int64_t n;
      if (!ParseInteger(line.substr(1), &n) || n < 0 ||
          n > limits_.max_bulk_bytes) {
        return Fail("Protocol error: invalid bulk length");
      }
      bulk_len_ = n;
    }
    const size_t len = static_cast<size_t>(bulk_len_);
    if (input.size() - pos_ < len + 2) return Result::kNeedMore;
    if (input[pos_ + len] != '\r' || input[pos_ + len + 1] != '\n') {
      return Fail(absl::StrCat("Protocol error: expected CRLF after a bulk of ",
                               len, " bytes"));
    }
    spans_.push_back({pos_, len});
    pos_ += len + 2;
    bulk_len_ = -1;
    --words_left_;
  }
  words_left_ = -1;
  args_.clear();
  for (const Span& s : spans_)
    args_.push_back(input.substr(s.offset, s.length));
  return Result::kCommand;
}

RequestParser::Result RequestParser::ParseInline(absl::string_view input) {
  const size_t available = input.size() - pos_;
  const size_t scan = std::min(available, limits_.max_inline_bytes + 2);
  const void* nl = std::memchr(input.data() + pos_, '\n', scan);
  if (nl == nullptr) {
    // A line of exactly the limit may still end in "\r\n".
    if (available > limits_.max_inline_bytes + 1) {
      return Fail("Protocol error: too big inline request");
    }
    return Result::kNeedMore;
  }
  const size_t at = static_cast<const char*>(nl) - input.data();
  absl::string_view line = input.substr(pos_, at - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > limits_.max_inline_bytes) {
    return Fail("Protocol error: too big inline request");
  }
  pos_ = at + 1;
  if (!SplitInlineArgs(line, &inline_words_)) {
    return Fail("Protocol error: unbalanced quotes in request");
  }
  args_.clear();
  for (const std::string& w : inline_words_) args_.push_back(w);
  return Result::kCommand;
}

}  // namespace slotcache::node::resp
