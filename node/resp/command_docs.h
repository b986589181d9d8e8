// COMMAND DOCS: the documentation of every command the RESP port serves
// (summary, the Redis version that introduced it, group, complexity and
// its arguments in Redis 7's argument model), so redis-cli and client
// libraries can show hints and generate bindings. Written for slotcache:
// only the arguments slotcache accepts are listed (e.g. SCAN has no TYPE).
//
// Thread-safety: the table is built once and constant; every function is
// safe from any thread.
#ifndef SLOTCACHE_NODE_RESP_COMMAND_DOCS_H_
#define SLOTCACHE_NODE_RESP_COMMAND_DOCS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "node/resp/reply_writer.h"

namespace slotcache::node::resp {

// One argument, as in Redis' COMMAND DOCS.
struct ArgDoc {
  enum Flag : uint32_t { kOptional = 1, kMultiple = 2 };
  std::string name;
  // key, string, integer, double, pattern, unix-time, pure-token, oneof,
  // block.
  std::string type;
  std::string token;  // Empty: none.
  uint32_t flags = 0;
  std::vector<ArgDoc> arguments;  // For oneof and block.
};

struct CommandDoc {
  std::string name;  // Lower case.
  std::string summary;
  std::string since;
  std::string group;  // string, generic, hash, server, connection, cluster.
  std::string complexity;
  std::vector<ArgDoc> arguments;
};

// Every documented command, in a stable order.
const std::vector<CommandDoc>& AllCommandDocs();
// The doc of `name` (any case), or null.
const CommandDoc* FindCommandDoc(absl::string_view name);
// Writes `doc`'s map (the value under its name in COMMAND DOCS).
void WriteCommandDoc(const CommandDoc& doc, ReplyWriter* out);

}  // namespace slotcache::node::resp

#endif  // SLOTCACHE_NODE_RESP_COMMAND_DOCS_H_
