// SnapshotService over a real gRPC server on port 0: the shard's slots and
// epoch come from the node's map, the manifest comes back, and bad
// requests get typed errors.
#include "node/persistence/snapshot_service.h"

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/rpc.h"
#include "common/slot.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "node/cluster/cluster_state.h"
#include "node/persistence/snapshot_reader.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"
#include "proto/persistence.grpc.pb.h"

namespace slotcache::node::persistence {
namespace {

namespace fs = std::filesystem;

std::string NewSnapshotPath(const std::string& name) {
  const fs::path path = fs::path(testing::TempDir()) / name;
  fs::remove_all(path);
  return path.string();
}

class SnapshotServiceTest : public testing::Test {
 protected:
  SnapshotServiceTest()
      : log_({64 << 20, Clock::Real()}),
        store_(ListenedBy(&log_)),
        cluster_({"node-a", "", "az-a"}, {}),
        service_(&store_, &log_, &cluster_, WriterOptions(this)) {}

  // Snapshots pause between walk and tail while `hold_` is set, until
  // `release_` is notified.
  static SnapshotWriterOptions WriterOptions(SnapshotServiceTest* test) {
    SnapshotWriterOptions options;
    options.after_walk = [test] {
      if (!test->hold_.load()) return;
      test->walked_.Notify();
      test->release_.WaitForNotification();
    };
    return options;
  }

  static storage::StoreOptions ListenedBy(ReplicationLog* log) {
    storage::StoreOptions options;
    options.listener = log;
    return options;
  }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RpcServer>> server =
        RpcServer::Start(RpcServerOptions(), {&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::SnapshotService::NewStub(MakeChannel(server_->address()));
    for (int i = 0; i < 2000; ++i) {
      ASSERT_TRUE(store_.Set(absl::StrCat("key", i), "value").ok());
    }
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(5)); }

  grpc::Status Create(const v1::CreateSnapshotRequest& request,
                      v1::SnapshotManifest* manifest) {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    return stub_->CreateSnapshot(&context, request, manifest);
  }

