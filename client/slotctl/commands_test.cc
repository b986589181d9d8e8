// slotctl's commands against an in-process coordinator on a real socket.
#include "client/slotctl/commands.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "coordinator/coordinator.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/rocksdb_state_store.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"

namespace slotcache::slotctl {
namespace {

class SlotctlCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store =
        coordinator::OpenRocksDbStateStore(testing::NewTempDir("slotctl"));
    ASSERT_TRUE(store.ok()) << store.status();
    auto c = coordinator::Coordinator::Create(std::move(*store), {});
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
    service_ = std::make_unique<coordinator::CoordinatorServiceImpl>(
        coordinator_.get());
    auto server = RpcServer::Start({}, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  void TearDown() override {
    service_->Shutdown();
    coordinator_->Shutdown();
    server_->Shutdown(absl::Seconds(1));
  }

  void RegisterNodes(int n) {
    for (int i = 0; i < n; ++i) {
      v1::RegisterNodeRequest request;
      request.set_address(absl::StrCat("127.0.0.1:", 7000 + i));
      request.set_az(std::string(1, 'a' + i % 3));
      ASSERT_TRUE(coordinator_->RegisterNode(request).ok());
    }
  }

  int Run(const std::vector<std::string>& args,
          OutputFormat output = OutputFormat::kHuman) {
    out_.str("");
    err_.str("");
    Context ctx;
    ctx.coordinator = server_->address();
    ctx.target = server_->address();
    ctx.output = output;
    ctx.out = &out_;
    ctx.err = &err_;
    return RunCommand(ctx, args);
  }

  std::unique_ptr<coordinator::Coordinator> coordinator_;
  std::unique_ptr<coordinator::CoordinatorServiceImpl> service_;
  std::unique_ptr<RpcServer> server_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(SlotctlCommandsTest, CreateStatusCheckAndEvents) {
  RegisterNodes(9);
  EXPECT_EQ(Run({"cluster", "check"}), kExitFailed) << "no cluster yet";
  EXPECT_NE(out_.str().find("[ERR] No cluster yet"), std::string::npos);

  ASSERT_EQ(Run({"cluster", "create"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("3 shards x (1+2)"), std::string::npos);

  ASSERT_EQ(Run({"cluster", "status"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("SHARD"), std::string::npos);
  EXPECT_NE(out_.str().find("shard-1  0-5460"), std::string::npos)
      << out_.str();

  ASSERT_EQ(Run({"cluster", "check"}), kExitOk) << out_.str();
  EXPECT_NE(out_.str().find("[OK] All 16384 slots covered exactly once."),
            std::string::npos);
  EXPECT_EQ(out_.str().find("[ERR]"), std::string::npos);

  ASSERT_EQ(Run({"events"}), kExitOk);
  EXPECT_NE(out_.str().find("cluster_created"), std::string::npos);
  ASSERT_EQ(Run({"operations"}), kExitOk);
  EXPECT_NE(out_.str().find("SUCCEEDED"), std::string::npos);
}

TEST_F(SlotctlCommandsTest, JsonOutputOnReadCommands) {
  RegisterNodes(3);
  ASSERT_EQ(Run({"cluster", "create"}, OutputFormat::kJson), kExitFailed)
      << "3 nodes are too few for 3 x (1+2)";
  EXPECT_NE(err_.str().find("need 9 registered unassigned nodes"),
            std::string::npos)
      << err_.str();

  ASSERT_EQ(Run({"cluster", "status"}, OutputFormat::kJson), kExitOk);
  EXPECT_NE(out_.str().find("\"nodes\""), std::string::npos) << out_.str();
  ASSERT_EQ(Run({"cluster", "check"}, OutputFormat::kJson), kExitFailed);
  EXPECT_NE(out_.str().find("\"ok\": false"), std::string::npos) << out_.str();
  ASSERT_EQ(Run({"events"}, OutputFormat::kJson), kExitOk);
  EXPECT_NE(out_.str().find("node_registered"), std::string::npos);
}

TEST_F(SlotctlCommandsTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({}), kExitUsage);
  EXPECT_EQ(Run({"cluster", "explode"}), kExitUsage);
  EXPECT_NE(err_.str().find("unknown command 'cluster explode'"),
            std::string::npos);
  EXPECT_EQ(Run({"get"}), kExitUsage);
  EXPECT_EQ(Run({"set", "k"}), kExitUsage);
  EXPECT_NE(err_.str().find("takes KEY VALUE"), std::string::npos);
}

TEST_F(SlotctlCommandsTest, UnreachableCoordinatorSaysWhatToDo) {
  out_.str("");
  Context ctx;
  ctx.coordinator = "127.0.0.1:1";
  ctx.timeout = absl::Seconds(2);
  ctx.out = &out_;
  ctx.err = &err_;
  EXPECT_EQ(RunCommand(ctx, {"cluster", "status"}), kExitFailed);
  EXPECT_NE(err_.str().find("is it running at 127.0.0.1:1"), std::string::npos)
      << err_.str();
}

}  // namespace
}  // namespace slotcache::slotctl
