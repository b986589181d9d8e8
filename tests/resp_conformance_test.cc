// Conformance with Redis: a real redis-server (Debian) and a standalone
// slotcache-node receive the same seeded random stream of every keyspace
// command slotcache supports (strings, counters, floats, TTLs, hashes,
// wrong types, wrong arity, bad options), one command at a time, and their
// replies must be equal: same RESP type and value; HGETALL compared as a
// map; TTL within 1 s of rounding (PTTL within 1 s of the time between the
// two sends); errors by their whole line, as Redis' texts are fixed.
//
// SLOTCACHE_CONFORMANCE_SEED overrides the seed (printed on failure).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"
#include "tests/resp_client.h"

namespace slotcache::testing {
namespace {

// One RESP2 reply.
struct Reply {
  char type = 0;  // '+', '-', ':', '$', '*'; '$'/'*' with nil = true.
  bool nil = false;
  std::string text;  // simple string, error line, integer or bulk
  std::vector<Reply> elements;
};

std::string Show(const Reply& r) {
  if (r.nil) return absl::StrCat(std::string(1, r.type), "nil");
  if (r.type != '*') return absl::StrCat(std::string(1, r.type), r.text);
  std::vector<std::string> parts;
  for (const Reply& e : r.elements) parts.push_back(Show(e));
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

// Reads one reply; false when the connection broke or timed out.
bool ReadReply(RawConnection* c, Reply* out) {
  std::string line;
  while (line.size() < 2 || line.compare(line.size() - 2, 2, "\r\n") != 0) {
    const std::string byte = c->ReadExactly(1);
    if (byte.empty()) return false;
    line += byte;
  }
  line.resize(line.size() - 2);
  if (line.empty()) return false;
  out->type = line[0];
  out->text = line.substr(1);
  if (out->type == '$' || out->type == '*') {
    int64_t n;
    if (!absl::SimpleAtoi(out->text, &n)) return false;
    out->text.clear();
    if (n < 0) {
      out->nil = true;
      return true;
    }
    if (out->type == '$') {
      const std::string bulk = c->ReadExactly(n + 2);
      if (bulk.size() != static_cast<size_t>(n + 2)) return false;
      out->text = bulk.substr(0, n);
      return true;
    }
    out->elements.resize(n);
    for (Reply& e : out->elements) {
      if (!ReadReply(c, &e)) return false;
    }
  }
  return true;
}

// HGETALL's flat field/value array as sorted pairs.
std::vector<std::pair<std::string, std::string>> AsMap(const Reply& r) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    pairs.emplace_back(r.elements[i].text, r.elements[i + 1].text);
  }
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

bool IntegersWithin(const Reply& a, const Reply& b, int64_t slack) {
  int64_t x, y;
  if (!absl::SimpleAtoi(a.text, &x) || !absl::SimpleAtoi(b.text, &y)) {
    return false;
  }
  if (x < 0 || y < 0) return x == y;  // -1 no TTL, -2 no key: exact.
  return std::abs(x - y) <= slack;
}

bool SameReply(const std::vector<std::string>& command, const Reply& redis,
               const Reply& node) {
  const std::string name = absl::AsciiStrToUpper(command[0]);
  const bool integers = redis.type == ':' && node.type == ':';
  if (name == "TTL" && integers) return IntegersWithin(redis, node, 1);
  if (name == "PTTL" && integers) return IntegersWithin(redis, node, 1000);
  if (name == "HGETALL" && redis.type == '*' && node.type == '*') {
    return AsMap(redis) == AsMap(node);
  }
  return Show(redis) == Show(node);
}

// The seeded stream. Few keys, so commands meet each other's keys: strings
// and hashes share names to produce WRONGTYPE; TTLs are long (>= 100 s) or
// in the past, so nothing expires between the two sends.
class CommandStream {
 public:
  explicit CommandStream(uint32_t seed) : rng_(seed) {}