  std::atomic<bool> hold_{false};
  absl::Notification walked_;
  absl::Notification release_;
  ReplicationLog log_;
  storage::Store store_;
  ClusterState cluster_;
  SnapshotServiceImpl service_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<v1::SnapshotService::Stub> stub_;
};

TEST_F(SnapshotServiceTest, StandaloneNodeSnapshotsEverySlot) {
  v1::CreateSnapshotRequest request;
  request.set_directory(NewSnapshotPath("service_standalone"));
  request.set_cluster_id("my-cluster");
  v1::SnapshotManifest manifest;
  grpc::Status status = Create(request, &manifest);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(manifest.key_count(), 2000u);
  EXPECT_EQ(manifest.cluster_id(), "my-cluster");
  EXPECT_EQ(manifest.shard_id(), "standalone");
  EXPECT_EQ(manifest.node_id(), "node-a");
  EXPECT_EQ(manifest.replication_offset(), log_.end_offset());
  storage::Store loaded;
  absl::StatusOr<LoadResult> result =
      LoadSnapshot(request.directory(), &loaded);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(loaded.DbSize(), 2000);
}

TEST_F(SnapshotServiceTest, ShardSlotsAndEpochComeFromTheMap) {
  v1::ClusterMap map;
  map.set_cluster_id("c1");
  map.set_version(3);
  for (const char* id : {"node-a", "node-b"}) {
    v1::NodeInfo* node = map.add_nodes();
    node->set_node_id(id);
    node->set_address(absl::StrCat(id, ":1"));
  }
  for (int i = 0; i < 2; ++i) {
    v1::ShardInfo* shard = map.add_shards();
    shard->set_shard_id(absl::StrCat("s", i + 1));
    v1::SlotRange* range = shard->add_slots();
    range->set_start(i == 0 ? 0 : 8192);
    range->set_end(i == 0 ? 8191 : kNumSlots - 1);
    shard->set_primary_node_id(i == 0 ? "node-b" : "node-a");
    shard->set_config_epoch(i == 0 ? 4 : 9);
  }
  ASSERT_TRUE(cluster_.Apply(map).ok());

  v1::CreateSnapshotRequest request;
  request.set_directory(NewSnapshotPath("service_s2"));
  request.set_shard_id("s2");
  v1::SnapshotManifest manifest;
  grpc::Status status = Create(request, &manifest);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(manifest.cluster_id(), "c1");
  EXPECT_EQ(manifest.shard_id(), "s2");
  EXPECT_EQ(manifest.config_epoch(), 9u);
  ASSERT_EQ(manifest.slots_size(), 1);
  EXPECT_EQ(manifest.slots(0).start(), 8192u);
  uint64_t in_s2 = 0;
  for (int i = 0; i < 2000; ++i) {
    if (KeySlot(absl::StrCat("key", i)) >= 8192) ++in_s2;
  }
  EXPECT_EQ(manifest.key_count(), in_s2);

  request.set_directory(NewSnapshotPath("service_s1"));
  request.set_shard_id("s1");
  status = Create(request, &manifest);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("in shard 's2', not 's1'"),
            std::string::npos)
      << status.error_message();
}

TEST_F(SnapshotServiceTest, ReplicaRefusesBeforeItSynced) {
  v1::ClusterMap map;
  map.set_cluster_id("c1");
  map.set_version(2);
  for (const char* id : {"node-a", "node-b"}) {
    v1::NodeInfo* node = map.add_nodes();
    node->set_node_id(id);
    node->set_address(absl::StrCat(id, ":1"));
  }
  v1::ShardInfo* shard = map.add_shards();
  shard->set_shard_id("s1");
  v1::SlotRange* range = shard->add_slots();
  range->set_start(0);
  range->set_end(kNumSlots - 1);
  shard->set_primary_node_id("node-b");
  shard->add_replica_node_ids("node-a");
  ASSERT_TRUE(cluster_.Apply(map).ok());
  v1::CreateSnapshotRequest request;
  request.set_directory(NewSnapshotPath("service_replica"));
  v1::SnapshotManifest manifest;
  grpc::Status status = Create(request, &manifest);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("has not completed a full sync"),
            std::string::npos)
      << status.error_message();
  EXPECT_FALSE(fs::exists(request.directory()));
}

TEST_F(SnapshotServiceTest, OneSnapshotAtATime) {
  hold_.store(true);
  v1::CreateSnapshotRequest first;
  first.set_directory(NewSnapshotPath("service_first"));
  v1::SnapshotManifest first_manifest;
  grpc::Status first_status;
  std::thread caller([&] { first_status = Create(first, &first_manifest); });
  walked_.WaitForNotification();  // The first one runs.

  v1::CreateSnapshotRequest second;
  second.set_directory(NewSnapshotPath("service_second"));
  v1::SnapshotManifest second_manifest;
  grpc::Status busy = Create(second, &second_manifest);
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(busy.error_message().find("already running"), std::string::npos)
      << busy.error_message();

  release_.Notify();
  caller.join();
  ASSERT_TRUE(first_status.ok()) << first_status.error_message();
  EXPECT_EQ(first_manifest.key_count(), 2000u);
  hold_.store(false);
  EXPECT_TRUE(Create(second, &second_manifest).ok());  // Free again.
}

TEST_F(SnapshotServiceTest, RelativeDirectoryIsInvalid) {
  v1::CreateSnapshotRequest request;
  request.set_directory("relative/dir");
  v1::SnapshotManifest manifest;
  EXPECT_EQ(Create(request, &manifest).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.clear_directory();
  EXPECT_EQ(Create(request, &manifest).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SnapshotServiceTest, ExistingSnapshotDirectoryIsRefused) {
  v1::CreateSnapshotRequest request;
  request.set_directory(NewSnapshotPath("service_twice"));
  v1::SnapshotManifest manifest;
  ASSERT_TRUE(Create(request, &manifest).ok());
  grpc::Status again = Create(request, &manifest);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(again.error_message().find("not an empty directory"),
            std::string::npos)
      << again.error_message();
}

}  // namespace
}  // namespace slotcache::node::persistence
