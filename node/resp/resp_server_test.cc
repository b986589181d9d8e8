// RespServer in-process on 127.0.0.1:0 with a real store and dispatcher:
// many clients over several loops, CLIENT KILL across loops, WAIT resumed
// from another thread, Stop with clients connected. Run under
// --config=tsan / --config=asan as well.
#include "node/resp/resp_server.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/cluster/cluster_state.h"
#include "node/commands/executor.h"
#include "node/server/dispatcher.h"
#include "node/storage/store.h"
#include "tests/resp_client.h"

namespace slotcache::node::resp {
namespace {

using testing::Multibulk;
using testing::RawConnection;

// Answers every WAIT from its own thread, after the caller's request.
class ThreadedAckWaiter : public ReplicaAckWaiter {
 public:
  ~ThreadedAckWaiter() override {
    for (std::thread& t : threads_) t.join();
  }
  void WaitForReplicas(int needed, absl::Duration,
                       std::function<void(int)> done) override {
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([needed, done = std::move(done)] { done(needed); });
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;  // Guarded by mu_.
};

class RespServerTest : public ::testing::Test {
 protected:
  RespServerTest()
      : executor_(&store_),
        cluster_({"node-a", "127.0.0.1:1", "az-a"}, {}),
        dispatcher_(&executor_, RequestLimits()) {
    RespServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.threads = 3;
    HandlerOptions handler;
    handler.dispatcher = &dispatcher_;
    handler.cluster = &cluster_;
    handler.store = &store_;
    handler.acks = &acks_;
    server_ = std::make_unique<RespServer>(options, handler);
    EXPECT_TRUE(server_->Start().ok());
  }

  std::unique_ptr<RawConnection> Connect() {
    auto c = RawConnection::Connect(server_->address());
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  storage::Store store_;
  CommandExecutor executor_;
  ClusterState cluster_;
  Dispatcher dispatcher_;
  ThreadedAckWaiter acks_;
  std::unique_ptr<RespServer> server_;
};

TEST_F(RespServerTest, ConcurrentPipelinedClientsOnEveryLoop) {
  constexpr int kClients = 8, kIncrs = 300;
  std::vector<std::thread> threads;
  std::vector<std::string> got(kClients);
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = RawConnection::Connect(server_->address());
      if (!c.ok()) return;
      std::string request;
      for (int j = 0; j < kIncrs; ++j) request += Multibulk({"INCR", "n"});
      request += Multibulk({"INCR", absl::StrCat("own:", i)});
      if (!(*c)->Send(request).ok()) return;
      // kIncrs integer replies, then ":1\r\n" for the client's own key.
      std::string all;
      while (!absl::EndsWith(all, "\r\n:1\r\n") && !(*c)->closed()) {
        all += (*c)->ReadExactly(1);
      }
      got[i] = all;
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_TRUE(absl::EndsWith(got[i], ":1\r\n")) << "client " << i;
  }
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send(Multibulk({"GET", "n"})).ok());
  const std::string want = absl::StrCat(kClients * kIncrs);
  EXPECT_EQ(c->ReadExactly(want.size() + 6),
            absl::StrCat("$", want.size(), "\r\n", want, "\r\n"));
  EXPECT_GE(server_->clients().connections_received(), kClients + 1u);
}

TEST_F(RespServerTest, ClientKillClosesAConnectionOnAnotherLoop) {
  // With 3 loops dealt round-robin, these land on different loops.
  auto victim = Connect();
  auto other = Connect();
  auto killer = Connect();
  ASSERT_TRUE(victim != nullptr && other != nullptr && killer != nullptr);
  ASSERT_TRUE(victim->Send(Multibulk({"CLIENT", "ID"})).ok());
  const std::string id_reply = victim->ReadExactly(4);  // ":N\r\n", N < 10.
  ASSERT_EQ(id_reply.front(), ':');
  const std::string id = id_reply.substr(1, id_reply.size() - 3);
  ASSERT_TRUE(killer->Send(Multibulk({"CLIENT", "KILL", "ID", id})).ok());
  EXPECT_EQ(killer->ReadExactly(4), ":1\r\n");
  victim->ReadUntilClosed(absl::Seconds(10));
  EXPECT_TRUE(victim->closed());
  ASSERT_TRUE(other->Send(Multibulk({"PING"})).ok());
  EXPECT_EQ(other->ReadExactly(7), "+PONG\r\n");
}

TEST_F(RespServerTest, WaitResumesTheRequestsBehindItInOrder) {
  auto c = Connect();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Send(Multibulk({"SET", "k", "v"}) +
                      Multibulk({"WAIT", "2", "1000"}) +
                      Multibulk({"GET", "k"}) + Multibulk({"WAIT", "1", "0"}))
                  .ok());
  const std::string want = "+OK\r\n:2\r\n$1\r\nv\r\n:1\r\n";
  EXPECT_EQ(c->ReadExactly(want.size()), want);
}

TEST_F(RespServerTest, StopClosesConnectedClients) {
  auto idle = Connect();
  auto busy = Connect();
  ASSERT_TRUE(idle != nullptr && busy != nullptr);
  ASSERT_TRUE(busy->Send(Multibulk({"PING"})).ok());
  ASSERT_EQ(busy->ReadExactly(7), "+PONG\r\n");
  server_->Stop();
  idle->ReadUntilClosed(absl::Seconds(10));
  busy->ReadUntilClosed(absl::Seconds(10));
  EXPECT_TRUE(idle->closed());
  EXPECT_TRUE(busy->closed());
  EXPECT_EQ(server_->clients().connected(), 0);
}

TEST(RespServerStartTest, BadAddressesSayWhatToFix) {
  storage::Store store;
  CommandExecutor executor(&store);
  ClusterState cluster({"n", "127.0.0.1:1", ""}, {});
  Dispatcher dispatcher(&executor, RequestLimits());
  HandlerOptions handler;
  handler.dispatcher = &dispatcher;
  handler.cluster = &cluster;
  handler.store = &store;
  RespServerOptions options;
  options.listen_address = "no-port";
  RespServer bad(options, handler);
  absl::Status s = bad.Start();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "HOST:PORT")) << s;
}

}  // namespace
}  // namespace slotcache::node::resp
