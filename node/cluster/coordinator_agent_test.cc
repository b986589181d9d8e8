#include "node/cluster/coordinator_agent.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc.h"
#include "coordinator/coordinator.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/rocksdb_state_store.h"
#include "gtest/gtest.h"
#include "proto/coordinator.grpc.pb.h"
#include "tests/harness/process.h"

namespace slotcache::node {
namespace {

using slotcache::testing::NewTempDir;
using slotcache::testing::PollUntil;

// An in-process coordinator on a real socket, restartable on the same
// address and state.
class TestCoordinator {
 public:
  explicit TestCoordinator(std::string dir) : dir_(std::move(dir)) {}
  ~TestCoordinator() { Stop(); }

  void Start(const std::string& listen = "127.0.0.1:0",
             absl::Duration heartbeat_interval = absl::Milliseconds(20)) {
    auto store = coordinator::OpenRocksDbStateStore(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    coordinator::CoordinatorOptions options;
    options.heartbeat_interval = heartbeat_interval;
    options.node_timeout =
        std::max(absl::Milliseconds(500), 2 * heartbeat_interval);
    auto c = coordinator::Coordinator::Create(std::move(*store), options);
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
    service_ = std::make_unique<coordinator::CoordinatorServiceImpl>(
        coordinator_.get());
    RpcServerOptions rpc;
    rpc.listen_address = listen;
    auto server = RpcServer::Start(rpc, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    address_ = server_->address();
  }

  void Stop() {
    if (server_ == nullptr) return;
    service_->Shutdown();
    coordinator_->Shutdown();
    server_->Shutdown(absl::Seconds(1));
    server_.reset();
    service_.reset();
    coordinator_.reset();
  }

  coordinator::Coordinator* get() { return coordinator_.get(); }
  const std::string& address() const { return address_; }

 private:
  const std::string dir_;
  std::string address_;
  std::unique_ptr<coordinator::Coordinator> coordinator_;
  std::unique_ptr<coordinator::CoordinatorServiceImpl> service_;
  std::unique_ptr<RpcServer> server_;
};

// Records what the agent hands to the node.
struct FakeNode {
  absl::Mutex mu;
  std::vector<uint64_t> versions ABSL_GUARDED_BY(mu);
  absl::Time lease ABSL_GUARDED_BY(mu) = absl::InfinitePast();

  void Wire(CoordinatorAgentOptions* options) {
    options->apply_map =
        [this](const v1::ClusterMap& map) -> absl::StatusOr<uint64_t> {
      absl::MutexLock lock(&mu);
      if (versions.empty() || map.version() > versions.back()) {
        versions.push_back(map.version());
      }
      return versions.back();
    };
    options->extend_lease = [this](absl::Time until) {
      absl::MutexLock lock(&mu);
      lease = std::max(lease, until);
    };
  }
  uint64_t version() {
    absl::MutexLock lock(&mu);
    return versions.empty() ? 0 : versions.back();
  }
  absl::Time lease_until() {
    absl::MutexLock lock(&mu);
    return lease;
  }
};

TEST(LoadOrCreateNodeIdTest, CreatesOnceThenKeepsTheStoredId) {
  const std::string dir = NewTempDir("nodeid") + "/nested/data";
  auto first = LoadOrCreateNodeId(dir, "");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->size(), 10u);
  auto again = LoadOrCreateNodeId(dir, "something-else");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);

