// SnapshotService.LoadSnapshots over a real gRPC server on port 0: slot
// filtering across snapshots, verification of all of them before the first
// key, refusal on replicas and non-empty slots, expired keys skipped, keys
// logged for replication, and the replica-lag throttle.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/rpc.h"
#include "common/slot.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "node/cluster/cluster_state.h"
#include "node/persistence/snapshot_service.h"
#include "node/persistence/snapshot_writer.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"
#include "proto/persistence.grpc.pb.h"

namespace slotcache::node::persistence {
namespace {

namespace fs = std::filesystem;

constexpr int kKeys = 3000;

v1::SlotRange Range(uint32_t start, uint32_t end) {
  v1::SlotRange range;
  range.set_start(start);
  range.set_end(end);
  return range;
}

bool InRanges(uint32_t slot, const std::vector<v1::SlotRange>& ranges) {
  for (const v1::SlotRange& r : ranges) {
    if (slot >= r.start() && slot <= r.end()) return true;
  }
  return false;
}

storage::StoreOptions Options(Clock* clock, ReplicationLog* log) {
  storage::StoreOptions options;
  options.clock = clock;
  options.listener = log;
  return options;
}

// Flips one byte in the middle of the first SST file of a snapshot.
void CorruptAnSstFile(const std::string& snapshot) {
  for (const fs::directory_entry& entry :
       fs::directory_iterator(fs::path(snapshot) / "db")) {
    if (entry.path().extension() != ".sst") continue;
    std::string data;
    {
      std::ifstream in(entry.path(), std::ios::binary);
      data.assign(std::istreambuf_iterator<char>(in), {});
    }
    ASSERT_FALSE(data.empty());
    data[data.size() / 2] ^= 0x5a;
    std::ofstream out(entry.path(), std::ios::binary | std::ios::trunc);
    out << data;
    return;
  }
  FAIL() << "no SST file in " << snapshot;
}

class SnapshotLoadTest : public testing::Test {
 protected:
  SnapshotLoadTest()
      : source_log_({1ull << 30, &clock_}),
        source_(Options(&clock_, &source_log_)),
        log_({1ull << 30, &clock_}),
        store_(Options(&clock_, &log_)),
        cluster_({"node-a", "", "az-a"}, {}),
        service_(&store_, &log_, &cluster_, SnapshotWriterOptions(),
                 ServiceOptions(this)) {}

  static SnapshotServiceOptions ServiceOptions(SnapshotLoadTest* test) {
    SnapshotServiceOptions options;
    options.replica_acked_offsets = [test] {
      ++test->ack_polls_;
      if (!test->throttled_replica_.load()) return std::vector<uint64_t>();
      return std::vector<uint64_t>{test->acked_.load()};
    };
    options.max_replica_lag_bytes = 4096;
    options.throttle_poll = absl::Milliseconds(1);
    return options;
  }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RpcServer>> server =
        RpcServer::Start(RpcServerOptions(), {&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::SnapshotService::NewStub(MakeChannel(server_->address()));
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_TRUE(
          source_.Set(absl::StrCat("key", i), absl::StrCat("value", i)).ok());
    }
  }
  void TearDown() override { server_->Shutdown(absl::Seconds(5)); }

  // A snapshot of the source's keys in `slots`.
  std::string Snapshot(const std::string& name,
                       std::vector<v1::SlotRange> slots) {
    const fs::path path = fs::path(testing::TempDir()) / name;
    fs::remove_all(path);
    SnapshotTarget target;
    target.directory = path.string();
    target.cluster_id = "c1";
    target.shard_id = name;
    target.slots = std::move(slots);
    absl::StatusOr<v1::SnapshotManifest> m =
        WriteSnapshot(&source_, &source_log_, target);
    EXPECT_TRUE(m.ok()) << m.status();
    return target.directory;
  }

