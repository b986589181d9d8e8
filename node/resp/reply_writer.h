// ReplyWriter: RESP2 and RESP3 wire encoding of replies, appended to a
// connection's output buffer; and RedisErrorLine, the one place where the
// node's typed errors (v1::Error) become Redis' error lines.
//
// RESP2 has no map, set, double, boolean, null or verbatim types; the
// writer encodes them as Redis does for a RESP2 client: a map as a flat
// array of key, value, ...; a double as a bulk string; a boolean as the
// integer 1/0; null as the nil bulk string ($-1).
//
// Thread-safety: a writer wraps one buffer of one connection.
#ifndef SLOTCACHE_NODE_RESP_REPLY_WRITER_H_
#define SLOTCACHE_NODE_RESP_REPLY_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "proto/cache.pb.h"
#include "proto/common.pb.h"

namespace slotcache::node::resp {

class ReplyWriter {
 public:
  // `out` is not owned. `protocol` is 2 or 3 (HELLO).
  ReplyWriter(std::string* out, int protocol)
      : out_(out), protocol_(protocol) {}

  int protocol() const { return protocol_; }
  std::string* buffer() { return out_; }

  void Status(absl::string_view text);  // +OK
  // `line` is the text after '-' (e.g. "ERR unknown command"); CR and LF
  // in it become spaces so a message can never break the framing.
  void Error(absl::string_view line);
  void Integer(int64_t value);
  void Bulk(absl::string_view bytes);
  void Null();
  void ArrayHeader(size_t n);
  // n key/value pairs follow (2n values).
  void MapHeader(size_t n);
  void SetHeader(size_t n);
  void Double(double value);
  void Boolean(bool value);
  // Text for humans (INFO, CLUSTER NODES): RESP3 verbatim "txt", else bulk.
  void Verbatim(absl::string_view text);

  // A command's reply value. With `as_map`, a top-level array of
  // alternating keys and values (HGETALL) is written as a map.
  void Value(const v1::Value& value, bool as_map = false);

 private:
  void Header(char type, size_t n);

  std::string* const out_;
  const int protocol_;
};

// The Redis error line (without '-' and CRLF) for `error`, e.g.
// "MOVED 3999 127.0.0.1:7001" or "WRONGTYPE Operation against a key
// holding the wrong kind of value". `redirect_address` replaces the
// address of a MOVED/ASK/READONLY redirect (the caller maps the target
// node to its RESP address); empty keeps the one in the error.
std::string RedisErrorLine(const v1::Error& error,
                           absl::string_view redirect_address);

}  // namespace slotcache::node::resp

#endif  // SLOTCACHE_NODE_RESP_REPLY_WRITER_H_
