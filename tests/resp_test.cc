// The RESP port of a standalone node, driven by the real redis-cli and by
// raw sockets (exact bytes, pipelining, hostile input, limits).
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/rpc.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/admin.grpc.pb.h"
#include "tests/harness/process.h"
#include "tests/resp_client.h"

namespace slotcache::testing {
namespace {

// A standalone slotcache-node with a RESP port.
struct RespNode {
  ServerProcess server;
  std::string resp;  // host:port
};

RespNode StartNode(std::vector<std::string> flags = {}) {
  const std::string file = NewTempDir("resp-node") + "/resp.addr";
  flags.push_back("--resp_listen=127.0.0.1:0");
  flags.push_back(absl::StrCat("--resp_address_file=", file));
  absl::StatusOr<ServerProcess> server =
      StartServer(RunfilePath("node/slotcache-node"), flags);
  EXPECT_TRUE(server.ok()) << server.status();
  RespNode node;
  if (!server.ok()) return node;
  node.server = std::move(*server);
  std::ifstream in(file);
  std::getline(in, node.resp);
  EXPECT_FALSE(node.resp.empty()) << "no RESP address in " << file;
  return node;
}

class RespTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kRedisCli, X_OK), 0)
        << kRedisCli << " is missing: run deploy/setup.sh (redis-tools)";
    node_ = StartNode();
    ASSERT_FALSE(node_.resp.empty());
  }

  // redis-cli's output for one command, trailing newline removed.
  std::string Cli(const std::vector<std::string>& args) {
    absl::StatusOr<std::string> out = RedisCli(node_.resp, args);
    EXPECT_TRUE(out.ok()) << out.status();
    std::string s = out.ok() ? *out : "";
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  std::unique_ptr<RawConnection> Connect() {
    auto c = RawConnection::Connect(node_.resp);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  RespNode node_;
};

// A connection that sent a command and then sits idle must not count as
// a request in flight: a write pause (manual failover, a migration's
// cut-over) waits for those, and used to wait for the idle loop's
// routing snapshot until the pause ended.
TEST_F(RespTest, AnIdleConnectionDoesNotHoldUpAWritePause) {
  std::unique_ptr<RawConnection> c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n").ok());
  ASSERT_EQ(c->ReadExactly(5), "+OK\r\n");
  auto admin = v1::NodeAdminService::NewStub(MakeChannel(node_.server.address));
  // A pause needs a shard primary: give the node a one-shard map.
  v1::NodeStatus status;
  {
    grpc::ClientContext c;
    ASSERT_TRUE(admin->GetNodeStatus(&c, {}, &status).ok());
  }
  v1::ClusterMap map;
  map.set_version(1);
  v1::NodeInfo* node = map.add_nodes();
  node->set_node_id(status.node_id());
  node->set_address(node_.server.address);
  node->set_role(v1::PRIMARY);
  node->set_shard_id("s1");
  v1::ShardInfo* shard = map.add_shards();
  shard->set_shard_id("s1");
  shard->set_primary_node_id(status.node_id());
  shard->set_config_epoch(1);
  shard->add_slots()->set_end(16383);
  {
    grpc::ClientContext c;
    v1::ApplyClusterMapResponse applied;
    ASSERT_TRUE(admin->ApplyClusterMap(&c, map, &applied).ok());
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::PauseWritesRequest request;
  request.set_duration_ms(3000);
  v1::PauseWritesResponse response;
  grpc::Status paused = admin->PauseWrites(&context, request, &response);
  EXPECT_TRUE(paused.ok()) << paused.error_code() << ": "
                           << paused.error_message();
  grpc::ClientContext resume_context;
  v1::ResumeWritesResponse resumed;
  EXPECT_TRUE(admin->ResumeWrites(&resume_context, {}, &resumed).ok());
}

TEST_F(RespTest, RedisCliRunsStringHashAndKeyCommands) {
  EXPECT_EQ(Cli({"PING"}), "PONG");
  EXPECT_EQ(Cli({"SET", "user:1", "alice"}), "OK");
  EXPECT_EQ(Cli({"GET", "user:1"}), "alice");
  EXPECT_EQ(Cli({"GET", "missing"}), "");
  EXPECT_EQ(Cli({"INCR", "counter"}), "1");
  EXPECT_EQ(Cli({"INCRBY", "counter", "41"}), "42");
  EXPECT_EQ(Cli({"HSET", "session:9", "user", "alice", "cart", "3"}), "2");
  EXPECT_EQ(Cli({"HGET", "session:9", "cart"}), "3");
  const std::string all = Cli({"HGETALL", "session:9"});
  EXPECT_TRUE(absl::StrContains(all, "user\nalice")) << all;
  EXPECT_TRUE(absl::StrContains(all, "cart\n3")) << all;
  EXPECT_EQ(Cli({"EXPIRE", "user:1", "100"}), "1");
  EXPECT_EQ(Cli({"TTL", "user:1"}), "100");
  EXPECT_EQ(Cli({"TTL", "counter"}), "-1");
  EXPECT_EQ(Cli({"MSET", "{t}a", "1", "{t}b", "2"}), "OK");
  EXPECT_EQ(Cli({"MGET", "{t}a", "{t}b"}), "1\n2");
  EXPECT_EQ(Cli({"DBSIZE"}), "5");
  const std::string scan = Cli({"SCAN", "0", "COUNT", "100"});
  EXPECT_TRUE(absl::StartsWith(scan, "0\n")) << scan;
  for (const char* key : {"user:1", "counter", "session:9", "{t}a"}) {
    EXPECT_TRUE(absl::StrContains(scan, key)) << scan;
  }
  EXPECT_EQ(Cli({"DEL", "{t}a", "{t}b", "{t}missing"}), "2");
  EXPECT_EQ(Cli({"DEL", "user:1"}), "1");
  EXPECT_EQ(Cli({"EXISTS", "user:1"}), "0");
}

TEST_F(RespTest, ErrorsUseRedisErrorLines) {
  ASSERT_EQ(Cli({"HSET", "h", "f", "v"}), "1");
  EXPECT_EQ(
      Cli({"GET", "h"}),
      "WRONGTYPE Operation against a key holding the wrong kind of value");
  ASSERT_EQ(Cli({"SET", "s", "abc"}), "OK");
  EXPECT_TRUE(absl::StartsWith(Cli({"INCR", "s"}),
                               "ERR value is not an integer or out of range"));
  EXPECT_TRUE(absl::StartsWith(Cli({"FROBNICATE"}), "ERR unknown command"));
  // Exact bytes on the wire.
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send(Multibulk({"GET", "h"})).ok());
  const std::string want =
      "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  EXPECT_EQ(c->ReadExactly(want.size()), want);
}

TEST_F(RespTest, PipelinedRequestsInOneWriteAnswerInOrder) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  constexpr int kCommands = 5000;
  std::string request, want;
  for (int i = 0; i < kCommands; ++i) {
    absl::StrAppend(&request, Multibulk({"INCR", "pipelined"}));
    absl::StrAppend(&want, ":", i + 1, "\r\n");
  }
  absl::StrAppend(&request, Multibulk({"GET", "pipelined"}));
  absl::StrAppend(&want, "$4\r\n5000\r\n");
  ASSERT_TRUE(c->Send(request).ok());
  EXPECT_EQ(c->ReadExactly(want.size()), want);
}