  grpc::Status Load(const std::vector<std::string>& dirs,
                    const std::vector<v1::SlotRange>& slots,
                    v1::LoadSnapshotsResponse* response) {
    v1::LoadSnapshotsRequest request;
    for (const std::string& dir : dirs) request.add_directories(dir);
    for (const v1::SlotRange& r : slots) *request.add_slots() = r;
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(60)));
    return stub_->LoadSnapshots(&context, request, response);
  }

  // Makes this node a replica of shard s1 (node-b is the primary).
  void BecomeReplica() {
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
    *shard->add_slots() = Range(0, kNumSlots - 1);
    shard->set_primary_node_id("node-b");
    shard->add_replica_node_ids("node-a");
    ASSERT_TRUE(cluster_.Apply(map).ok());
  }

  FakeClock clock_;
  ReplicationLog source_log_;
  storage::Store source_;
  ReplicationLog log_;
  storage::Store store_;
  ClusterState cluster_;
  std::atomic<bool> throttled_replica_{false};
  std::atomic<uint64_t> acked_{0};
  std::atomic<int> ack_polls_{0};
  SnapshotServiceImpl service_;
  std::unique_ptr<RpcServer> server_;
  std::unique_ptr<v1::SnapshotService::Stub> stub_;
};

TEST_F(SnapshotLoadTest, LoadsOnlyRequestedSlotsFromEverySnapshot) {
  // A backup of two shards, restored into a cluster whose shards cut the
  // slot space elsewhere: this node loads the middle half from both.
  const std::string low = Snapshot("load_low", {Range(0, 8191)});
  const std::string high = Snapshot("load_high", {Range(8192, 16383)});
  const std::vector<v1::SlotRange> wanted = {Range(4096, 12287)};
  v1::LoadSnapshotsResponse response;
  grpc::Status status = Load({low, high}, wanted, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  uint64_t expected = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = absl::StrCat("key", i);
    absl::StatusOr<absl::optional<std::string>> got = store_.Get(key);
    ASSERT_TRUE(got.ok());
    if (InRanges(KeySlot(key), wanted)) {
      ++expected;
      ASSERT_TRUE(got->has_value()) << key;
      EXPECT_EQ(**got, absl::StrCat("value", i));
    } else {
      EXPECT_FALSE(got->has_value()) << key << " is outside the slots";
    }
  }
  EXPECT_GT(expected, 1000u);
  EXPECT_EQ(response.keys_loaded(), expected);
  EXPECT_EQ(response.keys_expired(), 0u);
  EXPECT_GT(response.bytes_loaded(), 0u);
  // Logged local writes: one entry per key, for the shard's replicas.
  EXPECT_EQ(log_.reserved_offset(), expected);
}

TEST_F(SnapshotLoadTest, OneCorruptSnapshotAmongGoodOnesLoadsNothing) {
  const std::string a = Snapshot("load_good_a", {Range(0, 5000)});
  const std::string b = Snapshot("load_good_b", {Range(5001, 10000)});
  const std::string bad = Snapshot("load_bad", {Range(10001, 16383)});
  CorruptAnSstFile(bad);
  v1::LoadSnapshotsResponse response;
  grpc::Status status = Load({a, b, bad}, {Range(0, 16383)}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find(bad), std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("nothing was loaded"),
            std::string::npos)
      << status.error_message();
  EXPECT_EQ(store_.Stats().keys, 0);
  EXPECT_EQ(log_.reserved_offset(), 0u);
}

TEST_F(SnapshotLoadTest, MissingSnapshotLoadsNothing) {
  const std::string a = Snapshot("load_present", {});
  const std::string missing =
      (fs::path(testing::TempDir()) / "load_absent").string();
  v1::LoadSnapshotsResponse response;
  grpc::Status status = Load({a, missing}, {Range(0, 16383)}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find(missing), std::string::npos)
      << status.error_message();
  EXPECT_EQ(store_.Stats().keys, 0);
}

