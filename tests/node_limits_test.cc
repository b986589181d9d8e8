// A real slotcache-node refuses what is too large or malformed with a clear
// typed error, changes nothing when it refuses, runs out of memory politely
// under noeviction, and survives garbage on the wire.
#include <random>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/rpc.h"
#include "common/status.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "tests/node_test_client.h"

namespace slotcache {
namespace {

using testing::Cmd;
using testing::NodeUnderTest;
using testing::Path;
using testing::ReplyText;

constexpr Path kAllPaths[] = {Path::kExecute, Path::kBatch, Path::kPipeline};

std::unique_ptr<NodeUnderTest> StartNode(
    const std::vector<std::string>& args = {}) {
  absl::StatusOr<std::unique_ptr<NodeUnderTest>> node =
      NodeUnderTest::Start(args);
  EXPECT_TRUE(node.ok()) << node.status();
  return node.ok() ? *std::move(node) : nullptr;
}

void ExpectInvalidArgumentNaming(const v1::Reply& reply,
                                 const std::string& limit) {
  ASSERT_TRUE(reply.has_error()) << ReplyText(reply);
  EXPECT_EQ(reply.error().code(), v1::INVALID_ARGUMENT) << ReplyText(reply);
  EXPECT_NE(reply.error().message().find(limit), std::string::npos)
      << ReplyText(reply);
}

void ExpectStatusNaming(const absl::Status& status, const std::string& limit) {
  EXPECT_EQ(ErrorCodeOf(status), v1::INVALID_ARGUMENT) << status;
  EXPECT_NE(status.message().find(limit), std::string::npos) << status;
}

TEST(NodeLimitsTest, KeyOverMaxKeyBytesIsRefusedAndChangesNothing) {
  auto node = StartNode({"--max_key_bytes=16"});
  ASSERT_NE(node, nullptr);
  std::string long_key(17, 'k');
  for (Path path : kAllPaths) {
    SCOPED_TRACE(testing::PathName(path));
    ExpectInvalidArgumentNaming(node->Run1(path, Cmd({"SET", long_key, "v"})),
                                "max_key_bytes");
    ExpectInvalidArgumentNaming(
        node->Run1(path, Cmd({"DEL", "short", long_key})), "max_key_bytes");
    EXPECT_EQ(node->Run1(path, Cmd({"SET", std::string(16, 'k'), "v"}))
                  .value()
                  .status(),
              "OK");
  }
  EXPECT_EQ(node->Run1(Path::kExecute, Cmd({"DBSIZE"})).value().integer(), 1);
}

TEST(NodeLimitsTest, ValueOverMaxValueBytesIsRefusedAndChangesNothing) {
  auto node = StartNode({"--max_value_bytes=1kb"});
  ASSERT_NE(node, nullptr);
  std::string big(1025, 'v');
  for (Path path : kAllPaths) {
    SCOPED_TRACE(testing::PathName(path));
    std::string key = "k" + testing::PathName(path);
    ExpectInvalidArgumentNaming(node->Run1(path, Cmd({"SET", key, big})),
                                "max_value_bytes");
    ExpectInvalidArgumentNaming(
        node->Run1(path, Cmd({"HSET", key, "field", big})), "max_value_bytes");
    EXPECT_TRUE(node->Run1(path, Cmd({"GET", key})).value().nil());
    EXPECT_EQ(node->Run1(path, Cmd({"SET", key, std::string(1024, 'v')}))
                  .value()
                  .status(),
              "OK");
  }
}

TEST(NodeLimitsTest, BatchOverMaxBatchCommandsIsRefusedWhole) {
  auto node = StartNode({"--max_batch_commands=3"});
  ASSERT_NE(node, nullptr);
  std::vector<v1::Command> four = {Cmd({"SET", "a", "1"}), Cmd({"PING"}),
                                   Cmd({"PING"}), Cmd({"PING"})};
  absl::StatusOr<std::vector<v1::Reply>> batch = node->Run(Path::kBatch, four);
  ASSERT_FALSE(batch.ok());
  ExpectStatusNaming(batch.status(), "max_batch_commands");
  EXPECT_TRUE(node->Run1(Path::kExecute, Cmd({"GET", "a"})).value().nil())
      << "nothing of a refused batch runs";
  ASSERT_TRUE(node->Run(Path::kBatch, {four[0], four[1], four[2]}).ok());
}

TEST(NodeLimitsTest, PipelineAnswersEarlierBatchesThenEndsOnAnOversizeOne) {
  auto node = StartNode({"--max_batch_commands=2"});
  ASSERT_NE(node, nullptr);
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(20)));
  auto stream = node->cache()->Pipeline(&context);
  v1::BatchRequest ok_batch;
  ok_batch.set_id(1);
  *ok_batch.add_commands() = Cmd({"SET", "p", "1"});
  v1::BatchRequest big_batch;
  big_batch.set_id(2);
  for (int i = 0; i < 3; ++i) *big_batch.add_commands() = Cmd({"PING"});
  ASSERT_TRUE(stream->Write(ok_batch));
  stream->Write(big_batch);
  stream->WritesDone();
  v1::BatchResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.id(), 1u);
  EXPECT_FALSE(stream->Read(&response));
  absl::Status status = FromGrpcStatus(stream->Finish());
  ExpectStatusNaming(status, "max_batch_commands");
  EXPECT_EQ(node->Run1(Path::kExecute, Cmd({"GET", "p"})).value().bulk(), "1");
}