TEST_F(RespTest, LargeValuesRoundTrip) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  std::string value(8 << 20, 'v');
  for (size_t i = 0; i < value.size(); i += 4096) value[i] = 'a' + i % 26;
  ASSERT_TRUE(c->Send(Multibulk({"SET", "big", value}) +
                      Multibulk({"GET", "big"}) + Multibulk({"STRLEN", "big"}))
                  .ok());
  const std::string want = absl::StrCat("+OK\r\n$", value.size(), "\r\n", value,
                                        "\r\n:", value.size(), "\r\n");
  EXPECT_TRUE(c->ReadExactly(want.size(), absl::Seconds(30)) == want);
}

TEST_F(RespTest, RedisCliPipeModeLoadsEverything) {
  const std::string dir = NewTempDir("resp-pipe");
  std::ofstream out(dir + "/commands.txt");
  for (int i = 0; i < 2000; ++i)
    out << Multibulk({"SET", absl::StrCat("k", i), "v"});
  out.close();
  const size_t colon = node_.resp.rfind(':');
  absl::StatusOr<std::string> result = Shell(absl::StrCat(
      kRedisCli, " -h ", node_.resp.substr(0, colon), " -p ",
      node_.resp.substr(colon + 1), " --pipe < ", dir, "/commands.txt"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(absl::StrContains(*result, "errors: 0, replies: 2000"))
      << *result;
  EXPECT_EQ(Cli({"DBSIZE"}), "2000");
}

TEST_F(RespTest, InlineCommandsWork) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(
      c->Send("PING\r\nSET greeting \"hello world\"\nGET greeting\r\n").ok());
  const std::string want = "+PONG\r\n+OK\r\n$11\r\nhello world\r\n";
  EXPECT_EQ(c->ReadExactly(want.size()), want);
}

TEST_F(RespTest, HelloThreeRepliesWithResp3Maps) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send(Multibulk({"HSET", "h", "f", "v"})).ok());
  ASSERT_EQ(c->ReadExactly(4), ":1\r\n");
  ASSERT_TRUE(c->Send(Multibulk({"HELLO", "3"})).ok());
  EXPECT_EQ(c->ReadExactly(4), "%7\r\n");
  // The rest of HELLO's map, up to a PING sent behind it.
  ASSERT_TRUE(c->Send(Multibulk({"PING"})).ok());
  std::string rest;
  while (!absl::EndsWith(rest, "+PONG\r\n") && !c->closed()) {
    rest += c->ReadExactly(1, absl::Seconds(5));
  }
  EXPECT_TRUE(absl::StrContains(rest, "$5\r\nproto\r\n:3\r\n")) << rest;
  ASSERT_TRUE(c->Send(Multibulk({"HGETALL", "h"})).ok());
  const std::string want = "%1\r\n$1\r\nf\r\n$1\r\nv\r\n";
  EXPECT_EQ(c->ReadExactly(want.size()), want);
  // redis-cli -3 shows maps as key/value lines too.
  EXPECT_TRUE(absl::StrContains(Cli({"-3", "HGETALL", "h"}), "f"));
}

