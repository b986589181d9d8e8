// slotctl's resharding commands: argument checks, the plan table, and
// their errors against an in-process coordinator on a real socket. The
// tests hold whether or not that coordinator implements the resharding
// RPCs yet (until it does they answer UNIMPLEMENTED, which must read as a
// clear error).
#include "client/slotctl/reshard_commands.h"

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

class ReshardCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store =
        coordinator::OpenRocksDbStateStore(testing::NewTempDir("reshard"));
    ASSERT_TRUE(store.ok()) << store.status();
    auto c = coordinator::Coordinator::Create(std::move(*store), {});
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
    service_ = std::make_unique<coordinator::CoordinatorServiceImpl>(
        coordinator_.get());
    auto server = RpcServer::Start({}, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ctx_.coordinator = server_->address();
    ctx_.out = &out_;
    ctx_.err = &err_;
  }

  void TearDown() override {
    service_->Shutdown();
    coordinator_->Shutdown();
    server_->Shutdown(absl::Seconds(1));
  }

  int Run(const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    return RunCommand(ctx_, args);
  }

  std::unique_ptr<coordinator::Coordinator> coordinator_;
  std::unique_ptr<coordinator::CoordinatorServiceImpl> service_;
  std::unique_ptr<RpcServer> server_;
  Context ctx_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ReshardCommandsTest, BadArgumentsAreUsageErrorsAndCallNothing) {
  EXPECT_EQ(Run({"reshard"}), kExitUsage);
  EXPECT_NE(err_.str().find("reshard needs --from=SHARD --to=SHARD"),
            std::string::npos)
      << err_.str();
  ctx_.from = "shard-1";
  ctx_.to = "shard-1";
  ctx_.slots = "10";
  EXPECT_EQ(Run({"reshard"}), kExitUsage);
  EXPECT_NE(err_.str().find("name two different shards"), std::string::npos);
  ctx_.to = "shard-2";
  ctx_.slots = "0-99,50";
  EXPECT_EQ(Run({"reshard"}), kExitUsage);
  EXPECT_NE(err_.str().find("bad --slots: slot 50 is listed twice"),
            std::string::npos)
      << err_.str();
  ctx_.by = "memory";
  EXPECT_EQ(Run({"rebalance"}), kExitUsage);
  EXPECT_NE(err_.str().find("--by must be slots, keys or bytes"),
            std::string::npos);
  ctx_.replicas = 6;
  EXPECT_EQ(Run({"shard", "add"}), kExitUsage);
  EXPECT_EQ(Run({"shard", "remove"}), kExitUsage);
  EXPECT_NE(err_.str().find("takes SHARD"), std::string::npos);
  EXPECT_EQ(Run({"operation", "watch"}), kExitUsage);
  EXPECT_EQ(Run({"operation", "cancel", "a", "b"}), kExitUsage);
}

TEST_F(ReshardCommandsTest, ServerRefusalsAreClearErrors) {
  // No cluster exists: a coordinator with resharding refuses (no such
  // shard / operation), one without answers UNIMPLEMENTED. Either way: exit
  // 1 and a line that names the command.
  ctx_.from = "shard-1";
  ctx_.to = "shard-2";
  ctx_.slots = "0-99";
  struct Case {
    std::vector<std::string> args;
    std::string prefix;
  } cases[] = {
      {{"reshard"}, "slotctl: reshard failed: "},
      {{"rebalance"}, "slotctl: rebalance failed: "},
      {{"shard", "add"}, "slotctl: shard add failed: "},
      {{"shard", "remove", "shard-9"}, "slotctl: shard remove failed: "},
      {{"operation", "cancel", "op-99"},
       "slotctl: operation cancel op-99 failed: "},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Run(c.args), kExitFailed) << c.args[0];
    EXPECT_EQ(err_.str().rfind(c.prefix, 0), 0u) << err_.str();
    if (err_.str().find("UNIMPLEMENTED") != std::string::npos) {
      EXPECT_NE(err_.str().find("does not support this call yet"),
                std::string::npos)
          << err_.str();
    }
  }
  EXPECT_EQ(Run({"operation", "watch", "op-99"}), kExitFailed);
  EXPECT_NE(err_.str().find("op-99"), std::string::npos) << err_.str();
}

TEST_F(ReshardCommandsTest, WatchesAFinishedOperationToItsSummary) {
  for (int i = 0; i < 3; ++i) {
    v1::RegisterNodeRequest request;
    request.set_address(absl::StrCat("127.0.0.1:", 7000 + i));
    request.set_az(std::string(1, 'a' + i));
    ASSERT_TRUE(coordinator_->RegisterNode(request).ok());
  }
  ctx_.shards = 3;
  ctx_.replicas = 0;
  ASSERT_EQ(Run({"cluster", "create"}), kExitOk) << err_.str();
  const int code = Run({"operation", "watch", "op-1"});
  if (err_.str().find("UNIMPLEMENTED") != std::string::npos) {
    GTEST_SKIP() << "this coordinator has no GetOperation yet";
  }
  ASSERT_EQ(code, kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("op-1 create_cluster SUCCEEDED"), std::string::npos)
      << out_.str();
}

TEST(MovePlanTest, TableWithEstimatesAndTotal) {
  google::protobuf::RepeatedPtrField<v1::SlotMove> moves;
  v1::SlotMove* a = moves.Add();
  a->set_from_shard_id("shard-1");
  a->set_to_shard_id("shard-4");
  v1::SlotRange* r = a->add_slots();
  r->set_start(4096);
  r->set_end(5460);
  a->set_keys(120000);
  a->set_bytes(14200000);
  v1::SlotMove* b = moves.Add();
  b->set_from_shard_id("shard-2");
  b->set_to_shard_id("shard-4");
  r = b->add_slots();
  r->set_start(9557);
  r->set_end(9557);
  EXPECT_EQ(FormatMovePlan(moves),
            "#      FROM     TO       SLOTS  RANGES     KEYS     MB\n"
            "1      shard-1  shard-4  1,365  4096-5460  120,000  14.2\n"
            "2      shard-2  shard-4  1      9557       -        -\n"
            "total                    1,366             120,000  14.2\n");
}

}  // namespace
}  // namespace slotcache::slotctl
