#include "coordinator/backup_manager.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "coordinator/backup_store.h"
#include "coordinator/coordinator_fixture.h"
#include "coordinator/snapshot_client.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace slotcache::coordinator {
namespace {
namespace fs = std::filesystem;

// Writes a small but well-formed snapshot (one database file) like a node
// would, and answers LoadSnapshots from memory.
class FakeSnapshotClient : public SnapshotClient {
 public:
  explicit FakeSnapshotClient(Coordinator** coordinator)
      : coordinator_(coordinator) {}

  absl::StatusOr<v1::SnapshotManifest> CreateSnapshot(
      const std::string& address,
      const v1::CreateSnapshotRequest& request) override {
    {
      absl::MutexLock lock(&mu_);
      create_calls_.push_back(address);
      if (refuse_.contains(address)) {
        return absl::FailedPreconditionError("snapshots only on primaries");
      }
      if (fail_.contains(address)) {
        return absl::InternalError("disk on fire");
      }
    }
    fs::create_directories(request.directory() + "/db");
    const std::string data = "sst bytes of " + request.shard_id();
    std::ofstream(request.directory() + "/db/000001.sst") << data;
    v1::SnapshotManifest manifest;
    manifest.set_format("slotcache-snapshot");
    manifest.set_format_version(1);
    manifest.set_cluster_id(request.cluster_id());
    manifest.set_shard_id(request.shard_id());
    for (const v1::ShardInfo& shard : (*coordinator_)->CurrentMap()->shards()) {
      if (shard.shard_id() == request.shard_id()) {
        *manifest.mutable_slots() = shard.slots();
      }
    }
    manifest.set_replication_id("h1");
    manifest.set_replication_offset(100);
    manifest.set_key_count(1000);
    manifest.set_total_bytes(data.size());
    v1::SnapshotFile* file = manifest.add_files();
    file->set_name("db/000001.sst");
    file->set_size_bytes(data.size());
    file->set_crc32c(Crc32cHexOf(data));
    manifest.set_manifest_crc32c(SnapshotManifestChecksum(manifest));
    std::string json;
    EXPECT_TRUE(
        google::protobuf::util::MessageToJsonString(manifest, &json).ok());
    std::ofstream(request.directory() + "/manifest.json") << json;
    return manifest;
  }

  absl::StatusOr<v1::LoadSnapshotsResponse> LoadSnapshots(
      const std::string& address,
      const v1::LoadSnapshotsRequest& request) override {
    absl::MutexLock lock(&mu_);
    if (not_primary_yet_ > 0) {
      --not_primary_yet_;
      return absl::FailedPreconditionError("this node is not a primary");
    }
    load_calls_.push_back(request);
    load_addresses_.push_back(address);
    v1::LoadSnapshotsResponse response;
    response.set_keys_loaded(7);
    return response;
  }

  void Refuse(const std::string& address) {
    absl::MutexLock lock(&mu_);
    refuse_.insert(address);
  }
  void Fail(const std::string& address) {
    absl::MutexLock lock(&mu_);
    fail_.insert(address);
  }
  void NotPrimaryYet(int times) {
    absl::MutexLock lock(&mu_);
    not_primary_yet_ = times;
  }
  std::vector<std::string> create_calls() {
    absl::MutexLock lock(&mu_);
    return create_calls_;
  }
  std::vector<v1::LoadSnapshotsRequest> load_calls() {
    absl::MutexLock lock(&mu_);
    return load_calls_;
  }

 private:
  Coordinator** const coordinator_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> refuse_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> fail_ ABSL_GUARDED_BY(mu_);
  int not_primary_yet_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> create_calls_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::LoadSnapshotsRequest> load_calls_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> load_addresses_ ABSL_GUARDED_BY(mu_);
};

class BackupManagerTest : public CoordinatorTest {
 protected:
  void SetUp() override {
    CoordinatorTest::SetUp();
    backup_dir_ = dir_ + "-backups";
    auto store = OpenBackupStore("file://" + backup_dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    raw_ = coordinator_.get();
    NewManager();
  }
  void TearDown() override { manager_.reset(); }

  void NewManager(int retention = 0) {
    manager_.reset();
    raw_ = coordinator_.get();
    BackupOptions options;
    options.coordinator = coordinator_.get();
    options.store = store_.get();
    options.snapshots = &snapshots_;
    options.clock = &clock_;
    options.retention = retention;
    options.retry_interval = absl::Milliseconds(1);
    manager_ = std::make_unique<BackupManager>(options);
  }

  // A fresh coordinator (empty state) with nine free nodes.
  void FreshCoordinator() {
    manager_.reset();
    dir_ += "-fresh";
    Restart();
    RegisterNine();
    NewManager();
  }

  std::string AddressOf(const std::string& node_id) {
    for (const v1::NodeInfo& n : coordinator_->CurrentMap()->nodes()) {
      if (n.node_id() == node_id) return n.address();
    }
    return "";
  }

  v1::Operation Backup(const std::string& name) {
    v1::CreateBackupRequest request;
    request.set_name(name);
    auto started = manager_->CreateBackup(request);
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return v1::Operation();
    EXPECT_TRUE(manager_->WaitIdle(absl::Seconds(30)));
    return *coordinator_->GetOperation(started->operation().id());
  }

  std::vector<std::string> Listed() {
    std::vector<std::string> names;
    auto list = manager_->ListBackups();
    EXPECT_TRUE(list.ok()) << list.status();
    for (const v1::BackupInfo& b : list->backups()) names.push_back(b.name());
    return names;
  }

  absl::StatusOr<v1::Operation> Restore(const std::string& name,
                                        uint32_t shards, uint32_t replicas) {
    v1::RestoreBackupRequest request;
    request.set_name(name);
    request.set_shards(shards);
    request.set_replicas(replicas);
    auto started = manager_->RestoreBackup(request);
    if (!started.ok()) return started.status();
    EXPECT_TRUE(manager_->WaitIdle(absl::Seconds(30)));
    return coordinator_->GetOperation(started->operation().id());
  }

  void RewriteBackupJson(const std::string& name,
                         const std::function<void(v1::BackupInfo&)>& edit) {
    auto info = store_->ReadManifest(name);
    ASSERT_TRUE(info.ok()) << info.status();
    edit(*info);
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(*info, &json).ok());
    std::ofstream(backup_dir_ + "/" + name + "/backup.json") << json;
  }