TEST_F(RespTest, ProtocolErrorIsRepliedThenTheConnectionCloses) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send("*1\r\n$3\r\nGET\r\n*x\r\n").ok());
  EXPECT_EQ(c->ReadUntilClosed(),
            "-ERR wrong number of arguments for 'get' command\r\n"
            "-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_TRUE(c->closed());
  // The node is fine.
  EXPECT_EQ(Cli({"PING"}), "PONG");
}

TEST_F(RespTest, QuitClosesAfterReplying) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send("QUIT\r\nPING\r\n").ok());
  EXPECT_EQ(c->ReadUntilClosed(), "+OK\r\n");
}

TEST_F(RespTest, SigtermStopsTheNodeWithClientsConnected) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send("PING\r\n").ok());
  ASSERT_EQ(c->ReadExactly(7), "+PONG\r\n");
  ASSERT_TRUE(node_.server.process->Signal(SIGTERM).ok());
  absl::StatusOr<int> code = node_.server.process->Wait(absl::Seconds(20));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << node_.server.process->ReadLog();
  c->ReadUntilClosed(absl::Seconds(5));
  EXPECT_TRUE(c->closed());
}

TEST(RespReplicationTest, WaitCountsReplicasThatAppliedTheWrites) {
  RespNode primary = StartNode();
  ASSERT_FALSE(primary.resp.empty());
  RespNode replica =
      StartNode({absl::StrCat("--replicaof=", primary.server.address)});
  ASSERT_FALSE(replica.resp.empty());
  auto c = RawConnection::Connect(primary.resp);
  ASSERT_TRUE(c.ok());
  // The replica attaches asynchronously: WAIT until it acknowledges.
  absl::Status acked = PollUntil(
      [&] {
        if (!(*c)->Send(Multibulk({"SET", "k", "v"}) +
                        Multibulk({"WAIT", "1", "200"}))
                 .ok()) {
          return false;
        }
        return (*c)->ReadExactly(9) == "+OK\r\n:1\r\n";
      },
      absl::Seconds(20), "WAIT 1 to count the replica");
  EXPECT_TRUE(acked.ok()) << acked;
  absl::StatusOr<std::string> info =
      RedisCli(primary.resp, {"INFO", "replication"});
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(absl::StrContains(*info, "role:master")) << *info;
  EXPECT_TRUE(absl::StrContains(*info, "connected_slaves:1")) << *info;
  info = RedisCli(replica.resp, {"INFO", "replication"});
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(absl::StrContains(*info, "role:slave")) << *info;
  EXPECT_TRUE(absl::StrContains(*info, "master_link_status:up")) << *info;
  // Requests pipelined behind a WAIT are answered after it, in order.
  ASSERT_TRUE(
      (*c)->Send(Multibulk({"WAIT", "2", "100"}) + Multibulk({"GET", "k"}))
          .ok());
  EXPECT_EQ((*c)->ReadExactly(11), ":1\r\n$1\r\nv\r\n");
  // The replica refuses writes like a Redis replica (no cluster mode).
  absl::StatusOr<std::string> refused =
      RedisCli(replica.resp, {"SET", "k", "other"});
  ASSERT_TRUE(refused.ok());
  EXPECT_TRUE(absl::StartsWith(
      *refused, "READONLY You can't write against a read only replica."))
      << *refused;
}