TEST(NodeLimitsTest, MessageOverMaxMessageBytesIsRefused) {
  auto node = StartNode({"--max_message_bytes=64kb"});
  ASSERT_NE(node, nullptr);
  std::string value(100 * 1024, 'v');
  for (Path path : kAllPaths) {
    SCOPED_TRACE(testing::PathName(path));
    absl::StatusOr<std::vector<v1::Reply>> replies =
        node->Run(path, {Cmd({"SET", "k", value})});
    ASSERT_FALSE(replies.ok());
    ExpectStatusNaming(replies.status(), "max_message_bytes");
  }
  // Far over the limit gRPC itself cuts the message off; the node lives.
  absl::StatusOr<std::vector<v1::Reply>> huge =
      node->Run(Path::kExecute, {Cmd({"SET", "k", std::string(8 << 20, 'v')})});
  EXPECT_FALSE(huge.ok());
  EXPECT_TRUE(node->Run1(Path::kExecute, Cmd({"GET", "k"})).value().nil());
  EXPECT_TRUE(node->Alive());
}

TEST(NodeLimitsTest, NoevictionRefusesWritesWithOomButServesReadsAndDeletes) {
  auto node = StartNode({"--maxmemory=2mb", "--maxmemory_policy=noeviction"});
  ASSERT_NE(node, nullptr);
  std::string value(16 * 1024, 'v');
  int written = 0;
  v1::Reply last;
  for (int i = 0; i < 1000; ++i) {
    last =
        node->Run1(Path::kExecute, Cmd({"SET", absl::StrCat("key", i), value}));
    if (last.has_error()) break;
    ++written;
  }
  ASSERT_TRUE(last.has_error()) << "2mb never filled up";
  EXPECT_EQ(last.error().code(), v1::OOM) << ReplyText(last);
  EXPECT_GT(written, 0);
  EXPECT_EQ(node->Run1(Path::kBatch, Cmd({"GET", "key0"})).value().bulk(),
            value);
  EXPECT_EQ(node->Run1(Path::kPipeline, Cmd({"DEL", "key0"})).value().integer(),
            1);
  v1::GetNodeStatusRequest request;
  v1::NodeStatus status;
  grpc::ClientContext context;
  ASSERT_TRUE(node->admin()->GetNodeStatus(&context, request, &status).ok());
  EXPECT_EQ(status.maxmemory_bytes(), 2u << 20);
  EXPECT_EQ(status.eviction_policy(), "noeviction");
  EXPECT_EQ(status.key_count(), static_cast<uint64_t>(written - 1));
}