  std::string backup_dir_;
  std::unique_ptr<BackupStore> store_;
  Coordinator* raw_ = nullptr;
  FakeSnapshotClient snapshots_{&raw_};
  std::unique_ptr<BackupManager> manager_;
};

TEST_F(BackupManagerTest, BacksUpEveryShardFromAReplicaAndListsIt) {
  RegisterNine();
  v1::ClusterMap map = Create(3, 1);
  v1::Operation op = Backup("nightly");
  EXPECT_EQ(op.kind(), "backup");
  ASSERT_EQ(op.state(), v1::Operation::SUCCEEDED) << op.progress();
  absl::flat_hash_set<std::string> replicas;
  for (const v1::ShardInfo& s : map.shards()) {
    replicas.insert(AddressOf(s.replica_node_ids(0)));
  }
  for (const std::string& a : snapshots_.create_calls()) {
    EXPECT_TRUE(replicas.contains(a)) << a << " is not a replica";
  }
  EXPECT_EQ(Listed(), std::vector<std::string>{"nightly"});
  auto info = manager_->DescribeBackup("nightly");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->shards_size(), 3);
  EXPECT_EQ(info->key_count(), 3000u);
  EXPECT_EQ(info->trigger(), "manual");
  EXPECT_EQ(info->cluster_id(), map.cluster_id());
  EXPECT_EQ(info->format_version(), kBackupFormatVersion);
  EXPECT_TRUE(fs::exists(backup_dir_ + "/nightly/backup.json"));
  EXPECT_TRUE(fs::exists(backup_dir_ + "/nightly/shard-2/manifest.json"));
  auto kinds = EventKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "backup_completed"),
            kinds.end());
  // A used name is refused; describe of an unknown one says so.
  v1::CreateBackupRequest again;
  again.set_name("nightly");
  EXPECT_EQ(manager_->CreateBackup(again).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(manager_->DescribeBackup("nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(manager_->DeleteBackup("nightly").ok());
  EXPECT_TRUE(Listed().empty());
  EXPECT_EQ(manager_->DeleteBackup("nightly").code(),
            absl::StatusCode::kNotFound);
}

TEST_F(BackupManagerTest, FallsBackToThePrimaryWhenTheReplicaRefuses) {
  RegisterNine();
  v1::ClusterMap map = Create(3, 1);
  for (const v1::ShardInfo& s : map.shards()) {
    snapshots_.Refuse(AddressOf(s.replica_node_ids(0)));
  }
  v1::Operation op = Backup("b1");
  ASSERT_EQ(op.state(), v1::Operation::SUCCEEDED) << op.progress();
  auto info = manager_->DescribeBackup("b1");
  ASSERT_TRUE(info.ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(info->shards(i).node_id(), map.shards(i).primary_node_id());
  }
}

TEST_F(BackupManagerTest, AFailingShardFailsTheBackupAndNothingIsListed) {
  RegisterNine();
  v1::ClusterMap map = Create(3, 1);
  snapshots_.Fail(AddressOf(map.shards(1).replica_node_ids(0)));
  v1::Operation op = Backup("broken");
  EXPECT_EQ(op.state(), v1::Operation::FAILED);
  EXPECT_NE(op.progress().find("shard-2"), std::string::npos) << op.progress();
  EXPECT_TRUE(Listed().empty());
  EXPECT_FALSE(fs::exists(backup_dir_ + "/broken"));
  auto kinds = EventKinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "backup_failed"),
            kinds.end());
}