TEST_F(SnapshotLoadTest, OverlappingSnapshotsAreRefused) {
  const std::string a = Snapshot("load_overlap_a", {Range(0, 9000)});
  const std::string b = Snapshot("load_overlap_b", {Range(8000, 16383)});
  v1::LoadSnapshotsResponse response;
  grpc::Status status = Load({a, b}, {Range(0, 16383)}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("8000-9000"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(store_.Stats().keys, 0);
  // Requested slots outside the overlap: fine.
  status = Load({a, b}, {Range(0, 7999), Range(9001, 16383)}, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(SnapshotLoadTest, ReplicaRefuses) {
  const std::string a = Snapshot("load_on_replica", {});
  BecomeReplica();
  v1::LoadSnapshotsResponse response;
  grpc::Status status = Load({a}, {Range(0, 16383)}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("a replica"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(store_.Stats().keys, 0);
}

TEST_F(SnapshotLoadTest, NonEmptySlotsAreRefused) {
  const std::string a = Snapshot("load_non_empty", {});
  ASSERT_TRUE(store_.Set("key7", "already here").ok());
  v1::LoadSnapshotsResponse response;
  grpc::Status status = Load({a}, {Range(0, 16383)}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("already holds keys in slot"),
            std::string::npos)
      << status.error_message();
  EXPECT_EQ(store_.Stats().keys, 1);
  // Slots without keys still load.
  const uint32_t taken = KeySlot("key7");
  std::vector<v1::SlotRange> others;
  if (taken > 0) others.push_back(Range(0, taken - 1));
  if (taken + 1 < kNumSlots) others.push_back(Range(taken + 1, 16383));
  status = Load({a}, others, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(**store_.Get("key7"), "already here");
}

TEST_F(SnapshotLoadTest, ExpiredKeysAreSkipped) {
  storage::SetOptions ttl;
  ttl.expire_at = clock_.Now() + absl::Seconds(10);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(source_.Set(absl::StrCat("ttl", i), "v", ttl).ok());
  }
  storage::SetOptions later;
  later.expire_at = clock_.Now() + absl::Hours(1);
  ASSERT_TRUE(source_.Set("lives", "v", later).ok());
  const std::string a = Snapshot("load_expired", {});
  clock_.Advance(absl::Seconds(20));
  v1::LoadSnapshotsResponse response;
  grpc::Status status = Load({a}, {Range(0, 16383)}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.keys_expired(), 100u);
  EXPECT_EQ(response.keys_loaded(), kKeys + 1u);
  EXPECT_FALSE(store_.Get("ttl5")->has_value());
  ASSERT_TRUE(store_.Get("lives")->has_value());
}

TEST_F(SnapshotLoadTest, BadRequestsAreRefused) {
  v1::LoadSnapshotsResponse response;
  const std::string a = Snapshot("load_bad_request", {});
  EXPECT_EQ(Load({}, {Range(0, 16383)}, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Load({a}, {}, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Load({"relative/dir"}, {Range(0, 16383)}, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Load({a}, {Range(5, 3)}, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(store_.Stats().keys, 0);
}

TEST_F(SnapshotLoadTest, WaitsForASlowReplica) {
  const std::string a = Snapshot("load_throttled", {});
  throttled_replica_.store(true);  // A replica that acked nothing yet.
  std::atomic<bool> done{false};
  grpc::Status status;
  v1::LoadSnapshotsResponse response;
  std::thread call([&] {
    status = Load({a}, {Range(0, 16383)}, &response);
    done.store(true);
  });
  // The load stops well short of the end while the replica is behind.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (ack_polls_.load() < 50 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_GE(ack_polls_.load(), 50);
  EXPECT_FALSE(done.load());
  EXPECT_LT(log_.reserved_offset(), static_cast<uint64_t>(kKeys));
  // The replica keeps up from now on.
  while (!done.load() && absl::Now() < deadline) {
    acked_.store(log_.reserved_offset());
    absl::SleepFor(absl::Milliseconds(1));
  }
  call.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.keys_loaded(), static_cast<uint64_t>(kKeys));
}

}  // namespace
}  // namespace slotcache::node::persistence