TEST(NodeLimitsTest, BadFlagsStopTheNodeWithAClearMessage) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--maxmemory=lots"},
        std::vector<std::string>{"--maxmemory_policy=random-lru"}}) {
    absl::StatusOr<std::unique_ptr<testing::ChildProcess>> process =
        testing::ChildProcess::Start(
            testing::RunfilePath("node/slotcache-node"), args,
            testing::NewTempDir("badflag") + "/log");
    ASSERT_TRUE(process.ok()) << process.status();
    absl::StatusOr<int> exit_code = (*process)->Wait(absl::Seconds(30));
    ASSERT_TRUE(exit_code.ok()) << exit_code.status();
    EXPECT_NE(*exit_code, 0);
    EXPECT_NE((*process)->ReadLog().find(args[0].substr(2, 9)),
              std::string::npos)
        << (*process)->ReadLog();
  }
}

TEST(NodeLimitsTest, MinReplicaAcksIsAnsweredHonestlyWithZero) {
  auto node = StartNode();
  ASSERT_NE(node, nullptr);
  grpc::ClientContext context;
  v1::ExecuteRequest request;
  *request.mutable_command() = Cmd({"SET", "k", "v"});
  request.mutable_options()->set_min_replica_acks(2);
  v1::ExecuteResponse response;
  ASSERT_TRUE(node->cache()->Execute(&context, request, &response).ok());
  EXPECT_EQ(response.reply().value().status(), "OK");
  EXPECT_EQ(response.replica_acks(), 0u);
}

// Sends raw bytes as the request of `method` and returns the call's status.
grpc::Status SendRaw(grpc::GenericStub* stub, const std::string& method,
                     const std::string& bytes) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub->UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                  [&](grpc::Status s) {
                    status = std::move(s);
                    done.Notify();
                  });
  done.WaitForNotification();
  return status;
}

TEST(NodeLimitsTest, GarbageOnTheWireNeverCrashesTheNode) {
  auto node = StartNode();
  ASSERT_NE(node, nullptr);
  grpc::GenericStub stub(node->channel());
  // Not a protobuf at all: refused by every method.
  const std::string invalid("\xff\xff\xff\xff\xff\xff", 6);
  // May or may not parse, depending on the message: must merely not hurt.
  std::vector<std::string> garbage = {
      invalid,
      std::string("\x0a\xff\xff\xff\xff\x0f", 6),  // Length past the end.
      std::string("\x0a\x02\x0a\x80", 4),  // Nested field: invalid UTF-8.
      std::string(1000, '\x12'),
      std::string(1000, '\x0a'),
  };
  for (const char* method : {"/slotcache.v1.CacheService/Execute",
                             "/slotcache.v1.CacheService/Batch",
                             "/slotcache.v1.CacheService/GetClusterMap",
                             "/slotcache.v1.NodeAdminService/ApplyClusterMap",
                             "/slotcache.v1.NodeAdminService/GetNodeStatus"}) {
    EXPECT_FALSE(SendRaw(&stub, method, invalid).ok()) << method;
    for (const std::string& bytes : garbage) SendRaw(&stub, method, bytes);
  }
  EXPECT_TRUE(node->Alive());
  // Well-formed but odd: empty command, empty name, many empty arguments.
  for (Path path : kAllPaths) {
    v1::Command many_args = Cmd({"DEL"});
    for (int i = 0; i < 5000; ++i) many_args.add_args("");
    absl::StatusOr<std::vector<v1::Reply>> replies =
        node->Run(path, {v1::Command(), Cmd({""}), many_args,
                         Cmd({std::string(1 << 20, 'X')})});
    ASSERT_TRUE(replies.ok()) << replies.status();
    EXPECT_EQ((*replies)[0].error().code(), v1::INVALID_ARGUMENT);
    EXPECT_EQ((*replies)[1].error().code(), v1::INVALID_ARGUMENT);
    EXPECT_EQ((*replies)[2].value().integer(), 0) << ReplyText((*replies)[2]);
    EXPECT_LT((*replies)[3].error().message().size(), 1000u)
        << "a huge unknown name is not echoed back whole";
  }
  EXPECT_TRUE(node->Alive());
}

