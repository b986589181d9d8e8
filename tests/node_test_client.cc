#include "tests/node_test_client.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/status.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"

namespace slotcache::testing {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(20);

}  // namespace

std::string PathName(Path path) {
  switch (path) {
    case Path::kExecute:
      return "Execute";
    case Path::kBatch:
      return "Batch";
    case Path::kPipeline:
      return "Pipeline";
  }
  return "?";
}

v1::Command Cmd(std::initializer_list<std::string> words) {
  v1::Command command;
  auto it = words.begin();
  if (it != words.end()) command.set_name(*it++);
  for (; it != words.end(); ++it) command.add_args(*it);
  return command;
}

absl::StatusOr<std::unique_ptr<NodeUnderTest>> NodeUnderTest::Start(
    const std::vector<std::string>& args) {
  absl::StatusOr<ServerProcess> server =
      StartServer(RunfilePath("node/slotcache-node"), args);
  if (!server.ok()) return server.status();
  return std::unique_ptr<NodeUnderTest>(new NodeUnderTest(*std::move(server)));
}

NodeUnderTest::NodeUnderTest(ServerProcess server)
    : server_(std::move(server)),
      channel_(MakeChannel(server_.address)),
      cache_(v1::CacheService::NewStub(channel_)),
      admin_(v1::NodeAdminService::NewStub(channel_)) {}

absl::StatusOr<std::vector<v1::Reply>> NodeUnderTest::Run(
    Path path, const std::vector<v1::Command>& commands,
    const v1::RequestOptions& options) {
  std::vector<v1::Reply> replies;
  switch (path) {
    case Path::kExecute:
      for (const v1::Command& command : commands) {
        grpc::ClientContext context;
        context.set_deadline(DeadlineIn(kCallTimeout));
        v1::ExecuteRequest request;
        *request.mutable_command() = command;
        *request.mutable_options() = options;
        v1::ExecuteResponse response;
        grpc::Status status = cache_->Execute(&context, request, &response);
        if (!status.ok()) return FromGrpcStatus(status);
        replies.push_back(response.reply());
      }
      return replies;
    case Path::kBatch: {
      grpc::ClientContext context;
      context.set_deadline(DeadlineIn(kCallTimeout));
      v1::BatchRequest request;
      request.set_id(42);
      for (const v1::Command& command : commands) {
        *request.add_commands() = command;
      }
      *request.mutable_options() = options;
      v1::BatchResponse response;
      grpc::Status status = cache_->Batch(&context, request, &response);
      if (!status.ok()) return FromGrpcStatus(status);
      if (response.id() != 42) {
        return absl::InternalError("batch id was not echoed");
      }
      return std::vector<v1::Reply>(response.replies().begin(),
                                    response.replies().end());
    }
    case Path::kPipeline: {
      grpc::ClientContext context;
      context.set_deadline(DeadlineIn(kCallTimeout));
      auto stream = cache_->Pipeline(&context);
      for (size_t i = 0; i < commands.size(); ++i) {
        v1::BatchRequest request;
        request.set_id(i + 1);
        *request.add_commands() = commands[i];
        *request.mutable_options() = options;
        if (!stream->Write(request)) break;
      }
      stream->WritesDone();
      v1::BatchResponse response;
      while (stream->Read(&response)) {
        if (response.id() != replies.size() + 1) {
          return absl::InternalError(
              absl::StrCat("pipeline response id ", response.id(),
                           " out of order after ", replies.size()));
        }
        for (const v1::Reply& reply : response.replies()) {
          replies.push_back(reply);
        }
      }
      grpc::Status status = stream->Finish();
      if (!status.ok()) return FromGrpcStatus(status);
      return replies;
    }
  }
  return absl::InternalError("unknown path");
}

v1::Reply NodeUnderTest::Run1(Path path, const v1::Command& command,
                              const v1::RequestOptions& options) {
  absl::StatusOr<std::vector<v1::Reply>> replies =
      Run(path, {command}, options);
  EXPECT_TRUE(replies.ok()) << replies.status();
  if (!replies.ok() || replies->size() != 1) {
    ADD_FAILURE() << "expected exactly one reply";
    return v1::Reply();
  }
  return (*replies)[0];
}

bool NodeUnderTest::Alive() {
  absl::StatusOr<std::vector<v1::Reply>> replies =
      Run(Path::kExecute, {Cmd({"PING"})});
  return replies.ok() && replies->size() == 1 && !(*replies)[0].has_error();
}

std::string ReplyText(const v1::Reply& reply) {
  return reply.ShortDebugString();
}

}  // namespace slotcache::testing