  const std::string other = NewTempDir("nodeid-preferred");
  auto preferred = LoadOrCreateNodeId(other, "node-7");
  ASSERT_TRUE(preferred.ok());
  EXPECT_EQ(*preferred, "node-7");
  EXPECT_FALSE(LoadOrCreateNodeId(NewTempDir("bad"), "bad id!").ok());
}

TEST(CoordinatorAgentTest, RegistersReceivesMapsAndPrimaryLease) {
  TestCoordinator coordinator(NewTempDir("coord"));
  coordinator.Start();
  FakeNode node;
  CoordinatorAgentOptions options;
  options.coordinator_address = coordinator.address();
  options.node_id = "n1";
  options.address = "127.0.0.1:7001";
  options.az = "a";
  node.Wire(&options);
  CoordinatorAgent agent(options);
  agent.Start();
  ASSERT_TRUE(PollUntil([&] { return agent.connected(); }, absl::Seconds(10),
                        "agent to connect")
                  .ok());
  EXPECT_EQ(node.version(), coordinator.get()->CurrentMap()->version());

  v1::CreateClusterRequest create;
  create.set_shards(1);
  auto created = coordinator.get()->CreateCluster(create);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(
      PollUntil(
          [&] { return node.version() == created->cluster_map().version(); },
          absl::Seconds(10), "the new map to reach the node")
          .ok());
  // The node is the shard's primary, so heartbeats now renew its lease.
  ASSERT_TRUE(PollUntil([&] { return node.lease_until() > absl::Now(); },
                        absl::Seconds(10), "a primary lease")
                  .ok());
  agent.Stop();
  EXPECT_FALSE(agent.connected());
}

TEST(CoordinatorAgentTest, PushedMapArrivesWithoutWaitingForTheNextBeat) {
  // Heartbeats every 30 s: a map or lease that arrives sooner was pushed.
  constexpr absl::Duration kInterval = absl::Seconds(30);
  TestCoordinator coordinator(NewTempDir("coord"));
  coordinator.Start("127.0.0.1:0", kInterval);
  FakeNode node;
  CoordinatorAgentOptions options;
  options.coordinator_address = coordinator.address();
  options.node_id = "n1";
  options.address = "127.0.0.1:7001";
  options.az = "a";
  node.Wire(&options);
  CoordinatorAgent agent(options);
  agent.Start();
  ASSERT_TRUE(PollUntil([&] { return agent.connected(); }, absl::Seconds(10),
                        "agent to connect")
                  .ok());
  const absl::Time published = absl::Now();
  v1::CreateClusterRequest create;
  create.set_shards(1);
  auto created = coordinator.get()->CreateCluster(create);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(
      PollUntil(
          [&] { return node.version() == created->cluster_map().version(); },
          kInterval / 3, "the pushed map to reach the node")
          .ok());
  const absl::Duration map_after = absl::Now() - published;
  // The node became the shard's primary: it heartbeats at once on the push
  // and its lease comes in that reply, not with the push.
  ASSERT_TRUE(PollUntil([&] { return node.lease_until() > absl::Now(); },
                        kInterval / 3, "a primary lease after the push")
                  .ok());
  std::printf(
      "[agent] pushed map applied %s after it was published, lease %s after "
      "(heartbeat interval %s)\n",
      absl::FormatDuration(map_after).c_str(),
      absl::FormatDuration(absl::Now() - published).c_str(),
      absl::FormatDuration(kInterval).c_str());
  agent.Stop();
  EXPECT_FALSE(agent.connected());
}

TEST(CoordinatorAgentTest, KeepsItsMapWhileCoordinatorIsDownAndReconnects) {
  const std::string dir = NewTempDir("coord-restart");
  TestCoordinator coordinator(dir);
  coordinator.Start();
  const std::string address = coordinator.address();
  FakeNode node;
  CoordinatorAgentOptions options;
  options.coordinator_address = address;
  options.node_id = "n1";
  options.address = "127.0.0.1:7001";
  options.az = "a";
  options.max_backoff = absl::Milliseconds(100);
  node.Wire(&options);
  CoordinatorAgent agent(options);
  agent.Start();
  ASSERT_TRUE(PollUntil([&] { return agent.connected(); }, absl::Seconds(10),
                        "agent to connect")
                  .ok());
  const uint64_t version = node.version();

  coordinator.Stop();
  ASSERT_TRUE(PollUntil([&] { return !agent.connected(); }, absl::Seconds(10),
                        "agent to notice the coordinator is gone")
                  .ok());
  EXPECT_EQ(node.version(), version) << "the node keeps its last map";
  EXPECT_EQ(agent.map_version(), version);

  coordinator.Start(address);
  ASSERT_TRUE(PollUntil([&] { return agent.registrations() >= 2; },
                        absl::Seconds(20), "agent to re-register")
                  .ok());
  ASSERT_TRUE(PollUntil([&] { return agent.connected(); }, absl::Seconds(10),
                        "agent to heartbeat again")
                  .ok());
  const v1::ClusterMap map = coordinator.get()->Describe();
  ASSERT_EQ(map.nodes_size(), 1) << "same identity, not a second node";
  EXPECT_EQ(map.nodes(0).node_id(), "n1");
}

// A coordinator that registers nodes but never answers a heartbeat, like a
// hung process or a network that silently drops packets.
class SilentCoordinator final : public v1::CoordinatorService::Service {
 public:
  grpc::Status RegisterNode(grpc::ServerContext*,
                            const v1::RegisterNodeRequest* request,
                            v1::RegisterNodeResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      restarted_.push_back(request->restarted());
    }
    response->set_node_id(request->node_id());
    response->set_heartbeat_interval_ms(20);
    return grpc::Status::OK;
  }
  // RegisterNodeRequest.restarted of each registration so far.
  std::vector<bool> restarted() {
    absl::MutexLock lock(&mu_);
    return restarted_;
  }
  grpc::Status Heartbeat(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::HeartbeatResponse, v1::HeartbeatRequest>*
          stream) override {
    v1::HeartbeatRequest request;
    while (stream->Read(&request)) {
    }
    return context->IsCancelled() ? grpc::Status::CANCELLED : grpc::Status::OK;
  }

 private:
  absl::Mutex mu_;
  std::vector<bool> restarted_ ABSL_GUARDED_BY(mu_);
};

TEST(CoordinatorAgentTest, DropsACoordinatorThatStopsAnsweringAndReconnects) {
  SilentCoordinator silent;
  auto server = RpcServer::Start({}, {&silent});
  ASSERT_TRUE(server.ok()) << server.status();
  FakeNode node;
  CoordinatorAgentOptions options;
  options.coordinator_address = (*server)->address();
  options.node_id = "n1";
  options.address = "127.0.0.1:7001";
  options.az = "a";
  options.rpc_timeout = absl::Milliseconds(200);
  options.max_backoff = absl::Milliseconds(50);
  node.Wire(&options);
  CoordinatorAgent agent(options);
  agent.Start();
  ASSERT_TRUE(PollUntil([&] { return agent.registrations() >= 3; },
                        absl::Seconds(20),
                        "the agent to give up on silent streams and "
                        "register again")
                  .ok());
  EXPECT_FALSE(agent.connected());
  agent.Stop();
  (*server)->Shutdown(absl::ZeroDuration());
  // Only the process's first registration says it restarted (lost its
  // data); reconnects keep it (docs/FAILOVER.md).
  std::vector<bool> restarted = silent.restarted();
  ASSERT_GE(restarted.size(), 3u);
  EXPECT_TRUE(restarted[0]);
  for (size_t i = 1; i < restarted.size(); ++i) EXPECT_FALSE(restarted[i]);
}

}  // namespace
}  // namespace slotcache::node
