// CoordinatorMapSource's watch against a small in-process
// CoordinatorService on port 0 whose WatchClusterMap streams whatever maps
// the test pushes (older ones included) and can break its streams.
#include "client/sdk/coordinator_map_source.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/sdk/client.h"
#include "client/sdk/fake_node.h"
#include "common/rpc.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "proto/coordinator.grpc.pb.h"
#include "tests/harness/process.h"

namespace slotcache {
namespace {

using testing::EvenMap;

// Waits (polling, up to 10 s) for `condition`.
bool Eventually(const std::function<bool()>& condition) {
  return testing::PollUntil(condition, absl::Seconds(10), "condition").ok();
}

class FakeCoordinator : public v1::CoordinatorService::Service {
 public:
  explicit FakeCoordinator(v1::ClusterMap initial) : current_(initial) {}

  // Every open and future stream sends `map` (in push order).
  void Push(const v1::ClusterMap& map) {
    absl::MutexLock lock(&mu_);
    pushed_.push_back(map);
    current_ = map;
    changed_.SignalAll();
  }
  // Ends every open stream with UNAVAILABLE.
  void BreakStreams() {
    absl::MutexLock lock(&mu_);
    ++breaks_;
    changed_.SignalAll();
  }
  int watch_calls() {
    absl::MutexLock lock(&mu_);
    return watch_calls_;
  }
  int open_streams() {
    absl::MutexLock lock(&mu_);
    return open_streams_;
  }

  grpc::Status DescribeCluster(grpc::ServerContext*,
                               const v1::DescribeClusterRequest*,
                               v1::ClusterMap* response) override {
    absl::MutexLock lock(&mu_);
    *response = current_;
    return grpc::Status::OK;
  }

  grpc::Status WatchClusterMap(
      grpc::ServerContext* context, const v1::WatchClusterMapRequest*,
      grpc::ServerWriter<v1::ClusterMap>* writer) override {
    absl::MutexLock lock(&mu_);
    ++watch_calls_;
    ++open_streams_;
    const int breaks = breaks_;
    size_t sent = 0;
    grpc::Status status = grpc::Status::OK;
    while (!context->IsCancelled()) {
      if (breaks_ != breaks) {
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "broken");
        break;
      }
      if (sent < pushed_.size()) {
        const v1::ClusterMap map = pushed_[sent++];
        mu_.Unlock();
        const bool written = writer->Write(map);
        mu_.Lock();
        if (!written) break;
        continue;
      }
      // Short waits so a cancelled client is noticed quickly.
      changed_.WaitWithTimeout(&mu_, absl::Milliseconds(10));
    }
    --open_streams_;
    return status;
  }

 private:
  absl::Mutex mu_;
  absl::CondVar changed_;
  v1::ClusterMap current_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::ClusterMap> pushed_ ABSL_GUARDED_BY(mu_);
  int breaks_ ABSL_GUARDED_BY(mu_) = 0;
  int watch_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int open_streams_ ABSL_GUARDED_BY(mu_) = 0;
};

class CoordinatorMapSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RpcServer>> server =
        RpcServer::Start(RpcServerOptions(), {&coordinator_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ClientOptions options;
    options.map_source =
        std::make_shared<CoordinatorMapSource>(server_->address());
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  // Primary of slot 0 in the client's map.
  std::string Slot0Owner() { return client_->routing()->PrimaryFor(0); }

  FakeCoordinator coordinator_{EvenMap({"a:1"}, 1)};
  std::unique_ptr<RpcServer> server_;
  // Destroyed before the server: its watch stream is then still open.
  std::unique_ptr<Client> client_;
};

TEST_F(CoordinatorMapSourceTest, ClientInstallsEveryNewerMapAndNoOlderOne) {
  ASSERT_EQ(client_->routing()->version(), 1u);
  ASSERT_EQ(Slot0Owner(), "a:1");

  coordinator_.Push(EvenMap({"b:1"}, 2));
  ASSERT_TRUE(Eventually([&] { return client_->routing()->version() == 2; }));
  EXPECT_EQ(Slot0Owner(), "b:1");

  // An older map, then a newer one: the stream delivers them in order, so
  // once version 3 is in use the older one was seen and ignored.
  coordinator_.Push(EvenMap({"old:1"}, 1));
  coordinator_.Push(EvenMap({"c:1"}, 3));
  ASSERT_TRUE(Eventually([&] { return client_->routing()->version() == 3; }));
  EXPECT_EQ(Slot0Owner(), "c:1");
  EXPECT_EQ(client_->stats().watched_maps, 2u);
  EXPECT_EQ(client_->stats().moved_redirects, 0u);
}

TEST_F(CoordinatorMapSourceTest, WatchReconnectsAfterTheStreamBreaks) {
  ASSERT_TRUE(Eventually([&] { return coordinator_.open_streams() == 1; }));
  coordinator_.BreakStreams();
  ASSERT_TRUE(Eventually([&] { return coordinator_.watch_calls() >= 2; }));
  coordinator_.Push(EvenMap({"b:1"}, 2));
  ASSERT_TRUE(Eventually([&] { return client_->routing()->version() == 2; }));
  EXPECT_EQ(Slot0Owner(), "b:1");
}

TEST_F(CoordinatorMapSourceTest, DestroyingTheClientEndsTheWatchStream) {
  ASSERT_TRUE(Eventually([&] { return coordinator_.open_streams() == 1; }));
  client_.reset();
  EXPECT_TRUE(Eventually([&] { return coordinator_.open_streams() == 0; }));
}

}  // namespace
}  // namespace slotcache
