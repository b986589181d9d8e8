// Test fixtures shared by the Coordinator's tests: a coordinator on a
// RocksDB store in TEST_TMPDIR with a FakeClock (CoordinatorTest), and a
// NodeAdmin answered from memory (FakeNodeAdmin) for manual failover and
// slot migration.
//
// Thread-safety: FakeNodeAdmin is safe from any thread (the runners call
// it on theirs); the fixture runs on the test's thread.
#ifndef SLOTCACHE_COORDINATOR_COORDINATOR_FIXTURE_H_
#define SLOTCACHE_COORDINATOR_COORDINATOR_FIXTURE_H_

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "coordinator/coordinator.h"
#include "coordinator/rocksdb_state_store.h"
#include "gtest/gtest.h"

namespace slotcache::coordinator {

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ =
        absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/coordinator-", counter++);
    options_.clock = &clock_;
    options_.heartbeat_interval = absl::Milliseconds(100);
    options_.node_timeout = absl::Milliseconds(500);
    options_.primary_lease = absl::Milliseconds(400);
    options_.startup_grace = absl::ZeroDuration();
    options_.on_node_failed = [this](const v1::NodeInfo& node) {
      failed_.push_back(node.node_id());
    };
    Restart();
  }

  // Closes the coordinator (if any) and opens a new one on the same store.
  void Restart() {
    coordinator_.reset();
    auto store = OpenRocksDbStateStore(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto c = Coordinator::Create(std::move(*store), options_);
    ASSERT_TRUE(c.ok()) << c.status();
    coordinator_ = std::move(*c);
  }

  std::string Register(const std::string& az, const std::string& id = "",
                       const std::string& address = "") {
    v1::RegisterNodeRequest request;
    request.set_node_id(id);
    request.set_address(address.empty()
                            ? absl::StrCat("127.0.0.1:", 7000 + next_port_++)
                            : address);
    request.set_az(az);
    auto response = coordinator_->RegisterNode(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->node_id() : "";
  }

  std::vector<std::string> RegisterNine() {
    std::vector<std::string> ids;
    for (int i = 0; i < 9; ++i)
      ids.push_back(Register(std::string(1, 'a' + i % 3)));
    return ids;
  }

  v1::ClusterMap Create(uint32_t shards, uint32_t replicas) {
    v1::CreateClusterRequest request;
    request.set_shards(shards);
    request.set_replicas(replicas);
    auto response = coordinator_->CreateCluster(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->cluster_map() : v1::ClusterMap();
  }

  absl::StatusOr<v1::HeartbeatResponse> Beat(const std::string& id,
                                             uint64_t version = 0) {
    v1::HeartbeatRequest request;
    request.set_node_id(id);
    request.set_cluster_map_version(version);
    return coordinator_->Heartbeat(request);
  }

  // A heartbeat with replication fields: history "h1" at `offset`.
  absl::StatusOr<v1::HeartbeatResponse> Report(const std::string& id,
                                               uint64_t offset,
                                               bool synced = true) {
    v1::HeartbeatRequest request;
    request.set_node_id(id);
    request.set_cluster_map_version(coordinator_->CurrentMap()->version());
    request.set_replication_id("h1");
    request.set_replication_offset(offset);
    request.set_replica_synced(synced);
    return coordinator_->Heartbeat(request);
  }

  std::vector<std::string> EventKinds() {
    std::vector<std::string> kinds;
    auto events = coordinator_->ListEvents(v1::ListEventsRequest());
    EXPECT_TRUE(events.ok());
    for (const v1::Event& e : events->events()) kinds.push_back(e.kind());
    return kinds;
  }

  // The newest operation (empty when there is none).
  v1::Operation LastOperation() {
    v1::ListOperationsResponse ops = coordinator_->ListOperations();
    return ops.operations_size() == 0
               ? v1::Operation()
               : ops.operations(ops.operations_size() - 1);
  }

  const v1::NodeInfo* FindNode(const v1::ClusterMap& map,
                               const std::string& id) {
    for (const v1::NodeInfo& node : map.nodes()) {
      if (node.node_id() == id) return &node;
    }
    return nullptr;
  }

  FakeClock clock_;
  CoordinatorOptions options_;
  std::string dir_;
  std::unique_ptr<Coordinator> coordinator_;
  std::vector<std::string> failed_;
  int next_port_ = 0;
};

// Node admin calls of a manual failover and of slot migrations, answered
// from memory. Migration calls are logged as "<call> <address>"; by default
// an import is at once STREAMING and caught up with the pause offset.
class FakeNodeAdmin : public NodeAdmin {
 public:
  absl::StatusOr<v1::PauseWritesResponse> PauseWrites(
      const std::string& address, absl::Duration duration) override {
    release_pause_.WaitForNotification();
    absl::MutexLock lock(&mu_);
    calls_.push_back(absl::StrCat("pause ", address));
    pause_ = duration;
    v1::PauseWritesResponse response;
    response.set_replication_id("h1");
    response.set_offset(paused_offset_);
    return response;
  }
  absl::Status ResumeWrites(const std::string& address) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(absl::StrCat("resume ", address));
    return absl::OkStatus();
  }
  absl::StatusOr<v1::NodeStatus> GetNodeStatus(
      const std::string& /*address*/) override {
    absl::MutexLock lock(&mu_);
    v1::NodeStatus status;
    status.set_replication_id("h1");
    status.set_replication_offset(target_offset_);
    return status;
  }
  absl::Status ApplyClusterMap(const std::string& address,
                               const v1::ClusterMap&) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(absl::StrCat("map ", address));
    return absl::OkStatus();
  }

  absl::Status StartImport(const std::string& address,
                           const v1::StartImportRequest& request) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(absl::StrCat("StartImport ", address));
    last_source_ = request.source_address();
    return FailureLocked("StartImport");
  }
  absl::StatusOr<v1::ImportStatus> GetImportStatus(
      const std::string& address, const std::string& migration_id) override {
    absl::MutexLock lock(&mu_);
    (void)address;
    if (absl::Status s = FailureLocked("GetImportStatus"); !s.ok()) return s;
    v1::ImportStatus status = import_;
    status.set_migration_id(migration_id);
    return status;
  }
  absl::StatusOr<v1::ImportStatus> FinishImport(
      const std::string& address, const std::string& migration_id) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(absl::StrCat("FinishImport ", address));
    if (absl::Status s = FailureLocked("FinishImport"); !s.ok()) return s;
    v1::ImportStatus status = import_;
    status.set_migration_id(migration_id);
    status.set_state(v1::ImportStatus::FINISHED);
    return status;
  }
  absl::StatusOr<v1::AbortImportResponse> AbortImport(
      const std::string& address,
      const v1::AbortImportRequest& /*request*/) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(absl::StrCat("AbortImport ", address));
    if (absl::Status s = FailureLocked("AbortImport"); !s.ok()) return s;
    return v1::AbortImportResponse();
  }
  absl::StatusOr<v1::PauseSlotWritesResponse> PauseSlotWrites(
      const std::string& address,
      const v1::PauseSlotWritesRequest& request) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(absl::StrCat("PauseSlotWrites ", address));
    slot_pause_ = absl::Milliseconds(request.duration_ms());
    if (absl::Status s = FailureLocked("PauseSlotWrites"); !s.ok()) return s;
    v1::PauseSlotWritesResponse response;
    response.set_replication_id("src");
    response.set_offset(slot_pause_offset_);
    return response;
  }
  absl::Status ResumeSlotWrites(const std::string& address,
                                const std::string&) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(absl::StrCat("ResumeSlotWrites ", address));
    return FailureLocked("ResumeSlotWrites");
  }
  absl::StatusOr<v1::SlotStatsResponse> GetSlotStats(
      const std::string& address) override {
    absl::MutexLock lock(&mu_);
    auto it = slot_stats_.find(address);
    return it == slot_stats_.end() ? v1::SlotStatsResponse() : it->second;
  }

  // The status every GetImportStatus returns (default: STREAMING, caught
  // up with the pause offset 500, replicas caught up, 10 keys).
  void SetImport(const v1::ImportStatus& status) {
    absl::MutexLock lock(&mu_);
    import_ = status;
  }
  static v1::ImportStatus CaughtUp() {
    v1::ImportStatus status;
    status.set_state(v1::ImportStatus::STREAMING);
    status.set_source_replication_id("src");
    status.set_applied_source_offset(500);
    status.set_source_offset(500);
    status.set_snapshot_keys_total(10);
    status.set_keys_imported(10);
    status.set_bytes_imported(1000);
    status.set_replicas_caught_up(true);
    return status;
  }
  // The next `times` calls named `call` fail with UNAVAILABLE.
  void Fail(const std::string& call, int times = 1) {
    absl::MutexLock lock(&mu_);
    failures_[call] = times;
  }
  void SetSlotStats(const std::string& address,
                    const v1::SlotStatsResponse& stats) {
    absl::MutexLock lock(&mu_);
    slot_stats_[address] = stats;
  }
  // Calls whose name starts with `prefix` ("" for all).
  std::vector<std::string> CallsOf(const std::string& prefix) {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const std::string& c : calls_) {
      if (c.rfind(prefix, 0) == 0) out.push_back(c);
    }
    return out;
  }
  void ClearCalls() {
    absl::MutexLock lock(&mu_);
    calls_.clear();
  }
  absl::Duration slot_pause() {
    absl::MutexLock lock(&mu_);
    return slot_pause_;
  }
  std::string last_source() {
    absl::MutexLock lock(&mu_);
    return last_source_;
  }

  void SetOffsets(uint64_t paused, uint64_t target) {
    absl::MutexLock lock(&mu_);
    paused_offset_ = paused;
    target_offset_ = target;
  }
  std::vector<std::string> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  absl::Duration pause() {
    absl::MutexLock lock(&mu_);
    return pause_;
  }
  absl::Notification release_pause_;

 private:
  absl::Status FailureLocked(const std::string& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = failures_.find(call);
    if (it == failures_.end() || it->second == 0) return absl::OkStatus();
    --it->second;
    return absl::UnavailableError(absl::StrCat(call, " failed (injected)"));
  }

  absl::Mutex mu_;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  v1::ImportStatus import_ ABSL_GUARDED_BY(mu_) = CaughtUp();
  uint64_t slot_pause_offset_ ABSL_GUARDED_BY(mu_) = 500;
  absl::Duration slot_pause_ ABSL_GUARDED_BY(mu_);
  std::string last_source_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> failures_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, v1::SlotStatsResponse> slot_stats_
      ABSL_GUARDED_BY(mu_);
  uint64_t paused_offset_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t target_offset_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration pause_ ABSL_GUARDED_BY(mu_);
};

}  // namespace slotcache::coordinator

#endif  // SLOTCACHE_COORDINATOR_COORDINATOR_FIXTURE_H_