TEST_F(BackupManagerTest, RetentionDeletesOnlyOldScheduledBackups) {
  RegisterNine();
  Create(3, 1);
  NewManager(/*retention=*/2);
  std::vector<std::string> scheduled;
  for (int i = 0; i < 4; ++i) {
    if (i == 1) {
      clock_.Advance(absl::Seconds(1));
      ASSERT_EQ(Backup("manual-one").state(), v1::Operation::SUCCEEDED);
    }
    clock_.Advance(absl::Minutes(10));
    auto op = manager_->RunScheduledBackup();
    ASSERT_TRUE(op.ok()) << op.status();
    ASSERT_EQ(op->state(), v1::Operation::SUCCEEDED) << op->progress();
  }
  std::vector<std::string> names = Listed();
  ASSERT_EQ(names.size(), 3u) << names.size();
  EXPECT_EQ(names[0], "manual-one");
  auto newest = manager_->DescribeBackup(names[2]);
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(newest->trigger(), "scheduled");
  EXPECT_EQ(manager_->DescribeBackup(names[1])->trigger(), "scheduled");
}

TEST_F(BackupManagerTest, RestoresIntoAnotherShardCount) {
  RegisterNine();
  Create(3, 1);
  ASSERT_EQ(Backup("b1").state(), v1::Operation::SUCCEEDED);
  FreshCoordinator();
  snapshots_.NotPrimaryYet(3);
  auto op = Restore("b1", 2, 1);
  ASSERT_TRUE(op.ok()) << op.status();
  EXPECT_EQ(op->kind(), "restore_backup");
  ASSERT_EQ(op->state(), v1::Operation::SUCCEEDED) << op->progress();
  EXPECT_NE(op->progress().find("14 keys"), std::string::npos)
      << op->progress();
  v1::ClusterMap map = *coordinator_->CurrentMap();
  ASSERT_EQ(map.shards_size(), 2);
  std::vector<v1::LoadSnapshotsRequest> loads = snapshots_.load_calls();
  ASSERT_EQ(loads.size(), 2u);
  for (const v1::LoadSnapshotsRequest& load : loads) {
    EXPECT_EQ(load.directories_size(), 3);
    ASSERT_EQ(load.slots_size(), 1);
  }
}

TEST_F(BackupManagerTest, RestoreRefusesBadBackupsAndCreatesNothing) {
  RegisterNine();
  Create(3, 1);
  ASSERT_EQ(Backup("b1").state(), v1::Operation::SUCCEEDED);
  // With a cluster: refused.
  EXPECT_EQ(Restore("b1", 3, 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(Backup("newer").state(), v1::Operation::SUCCEEDED);
  RewriteBackupJson("newer",
                    [](v1::BackupInfo& b) { b.set_format_version(2); });
  ASSERT_EQ(Backup("foreign").state(), v1::Operation::SUCCEEDED);
  RewriteBackupJson("foreign", [](v1::BackupInfo& b) { b.set_name("b1"); });
  ASSERT_EQ(Backup("partial").state(), v1::Operation::SUCCEEDED);
  fs::remove_all(backup_dir_ + "/partial/shard-3");
  ASSERT_EQ(Backup("other").state(), v1::Operation::SUCCEEDED);
  RewriteBackupJson("other",
                    [](v1::BackupInfo& b) { b.set_cluster_id("elsewhere"); });
  ASSERT_EQ(Backup("corrupt").state(), v1::Operation::SUCCEEDED);
  {
    std::fstream f(backup_dir_ + "/corrupt/shard-1/db/000001.sst",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2);
    f.put('X');
  }

  FreshCoordinator();
  EXPECT_EQ(Restore("missing", 3, 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Restore("newer", 3, 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Restore("foreign", 3, 1).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(Restore("partial", 3, 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Restore("other", 3, 1).status().code(),
            absl::StatusCode::kDataLoss);
  auto corrupt = Restore("corrupt", 3, 1);
  ASSERT_TRUE(corrupt.ok()) << corrupt.status();
  EXPECT_EQ(corrupt->state(), v1::Operation::FAILED);
  EXPECT_NE(corrupt->progress().find("CRC32C"), std::string::npos)
      << corrupt->progress();
  EXPECT_TRUE(coordinator_->CurrentMap()->cluster_id().empty());
  EXPECT_EQ(coordinator_->CurrentMap()->shards_size(), 0);
  EXPECT_TRUE(snapshots_.load_calls().empty());
}

TEST_F(BackupManagerTest, ABackupRunningAtARestartIsMarkedFailed) {
  RegisterNine();
  Create(3, 1);
  auto op = coordinator_->BeginOperation("backup", "b", "0/3 shards",
                                         "backup_started", "b");
  ASSERT_TRUE(op.ok());
  manager_.reset();
  Restart();
  NewManager();
  auto after = coordinator_->GetOperation(op->id());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state(), v1::Operation::FAILED);
}

}  // namespace
}  // namespace slotcache::coordinator