  std::vector<std::string> Next() {
    using V = std::vector<std::string>;
    const std::string k = Key(), k2 = Key();
    switch (Pick(44)) {
      case 0:
        return {"SET", k, Value()};
      case 1:
        return {"SET", k, Value(), "EX", Seconds()};
      case 2:
        return {"SET", k, Value(), OneOf({"NX", "XX"})};
      case 3:
        return {"SET", k, Value(), "GET"};
      case 4:
        return {"SET", k, Value(), "KEEPTTL"};
      case 5:
        return {"SET", k, Value(), "PX", OneOf({"0", "-5", "x"})};
      case 6:
        return {"GET", k};
      case 7:
        return {"GETEX", k, OneOf({"EX", "PX"}), Seconds() + "000"};
      case 8:
        return {"GETEX", k, OneOf({"PERSIST", "BOGUS"})};
      case 9:
        return {"GETDEL", k};
      case 10:
        return {"APPEND", k, Value()};
      case 11:
        return {"STRLEN", k};
      case 12:
        return {"MGET", k, k2, Key()};
      case 13:
        return {"MSET", k, Value(), k2, Value()};
      case 14:
        return {"INCR", k};
      case 15:
        return {"DECR", k};
      case 16:
        return {"INCRBY", k, Integer()};
      case 17:
        return {"DECRBY", k, Integer()};
      case 18:
        return {"INCRBYFLOAT", k, Float()};
      case 19:
        return {"DEL", k, k2};
      case 20:
        return {"EXISTS", k, k, k2};
      case 21:
        return {"TYPE", k};
      case 22:
        return Expire("EXPIRE", k, Seconds());
      case 23:
        return Expire("PEXPIRE", k, Seconds() + "000");
      case 24:
        return Expire("EXPIREAT", k, Absolute(1));
      case 25:
        return Expire("PEXPIREAT", k, Absolute(1000));
      case 26:
        return Expire("EXPIRE", k, OneOf({"0", "-1", "x", "1.5"}));
      case 27:
        return {"PERSIST", k};
      case 28:
        return {"TTL", k};
      case 29:
        return {"PTTL", k};
      case 30:
        return {"HSET", k, Field(), Value(), Field(), Value()};
      case 31:
        return {"HGET", k, Field()};
      case 32:
        return {"HMGET", k, Field(), Field()};
      case 33:
        return {"HDEL", k, Field(), Field()};
      case 34:
        return {"HGETALL", k};
      case 35:
        return {"HINCRBY", k, Field(), Integer()};
      case 36:
        return {"HLEN", k};
      case 37:
        return {"HEXISTS", k, Field()};
      case 38:
        return WrongArity();
      case 39:
        return {"SET", k, "9223372036854775807"};  // for overflow
      case 40:
        return {"SET", k, OneOf({"1.5", "10", "-3", " 5", "abc"})};
      case 41:
        return {"HSET", k, Field(),
                OneOf({"1", "x",
                       "922337203685477580"
                       "7"})};
      case 42:
        return Expire("EXPIRE", k, Seconds(), OneOf({"NX", "XX", "GT", "LT"}),
                      OneOf({"NX", "XX", "GT", "LT"}));
      default:
        return V{"SET", k, Value(), "EX", Seconds(), "NX", "GET"};
    }
  }

 private:
  size_t Pick(size_t n) { return rng_() % n; }
  std::string OneOf(std::vector<std::string> options) {
    return options[Pick(options.size())];
  }
  std::string Key() { return absl::StrCat("k", Pick(8)); }
  std::string Field() { return absl::StrCat("f", Pick(4)); }
  std::string Value() {
    return OneOf({"v", "", "12", "-7", "3.25", "hello world", "x\r\ny"});
  }
  std::string Seconds() { return absl::StrCat(100 + Pick(100000)); }
  std::string Integer() {
    return OneOf({"1", "-1", "0", "100", "9223372036854775807",
                  "-9223372036854775808", "abc", "1.5",
                  "99999999999999999999"});
  }
  std::string Float() {
    return OneOf(
        {"1", "0.5", "-2.25", "3e2", "abc", "inf", "1e400", "10.0", "-0.125"});
  }
  // Unix time in the future (unit 1: seconds, 1000: ms), or in the past.
  std::string Absolute(int64_t unit) {
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    const int64_t t =
        Pick(4) == 0 ? now - 1 - Pick(1000) : now + 1000 + Pick(10000);
    return absl::StrCat(t * unit);
  }
  std::vector<std::string> Expire(const char* name, std::string key,
                                  std::string time, std::string opt1 = "",
                                  std::string opt2 = "") {
    std::vector<std::string> c = {name, std::move(key), std::move(time)};
    if (opt1.empty() && Pick(2) == 0) {
      opt1 = OneOf({"NX", "XX", "GT", "LT", "BOGUS"});
    }
    if (!opt1.empty()) c.push_back(std::move(opt1));
    if (!opt2.empty() && Pick(2) == 0) c.push_back(std::move(opt2));
    return c;
  }
  std::vector<std::string> WrongArity() {
    switch (Pick(9)) {
      case 0:
        return {"GET"};
      case 1:
        return {"SET", Key()};
      case 2:
        return {"hget", Key()};
      case 3:
        return {"HSET", Key(), Field()};
      case 4:
        return {"INCR", Key(), "1"};
      case 5:
        return {"MSET", Key(), "1", Key()};
      case 6:
        return {"TTL"};
      case 7:
        return {"FROBNICATE", Key(), "x\r\ny", std::string(200, 'z')};
      default:
        return {"Expire", Key()};
    }
  }