// Random commands: real names with random argument counts and bytes
// (numbers, options, binary junk). Every reply is a value or a typed
// error, and the node keeps serving.
TEST(NodeLimitsTest, RandomCommandsGetTypedRepliesAndNeverCrashTheNode) {
  auto node = StartNode({"--max_value_bytes=4kb"});
  ASSERT_NE(node, nullptr);
  const std::vector<std::string> names = {
      "GET",         "SET",      "GETEX",     "GETDEL",    "APPEND",  "STRLEN",
      "MGET",        "MSET",     "INCR",      "DECR",      "INCRBY",  "DECRBY",
      "INCRBYFLOAT", "DEL",      "UNLINK",    "EXISTS",    "TYPE",    "EXPIRE",
      "PEXPIRE",     "EXPIREAT", "PEXPIREAT", "PERSIST",   "TTL",     "PTTL",
      "HSET",        "HGET",     "HMGET",     "HDEL",      "HGETALL", "HINCRBY",
      "HLEN",        "HEXISTS",  "DBSIZE",    "RANDOMKEY", "SCAN",    "PING"};
  const std::vector<std::string> words = {"{k}1",
                                          "{k}2",
                                          "0",
                                          "-1",
                                          "1",
                                          "9223372036854775807",
                                          "-9223372036854775808",
                                          "99999999999999999999",
                                          "1e308",
                                          "nan",
                                          "inf",
                                          "EX",
                                          "PX",
                                          "NX",
                                          "XX",
                                          "GT",
                                          "LT",
                                          "KEEPTTL",
                                          "GET",
                                          "PERSIST",
                                          "EXAT",
                                          "PXAT",
                                          "MATCH",
                                          "COUNT",
                                          "*",
                                          "[",
                                          "\\",
                                          "",
                                          std::string(1, '\0'),
                                          std::string("\xff\xfe", 2)};
  std::mt19937 gen(20261126);  // Fixed seed: the same commands every run.
  for (int round = 0; round < 20; ++round) {
    std::vector<v1::Command> commands;
    for (int i = 0; i < 100; ++i) {
      v1::Command command;
      command.set_name(names[absl::Uniform<size_t>(gen, 0, names.size())]);
      int argc = absl::Uniform<int>(gen, 0, 7);
      for (int a = 0; a < argc; ++a) {
        command.add_args(words[absl::Uniform<size_t>(gen, 0, words.size())]);
      }
      commands.push_back(std::move(command));
    }
    Path path = kAllPaths[round % 3];
    absl::StatusOr<std::vector<v1::Reply>> replies = node->Run(path, commands);
    ASSERT_TRUE(replies.ok()) << replies.status();
    ASSERT_EQ(replies->size(), commands.size());
    for (size_t i = 0; i < commands.size(); ++i) {
      const v1::Reply& reply = (*replies)[i];
      EXPECT_TRUE(reply.has_value() != reply.has_error())
          << commands[i].ShortDebugString() << " -> " << ReplyText(reply);
      if (reply.has_error()) {
        EXPECT_NE(reply.error().code(), v1::ERROR_CODE_UNSPECIFIED);
        EXPECT_NE(reply.error().code(), v1::INTERNAL)
            << commands[i].ShortDebugString() << " -> " << ReplyText(reply);
        EXPECT_FALSE(reply.error().message().empty());
      }
    }
  }
  EXPECT_TRUE(node->Alive());
}

}  // namespace
}  // namespace slotcache