TEST(RespLimitsTest, ClientThatNeverReadsIsDisconnected) {
  RespNode node = StartNode({"--resp_output_buffer_limit=1mb"});
  ASSERT_FALSE(node.resp.empty());
  auto c = RawConnection::Connect(node.resp);
  ASSERT_TRUE(c.ok());
  const std::string value(100 * 1024, 'x');
  ASSERT_TRUE((*c)->Send(Multibulk({"SET", "big", value})).ok());
  ASSERT_EQ((*c)->ReadExactly(5), "+OK\r\n");
  // 400 replies of 100 KiB (40 MiB) without reading: more than the
  // socket buffers and the 1 MiB output limit hold.
  std::string gets;
  for (int i = 0; i < 400; ++i) gets += Multibulk({"GET", "big"});
  (void)(*c)->Send(gets);  // May fail once the node closed the socket.
  const std::string got = (*c)->ReadUntilClosed(absl::Seconds(20));
  EXPECT_TRUE((*c)->closed());
  EXPECT_LT(got.size(), 400 * value.size());
  EXPECT_TRUE(
      absl::StrContains(node.server.process->ReadLog(), "output buffer limit"));
}

TEST(RespLimitsTest, MaxClientsRefusesWithRedisError) {
  RespNode node = StartNode({"--maxclients=2"});
  ASSERT_FALSE(node.resp.empty());
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 2; ++i) {
    auto c = RawConnection::Connect(node.resp);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->Send("PING\r\n").ok());
    ASSERT_EQ((*c)->ReadExactly(7), "+PONG\r\n");
    held.push_back(std::move(*c));
  }
  auto third = RawConnection::Connect(node.resp);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ((*third)->ReadUntilClosed(),
            "-ERR max number of clients reached\r\n");
  held.pop_back();
  // A slot frees up once a client leaves.
  ASSERT_TRUE(PollUntil(
                  [&] {
                    auto c = RawConnection::Connect(node.resp);
                    if (!c.ok() || !(*c)->Send("PING\r\n").ok()) return false;
                    return (*c)->ReadExactly(7, absl::Seconds(2)) ==
                           "+PONG\r\n";
                  },
                  absl::Seconds(10), "a client slot to free up")
                  .ok());
}