  std::mt19937 rng_;
};

TEST(RespConformanceTest, SameRepliesAsRedisForARandomCommandStream) {
  if (access(kRedisServer, X_OK) != 0) {
    GTEST_SKIP() << kRedisServer
                 << " is missing: run deploy/setup.sh (Debian redis-server)";
  }
  // Redis.
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string dir = NewTempDir("conformance");
  auto redis =
      ChildProcess::Start(kRedisServer,
                          {"--port", absl::StrCat(port), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--dir", dir},
                          dir + "/redis.log");
  ASSERT_TRUE(redis.ok()) << redis.status();
  const std::string redis_address = absl::StrCat("127.0.0.1:", port);
  std::unique_ptr<RawConnection> to_redis;
  ASSERT_TRUE(PollUntil(
                  [&] {
                    auto c = RawConnection::Connect(redis_address);
                    if (!c.ok()) return false;
                    to_redis = std::move(*c);
                    return true;
                  },
                  absl::Seconds(30), "redis-server accepting")
                  .ok())
      << (*redis)->ReadLog();

  // slotcache.
  const std::string file = dir + "/resp.addr";
  auto node = StartServer(RunfilePath("node/slotcache-node"),
                          {"--resp_listen=127.0.0.1:0",
                           absl::StrCat("--resp_address_file=", file)});
  ASSERT_TRUE(node.ok()) << node.status();
  std::string node_address;
  std::getline(std::ifstream(file), node_address);
  auto to_node = RawConnection::Connect(node_address);
  ASSERT_TRUE(to_node.ok()) << to_node.status();

  uint32_t seed = 20261203;
  if (const char* s = std::getenv("SLOTCACHE_CONFORMANCE_SEED")) {
    ASSERT_TRUE(absl::SimpleAtoi(s, &seed)) << s;
  }
  constexpr int kCommands = 10000;
  CommandStream stream(seed);
  int differences = 0;
  for (int i = 0; i < kCommands; ++i) {
    const std::vector<std::string> command = stream.Next();
    Reply from_redis, from_node;
    ASSERT_TRUE(to_redis->Send(Multibulk(command)).ok());
    ASSERT_TRUE(ReadReply(to_redis.get(), &from_redis))
        << "redis-server did not answer " << absl::StrJoin(command, " ");
    ASSERT_TRUE((*to_node)->Send(Multibulk(command)).ok());
    ASSERT_TRUE(ReadReply(to_node->get(), &from_node))
        << "slotcache did not answer " << absl::StrJoin(command, " ");
    if (!SameReply(command, from_redis, from_node)) {
      ++differences;
      ADD_FAILURE() << "command " << i << " (seed " << seed
                    << "): " << absl::CHexEscape(absl::StrJoin(command, " "))
                    << "\n  redis:     " << absl::CHexEscape(Show(from_redis))
                    << "\n  slotcache: " << absl::CHexEscape(Show(from_node));
    }
  }
  EXPECT_EQ(differences, 0) << "of " << kCommands << " commands, seed " << seed;
}

}  // namespace
}  // namespace slotcache::testing
