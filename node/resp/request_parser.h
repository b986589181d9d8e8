// RequestParser: turns the bytes a Redis client sends into commands, one at
// a time, without copying them.
//
// Two request forms, as in Redis (the request side of RESP2 and RESP3 is
// the same):
//   multibulk  *<n>\r\n then n times $<len>\r\n<len bytes>\r\n
//   inline     a text line of words split like redis-cli does
//              (sdssplitargs: spaces separate, "..." and '...' quote,
//              \n \xHH escapes inside double quotes), ended by \n or \r\n
//
// Incremental: Parse() is called with the connection's unconsumed input.
// When it returns kNeedMore it remembers how far it got (as offsets, so
// the caller may grow or move its buffer), and the next call must pass the
// same bytes from the same start plus whatever arrived since. Header lines
// are scanned once, so a large command arriving in many reads costs no
// rescans.
//
// Zero-copy: after kCommand, args() are views into the input passed to
// that call (multibulk) or into the parser (inline words, which may need
// unescaping); they stay valid until the input buffer changes or Parse()
// is called again.
//
// Network input never crashes the parser: every length is checked
// against Limits before anything is reserved, and any malformed byte
// sequence yields kError with Redis' protocol error text (the caller
// replies it and closes the connection, as Redis does).
//
// Thread-safety: a parser belongs to one connection; not thread-safe.
#ifndef SLOTCACHE_NODE_RESP_REQUEST_PARSER_H_
#define SLOTCACHE_NODE_RESP_REQUEST_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace slotcache::node::resp {

class RequestParser {
 public:
  struct Limits {
    // Most words in one multibulk request (Redis accepts up to INT_MAX
    // but allocates per word; a million covers MSET/DEL batches).
    int64_t max_multibulk_length = 1024 * 1024;
    // Longest single word (Redis proto-max-bulk-len, 512 MiB).
    int64_t max_bulk_bytes = 512ll * 1024 * 1024;
    // Longest inline line and longest header line (Redis
    // PROTO_INLINE_MAX_SIZE, 64 KiB).
    size_t max_inline_bytes = 64 * 1024;
  };

  enum class Result {
    // A command is ready in args(); `*consumed` bytes belong to it.
    kCommand,
    // The input ends inside a request; call again with more bytes.
    kNeedMore,
    // Malformed or over a limit: error() says why. The connection cannot
    // be resynchronised and must be closed.
    kError,
  };

  explicit RequestParser(const Limits& limits) : limits_(limits) {}

  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses the next request of `input`. On kCommand, `*consumed` is the
  // number of bytes it took (the caller drops them before the next call);
  // empty requests (blank inline lines, "*0", "*-1") are skipped and
  // counted into the next command's bytes. On kNeedMore, `*consumed` is 0.
  Result Parse(absl::string_view input, size_t* consumed);

  // The words of the last command (name first). Never empty after
  // kCommand.
  const std::vector<absl::string_view>& args() const { return args_; }

  // Redis' text for the last kError, e.g. "Protocol error: invalid
  // multibulk length".
  const std::string& error() const { return error_; }

  // After kNeedMore inside a bulk word: how many input bytes (from the
  // request's start) the parser needs before it can go on, so the caller
  // can size its buffer for a large value at once. 0 when unknown.
  size_t wanted_input_bytes() const;

 private:
  // Both return kCommand with empty args() for an empty request.
  Result ParseMultibulk(absl::string_view input);
  Result ParseInline(absl::string_view input);
  Result Fail(std::string message);
  // Reads the header line starting at pos_ (without its \r\n) into
  // `*line` and moves pos_ past it. kNeedMore without a complete line;
  // kError when it is over max_inline_bytes (`too_long` is the message).
  Result ReadHeader(absl::string_view input, absl::string_view too_long,
                    absl::string_view* line);

  // Constant after construction.
  const Limits limits_;

  // The request in progress. Offsets are relative to the input start.
  // Bytes of the input already parsed (empty requests skipped before
  // the current one included).
  size_t pos_ = 0;
  // Multibulk words still to come; -1 when no multibulk header is read.
  int64_t words_left_ = -1;
  // Length of the word being read; -1 while its $ header is next.
  int64_t bulk_len_ = -1;
  struct Span {
    size_t offset;
    size_t length;
  };
  std::vector<Span> spans_;

  // Output of the last kCommand / kError.
  std::vector<absl::string_view> args_;
  std::vector<std::string> inline_words_;
  std::string error_;
};

// Splits an inline command line into words like Redis' sdssplitargs.
// False on unbalanced quotes (or a closing quote not followed by a space).
bool SplitInlineArgs(absl::string_view line, std::vector<std::string>* words);

}  // namespace slotcache::node::resp

#endif  // SLOTCACHE_NODE_RESP_REQUEST_PARSER_H_
