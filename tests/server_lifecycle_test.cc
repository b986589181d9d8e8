// The server binaries start on a free port, answer the gRPC health check
// over a real socket, and exit cleanly on SIGTERM.
#include <signal.h>

#include <string>

#include "absl/time/time.h"
#include "common/health.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"

namespace slotcache {
namespace {

using testing::RunfilePath;
using testing::ServerProcess;
using testing::StartServer;

class ServerLifecycleTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ServerLifecycleTest, AnswersHealthCheckAndStopsOnSigterm) {
  absl::StatusOr<ServerProcess> server =
      StartServer(RunfilePath(GetParam()), {});
  ASSERT_TRUE(server.ok()) << server.status();

  EXPECT_TRUE(CheckHealth(server->address, absl::Seconds(10)).ok());

  ASSERT_TRUE(server->process->Signal(SIGTERM).ok());
  absl::StatusOr<int> exit_code = server->process->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << server->process->ReadLog();
  EXPECT_FALSE(CheckHealth(server->address, absl::Milliseconds(500)).ok());
}

TEST_P(ServerLifecycleTest, RefusesAnAddressThatIsNotHostPort) {
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> process =
      testing::ChildProcess::Start(RunfilePath(GetParam()),
                                   {"--listen=no-port-here"},
                                   testing::NewTempDir("badlisten") + "/log");
  ASSERT_TRUE(process.ok()) << process.status();
  absl::StatusOr<int> exit_code = (*process)->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_NE(*exit_code, 0);
  EXPECT_NE((*process)->ReadLog().find("not HOST:PORT"), std::string::npos)
      << (*process)->ReadLog();
}

INSTANTIATE_TEST_SUITE_P(
    Binaries, ServerLifecycleTest,
    ::testing::Values("node/slotcache-node",
                      "coordinator/slotcache-coordinator"));

TEST(SlotctlTest, PingReportsServingServer) {
  absl::StatusOr<ServerProcess> server =
      StartServer(RunfilePath("node/slotcache-node"), {});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> ping =
      testing::ChildProcess::Start(RunfilePath("client/slotctl"),
                                   {"--target=" + server->address, "ping"},
                                   testing::NewTempDir("ping") + "/log");
  ASSERT_TRUE(ping.ok()) << ping.status();
  absl::StatusOr<int> exit_code = (*ping)->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 0) << (*ping)->ReadLog();
  EXPECT_NE((*ping)->ReadLog().find("SERVING"), std::string::npos);
}

}  // namespace
}  // namespace slotcache
