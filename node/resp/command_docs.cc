#include "node/resp/command_docs.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"

namespace slotcache::node::resp {
namespace {

using A = ArgDoc;
constexpr uint32_t kOpt = ArgDoc::kOptional;
constexpr uint32_t kMulti = ArgDoc::kMultiple;

A Key(uint32_t flags = 0) { return {"key", "key", "", flags, {}}; }
A Arg(std::string name, std::string type, uint32_t flags = 0) {
  return {std::move(name), std::move(type), "", flags, {}};
}
A Tok(std::string name, std::string type, std::string token,
      uint32_t flags = 0) {
  return {std::move(name), std::move(type), std::move(token), flags, {}};
}
A Pure(const std::string& token, uint32_t flags = 0) {
  return {absl::AsciiStrToLower(token), "pure-token", token, flags, {}};
}
A OneOf(std::string name, std::vector<A> args, uint32_t flags = 0) {
  return {std::move(name), "oneof", "", flags, std::move(args)};
}
A Block(std::string name, std::vector<A> args, uint32_t flags = 0) {
  return {std::move(name), "block", "", flags, std::move(args)};
}
// EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT
// unix-time-milliseconds, plus `extra` choices.
A Expiration(std::vector<A> extra) {
  std::vector<A> choices = {Tok("seconds", "integer", "EX"),
                            Tok("milliseconds", "integer", "PX"),
                            Tok("unix-time-seconds", "unix-time", "EXAT"),
                            Tok("unix-time-milliseconds", "unix-time", "PXAT")};
  for (A& a : extra) choices.push_back(std::move(a));
  return OneOf("expiration", std::move(choices), kOpt);
}
A TtlCondition() {
  return OneOf("condition", {Pure("NX"), Pure("XX"), Pure("GT"), Pure("LT")},
               kOpt);
}

std::vector<CommandDoc> Build() {
  const std::string o1 = "O(1)";
  const std::string on = "O(N) where N is the number of keys given";
  const std::string of = "O(N) where N is the number of fields given";
  return {
      // ---- Strings ----
      {"get",
       "Returns the string stored at a key, or nil.",
       "1.0.0",
       "string",
       o1,
       {Key()}},
      {"set",
       "Stores a string at a key, with optional conditions and expiry.",
       "1.0.0",
       "string",
       o1,
       {Key(), Arg("value", "string"),
        OneOf("condition", {Pure("NX"), Pure("XX")}, kOpt), Pure("GET", kOpt),
        Expiration({Pure("KEEPTTL")})}},
      {"getex",
       "Returns a key's string and sets or removes its expiry.",
       "6.2.0",
       "string",
       o1,
       {Key(), Expiration({Pure("PERSIST")})}},
      {"getdel",
       "Returns a key's string and deletes the key.",
       "6.2.0",
       "string",
       o1,
       {Key()}},
      {"append",
       "Appends to the string at a key; returns the new length.",
       "2.0.0",
       "string",
       "O(1) amortized",
       {Key(), Arg("value", "string")}},
      {"strlen",
       "Returns the length of the string at a key.",
       "2.2.0",
       "string",
       o1,
       {Key()}},
      {"mget",
       "Returns the strings at several keys (nil for missing ones).",
       "1.0.0",
       "string",
       on,
       {Key(kMulti)}},
      {"mset",
       "Stores strings at several keys at once.",
       "1.0.1",
       "string",
       on,
       {Block("data", {Key(), Arg("value", "string")}, kMulti)}},
      {"incr",
       "Adds 1 to the integer at a key; returns the new value.",
       "1.0.0",
       "string",
       o1,
       {Key()}},
      {"decr",
       "Subtracts 1 from the integer at a key; returns the new value.",
       "1.0.0",
       "string",
       o1,
       {Key()}},
      {"incrby",
       "Adds an integer to the integer at a key.",
       "1.0.0",
       "string",
       o1,
       {Key(), Arg("increment", "integer")}},
      {"decrby",
       "Subtracts an integer from the integer at a key.",
       "1.0.0",
       "string",
       o1,
       {Key(), Arg("decrement", "integer")}},
      {"incrbyfloat",
       "Adds a floating point number to the number at a key.",
       "2.6.0",
       "string",
       o1,
       {Key(), Arg("increment", "double")}},
      // ---- Keys ----
      {"del",
       "Deletes keys; returns how many existed.",
       "1.0.0",
       "generic",
       on,
       {Key(kMulti)}},
      {"unlink",
       "Deletes keys (as DEL); returns how many existed.",
       "4.0.0",
       "generic",
       on,
       {Key(kMulti)}},
      {"exists",
       "Counts how many of the given keys exist.",
       "1.0.0",
       "generic",
       on,
       {Key(kMulti)}},
      {"type",
       "Returns the type of the value at a key (string, hash, none).",
       "1.0.0",
       "generic",
       o1,
       {Key()}},
      {"expire",
       "Sets a key's time to live in seconds.",
       "1.0.0",
       "generic",
       o1,
       {Key(), Arg("seconds", "integer"), TtlCondition()}},
      {"pexpire",
       "Sets a key's time to live in milliseconds.",
       "2.6.0",
       "generic",
       o1,
       {Key(), Arg("milliseconds", "integer"), TtlCondition()}},
      {"expireat",
       "Sets a key to expire at a Unix time in seconds.",
       "1.2.0",
       "generic",
       o1,
       {Key(), Arg("unix-time-seconds", "unix-time"), TtlCondition()}},
      {"pexpireat",
       "Sets a key to expire at a Unix time in milliseconds.",
       "2.6.0",
       "generic",
       o1,
       {Key(), Arg("unix-time-milliseconds", "unix-time"), TtlCondition()}},
      {"persist", "Removes a key's expiry.", "2.2.0", "generic", o1, {Key()}},
      {"ttl",
       "Returns a key's time to live in seconds (-1 none, -2 no key).",
       "1.0.0",
       "generic",
       o1,
       {Key()}},
      {"pttl",
       "Returns a key's time to live in milliseconds.",
       "2.6.0",
       "generic",
       o1,
       {Key()}},
      // ---- Hashes ----
      {"hset",
       "Sets fields of the hash at a key; returns how many are new.",
       "2.0.0",
       "hash",
       of,
       {Key(), Block("data", {Arg("field", "string"), Arg("value", "string")},
                     kMulti)}},
      {"hget",
       "Returns the value of a hash field, or nil.",
       "2.0.0",
       "hash",
       o1,
       {Key(), Arg("field", "string")}},
      {"hmget",
       "Returns the values of several hash fields.",
       "2.0.0",
       "hash",
       of,
       {Key(), Arg("field", "string", kMulti)}},
      {"hdel",
       "Deletes hash fields; returns how many existed.",
       "2.0.0",
       "hash",
       of,
       {Key(), Arg("field", "string", kMulti)}},
      {"hgetall",
       "Returns every field and value of the hash at a key.",
       "2.0.0",
       "hash",
       "O(N) where N is the size of the hash",
       {Key()}},
      {"hincrby",
       "Adds an integer to the integer in a hash field.",
       "2.0.0",
       "hash",
       o1,
       {Key(), Arg("field", "string"), Arg("increment", "integer")}},
      {"hlen",
       "Returns the number of fields of the hash at a key.",
       "2.0.0",
       "hash",
       o1,
       {Key()}},
      {"hexists",
       "Tells whether a hash field exists (1) or not (0).",
       "2.0.0",
       "hash",
       o1,
       {Key(), Arg("field", "string")}},
      // ---- Node-wide ----
      {"dbsize",
       "Returns the number of keys this node holds.",
       "1.0.0",
       "server",
       o1,
       {}},
      {"flushall",
       "Deletes every key of this node.",
       "1.0.0",
       "server",
       "O(N) where N is the number of keys",
       {OneOf("flush-type", {Pure("ASYNC"), Pure("SYNC")}, kOpt)}},
      {"randomkey",
       "Returns a random key of this node, or nil.",
       "1.0.0",
       "generic",
       o1,
       {}},
      {"scan",
       "Iterates over this node's keys with a cursor.",
       "2.8.0",
       "generic",
       "O(1) per call, O(N) for a complete iteration over N keys",
       {Arg("cursor", "integer"), Tok("pattern", "pattern", "MATCH", kOpt),
        Tok("count", "integer", "COUNT", kOpt)}},
      {"ping",
       "Answers PONG, or the message given.",
       "1.0.0",
       "connection",
       o1,
       {Arg("message", "string", kOpt)}},
      // ---- Connection and server commands of the RESP port ----
      {"echo",
       "Answers the message given.",
       "1.0.0",
       "connection",
       o1,
       {Arg("message", "string")}},
      {"hello",
       "Chooses the protocol (RESP2 or RESP3) and names the client.",
       "6.0.0",
       "connection",
       o1,
       {Block("arguments",
              {Arg("protover", "integer"),
               A{"auth",
                 "block",
                 "AUTH",
                 kOpt,
                 {Arg("username", "string"), Arg("password", "string")}},
               Tok("clientname", "string", "SETNAME", kOpt)},
              kOpt)}},
      {"select",
       "Selects database 0, the only one.",
       "1.0.0",
       "connection",
       o1,
       {Arg("index", "integer")}},
      {"quit",
       "Closes the connection once the reply is sent.",
       "1.0.0",
       "connection",
       o1,
       {}},
      {"reset",
       "Resets the connection's state (name, protocol, READONLY).",
       "6.2.0",
       "connection",
       o1,
       {}},
      {"client",
       "Connection commands: SETNAME, GETNAME, ID, INFO, LIST, KILL, "
       "NO-EVICT, NO-TOUCH, SETINFO.",
       "2.4.0",
       "connection",
       "Depends on the subcommand",
       {Arg("subcommand", "string"), Arg("arg", "string", kOpt | kMulti)}},
      {"command",
       "Describes the commands: COUNT, INFO, DOCS, LIST.",
       "2.8.13",
       "server",
       "O(N) where N is the number of commands",
       {Arg("subcommand", "string", kOpt),
        Arg("command-name", "string", kOpt | kMulti)}},
      {"info",
       "Returns the server's state and counters by section.",
       "1.0.0",
       "server",
       o1,
       {Arg("section", "string", kOpt | kMulti)}},
      {"config",
       "Reads (GET) or changes (SET maxmemory, maxmemory-policy) the "
       "configuration.",
       "2.0.0",
       "server",
       "Depends on the subcommand",
       {Arg("subcommand", "string"), Arg("arg", "string", kOpt | kMulti)}},
      {"wait",
       "Waits until this many replicas acknowledged the connection's "
       "writes, or the timeout (ms) passed; returns how many did.",
       "3.0.0",
       "generic",
       o1,
       {Arg("numreplicas", "integer"), Arg("timeout", "integer")}},
      {"time",
       "Returns the server's time (seconds, microseconds).",
       "2.6.0",
       "server",
       o1,
       {}},
      {"readonly",
       "Lets this connection read from a replica.",
       "3.0.0",
       "cluster",
       o1,
       {}},
      {"readwrite",
       "Sends this connection's reads to primaries again.",
       "3.0.0",
       "cluster",
       o1,
       {}},
      {"asking",
       "Lets the next command run on a slot being imported.",
       "3.0.0",
       "cluster",
       o1,
       {}},
      {"cluster",
       "Cluster state: SLOTS, SHARDS, NODES, INFO, MYID, KEYSLOT, "
       "COUNTKEYSINSLOT, GETKEYSINSLOT.",
       "3.0.0",
       "cluster",
       "Depends on the subcommand",
       {Arg("subcommand", "string"), Arg("arg", "string", kOpt | kMulti)}},
  };
}

void WriteArg(const ArgDoc& a, ReplyWriter* out) {
  std::vector<absl::string_view> flags;
  if (a.flags & kOpt) flags.push_back("optional");
  if (a.flags & kMulti) flags.push_back("multiple");
  const size_t fields = 2 + (a.type == "key") + !a.token.empty() +
                        !flags.empty() + !a.arguments.empty();
  out->MapHeader(fields);
  out->Bulk("name");
  out->Bulk(a.name);
  out->Bulk("type");
  out->Bulk(a.type);
  if (a.type == "key") {
    // Every documented command has one key spec.
    out->Bulk("key_spec_index");
    out->Integer(0);
  }
  if (!a.token.empty()) {
    out->Bulk("token");
    out->Bulk(a.token);
  }
  if (!flags.empty()) {
    out->Bulk("flags");
    out->SetHeader(flags.size());
    for (absl::string_view f : flags) out->Status(f);
  }
  if (!a.arguments.empty()) {
    out->Bulk("arguments");
    out->ArrayHeader(a.arguments.size());
    for (const ArgDoc& sub : a.arguments) WriteArg(sub, out);
  }
}

}  // namespace

const std::vector<CommandDoc>& AllCommandDocs() {
  static const auto* docs = new std::vector<CommandDoc>(Build());
  return *docs;
}

const CommandDoc* FindCommandDoc(absl::string_view name) {
  static const auto* index = [] {
    auto* m = new absl::flat_hash_map<std::string, const CommandDoc*>();
    for (const CommandDoc& d : AllCommandDocs()) (*m)[d.name] = &d;
    return m;
  }();
  auto it = index->find(absl::AsciiStrToLower(name));
  return it == index->end() ? nullptr : it->second;
}

void WriteCommandDoc(const CommandDoc& doc, ReplyWriter* out) {
  out->MapHeader(doc.arguments.empty() ? 4 : 5);
  out->Bulk("summary");
  out->Bulk(doc.summary);
  out->Bulk("since");
  out->Bulk(doc.since);
  out->Bulk("group");
  out->Bulk(doc.group);
  out->Bulk("complexity");
  out->Bulk(doc.complexity);
  if (!doc.arguments.empty()) {
    out->Bulk("arguments");
    out->ArrayHeader(doc.arguments.size());
    for (const ArgDoc& a : doc.arguments) WriteArg(a, out);
  }
}

}  // namespace slotcache::node::resp