TEST(RespLimitsTest, OversizedBulkIsAProtocolError) {
  RespNode node = StartNode({"--max_value_bytes=1kb"});
  ASSERT_FALSE(node.resp.empty());
  auto c = RawConnection::Connect(node.resp);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$999999\r\n").ok());
  EXPECT_EQ((*c)->ReadUntilClosed(),
            "-ERR Protocol error: invalid bulk length\r\n");
}

TEST(RespLimitsTest, QueryBufferLimitDisconnects) {
  RespNode node = StartNode({"--resp_query_buffer_limit=1mb"});
  ASSERT_FALSE(node.resp.empty());
  auto c = RawConnection::Connect(node.resp);
  ASSERT_TRUE(c.ok());
  // A valid 8 MiB bulk header, then more unparsed input than the limit.
  (void)(*c)->Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$8388608\r\n" +
                   std::string(2 << 20, 'x'));
  (*c)->ReadUntilClosed(absl::Seconds(15));
  EXPECT_TRUE((*c)->closed());
  EXPECT_TRUE(
      absl::StrContains(node.server.process->ReadLog(), "query buffer limit"));
}

TEST(RespLimitsTest, IdleClientsAreClosed) {
  RespNode node = StartNode({"--resp_idle_timeout=1s"});
  ASSERT_FALSE(node.resp.empty());
  auto c = RawConnection::Connect(node.resp);
  ASSERT_TRUE(c.ok());
  (*c)->ReadUntilClosed(absl::Seconds(15));
  EXPECT_TRUE((*c)->closed());
}

// CLIENT LIST shows real buffer sizes: a half-sent request in qbuf, and
// unread replies of a client that does not read in obl/omem.
TEST_F(RespTest, ClientListShowsBufferSizes) {
  auto id_of = [](RawConnection* c) {
    EXPECT_TRUE(c->Send(Multibulk({"CLIENT", "ID"})).ok());
    std::string line;
    for (char ch = 0; ch != '\n';) {
      ch = c->ReadExactly(1)[0];
      line += ch;
    }
    return line.substr(1, line.size() - 3);  // ":<id>\r\n"
  };
  auto half = Connect();
  ASSERT_NE(half, nullptr);
  const std::string half_id = id_of(half.get());
  const std::string partial = "*2\r\n$3\r\nGET\r\n$10\r\nab";
  ASSERT_TRUE(half->Send(partial).ok());
  auto reader = Connect();
  ASSERT_NE(reader, nullptr);
  const std::string reader_id = id_of(reader.get());
  ASSERT_TRUE(
      reader->Send(Multibulk({"SET", "big", std::string(100 << 10, 'x')}))
          .ok());
  ASSERT_EQ(reader->ReadExactly(5), "+OK\r\n");
  std::string gets;
  for (int i = 0; i < 200; ++i) gets += Multibulk({"GET", "big"});
  ASSERT_TRUE(reader->Send(gets).ok());  // 20 MiB of replies, never read.
  auto field = [](const std::string& list, const std::string& id,
                  const std::string& name) -> int64_t {
    for (absl::string_view line : absl::StrSplit(list, '\n')) {
      if (!absl::StartsWith(line, absl::StrCat("id=", id, " "))) continue;
      for (absl::string_view kv : absl::StrSplit(line, ' ')) {
        int64_t v;
        if (absl::ConsumePrefix(&kv, name + "=") && absl::SimpleAtoi(kv, &v)) {
          return v;
        }
      }
    }
    return -1;
  };
  std::string list;
  absl::Status shown = PollUntil(
      [&] {
        list = Cli({"CLIENT", "LIST"});
        return field(list, half_id, "qbuf") ==
                   static_cast<int64_t>(partial.size()) &&
               field(list, reader_id, "obl") > 0 &&
               field(list, reader_id, "omem") >= field(list, reader_id, "obl");
      },
      absl::Seconds(10), "CLIENT LIST to show both clients' buffers");
  EXPECT_TRUE(shown.ok()) << shown << "\n" << list;
  EXPECT_GT(field(list, half_id, "fd"), 0) << list;
}

}  // namespace
}  // namespace slotcache::testing
