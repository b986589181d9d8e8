// Cluster backup and restore end to end (docs/PERSISTENCE.md, "Cluster
// backup and restore"): real coordinators and nodes, slotctl. A 3x(1+1)
// cluster is backed up while a writer keeps writing; new clusters restore
// it with 5 and with 2 shards and every key written before the backup
// started reads back with its value and TTL; a backup with a flipped byte
// in a shard's SST file is refused with nothing created.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "client/sdk/client.h"
#include "gtest/gtest.h"
#include "tests/cluster_harness.h"
#include "tests/harness/process.h"

namespace slotcache::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kStrings = 20000;
constexpr int kHashes = 10000;

std::string StringKey(int i) { return absl::StrCat("str:", i); }
std::string StringValue(int i) { return absl::StrCat("value-", i, "-", i * 7); }
std::string HashKey(int i) { return absl::StrCat("{user", i, "}.session"); }
// Even strings expire in an hour; odd ones never.
bool HasTtl(int i) { return i % 2 == 0; }

std::unique_ptr<Client> Connect(const TestCluster& cluster) {
  ClientOptions options;
  for (int i = 0; i < cluster.node_count(); ++i) {
    options.seeds.push_back(cluster.node_address(i));
  }
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

// Runs fn(i) for i in [0, n) on `threads` threads.
template <typename Fn>
void Parallel(int n, int threads, Fn fn) {
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = t; i < n; i += threads) fn(i);
    });
  }
  for (std::thread& w : workers) w.join();
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backups_ = NewTempDir("backups");
    flags_ = {absl::StrCat("--backup_location=file://", backups_)};
  }

  // A coordinator with the shared backup location and `nodes` free nodes,
  // all registered.
  void StartEmpty(TestCluster& cluster, int nodes) {
    cluster.set_extra_coordinator_flags(flags_);
    ASSERT_TRUE(cluster.StartCoordinator().ok());
    ASSERT_TRUE(cluster.StartNodes(nodes).ok());
    ASSERT_TRUE(cluster
                    .WaitForMap(
                        [&](const v1::ClusterMap& map) {
                          return map.nodes_size() >= nodes;
                        },
                        "the nodes to register")
                    .ok());
  }

  int Slotctl(const TestCluster& cluster, const std::vector<std::string>& args,
              std::string* output) {
    absl::StatusOr<int> code = cluster.Slotctl(args, output);
    // The outcome lines, for the log (a watch prints many).
    std::cerr << "slotctl " << absl::StrJoin(args, " ") << " -> "
              << (code.ok() ? *code : -1) << ":\n"
              << (output->size() > 3000 ? output->substr(output->size() - 3000)
                                        : *output)
              << "\n";
    EXPECT_TRUE(code.ok()) << code.status();
    return code.ok() ? *code : -1;
  }

  // Every key written before the backup started is there with its value
  // and, for the TTL'd ones, a TTL.
  void CheckKeys(const TestCluster& cluster) {
    std::unique_ptr<Client> client = Connect(cluster);
    ASSERT_NE(client, nullptr);
    std::atomic<int> wrong{0};
    std::atomic<int> wrong_with_ttl{0};
    std::atomic<int> wrong_hashes{0};
    std::atomic<int> ttl_wrong{0};
    std::string first_wrong;
    absl::Mutex mu;
    Parallel(kStrings, 4, [&](int i) {
      absl::StatusOr<std::optional<std::string>> got =
          client->Get(StringKey(i));
      if (!got.ok() || !got->has_value() || **got != StringValue(i)) {
        if (HasTtl(i)) ++wrong_with_ttl;
        if (wrong++ == 0) {
          absl::MutexLock lock(&mu);
          first_wrong = absl::StrCat(
              StringKey(i), ": ",
              got.ok() ? got->value_or("(nil)") : got.status().ToString());
        }
        return;
      }
      if (i % 20 == 0 || i % 20 == 1) {
        absl::StatusOr<int64_t> ttl = client->Ttl(StringKey(i));
        const bool ok = ttl.ok() && (HasTtl(i) ? (*ttl > 3000 && *ttl <= 3600)
                                               : *ttl == -1);
        if (!ok) ++ttl_wrong;
      }
    });
    Parallel(kHashes, 4, [&](int i) {
      auto got = client->HGetAll(HashKey(i));
      if (!got.ok() || got->size() != 2 ||
          (*got)["user"] != absl::StrCat("u", i) ||
          (*got)["cart"] != absl::StrCat("items:", i % 17)) {
        ++wrong_hashes;
        if (wrong++ == 0) {
          absl::MutexLock lock(&mu);
          first_wrong =
              absl::StrCat(HashKey(i), ": ",
                           got.ok() ? absl::StrCat(got->size(), " fields")
                                    : got.status().ToString());
        }
      }
    });
    EXPECT_EQ(wrong.load(), 0)
        << "first: " << first_wrong
        << "; strings with a TTL: " << wrong_with_ttl.load()
        << ", hashes: " << wrong_hashes.load();
    EXPECT_EQ(ttl_wrong.load(), 0);
  }

  std::string backups_;
  std::vector<std::string> flags_;
};

TEST_F(BackupTest, BackUpWhileWritingThenRestoreIntoFiveAndTwoShards) {
  TestCluster source;
  source.set_extra_coordinator_flags(flags_);
  ASSERT_TRUE(source.StartAndCreate(6, 3, 1).ok());
  ASSERT_TRUE(source.WaitReplicasSynced().ok());
  {
    std::unique_ptr<Client> client = Connect(source);
    ASSERT_NE(client, nullptr);
    std::atomic<int> failed{0};
    absl::Mutex mu;
    std::string first_error;
    // Idempotent writes, retried: a call may time out on a loaded machine.
    auto write = [&](const std::function<absl::Status()>& op) {
      absl::Status s;
      for (int attempt = 0; attempt < 5; ++attempt) {
        s = op();
        if (s.ok()) return;
      }
      if (failed++ == 0) {
        absl::MutexLock lock(&mu);
        first_error = s.ToString();
      }
    };
    Parallel(kStrings, 4, [&](int i) {
      SetOptions options;
      if (HasTtl(i)) options = SetOptions::WithTtl(absl::Hours(1));
      write([&] {
        return client->Set(StringKey(i), StringValue(i), options).status();
      });
    });
    Parallel(kHashes, 4, [&](int i) {
      write([&] {
        return client
            ->HSet(HashKey(i), {{"user", absl::StrCat("u", i)},
                                {"cart", absl::StrCat("items:", i % 17)}})
            .status();
      });
    });
    ASSERT_EQ(failed.load(), 0) << "first error: " << first_error;
  }
  // A writer keeps writing through the backup.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    std::unique_ptr<Client> client = Connect(source);
    if (client == nullptr) return;
    for (int i = 0; !stop.load(); ++i) {
      if (client->Set(absl::StrCat("during:", i), "x").ok()) ++written;
    }
  });
  std::string output;
  EXPECT_EQ(Slotctl(source, {"backup", "create", "--name=b1"}, &output), 0)
      << output;
  stop = true;
  writer.join();
  EXPECT_GT(written.load(), 0);
  EXPECT_EQ(Slotctl(source, {"backup", "list"}, &output), 0) << output;
  EXPECT_TRUE(absl::StrContains(output, "b1")) << output;
  EXPECT_EQ(
      Slotctl(source, {"backup", "describe", "b1", "--output=json"}, &output),
      0)
      << output;
  EXPECT_TRUE(absl::StrContains(output, "\"shard-3\"")) << output;

  // A second backup, then one byte of one of its SST files flipped.
  ASSERT_EQ(Slotctl(source, {"backup", "create", "--name=bad"}, &output), 0)
      << output;
  std::string sst;
  for (const auto& entry :
       fs::recursive_directory_iterator(backups_ + "/bad/shard-2")) {
    if (entry.path().extension() == ".sst") sst = entry.path().string();
  }
  ASSERT_FALSE(sst.empty()) << "no SST file in " << backups_ << "/bad/shard-2";
  {
    std::fstream f(sst, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100);
    char c = 0;
    f.get(c);
    f.seekp(100);
    f.put(static_cast<char>(c ^ 0x40));
  }

  // Restore into 5 shards; the corrupt backup first, refused.
  {
    TestCluster five;
    StartEmpty(five, 10);
    EXPECT_NE(
        Slotctl(five,
                {"backup", "restore", "bad", "--shards=5", "--replicas=1"},
                &output),
        0)
        << output;
    absl::StatusOr<v1::ClusterMap> map = five.Describe();
    ASSERT_TRUE(map.ok());
    EXPECT_TRUE(map->cluster_id().empty()) << "a cluster was created";
    EXPECT_EQ(map->shards_size(), 0);
    ASSERT_EQ(
        Slotctl(five, {"backup", "restore", "b1", "--shards=5", "--replicas=1"},
                &output),
        0)
        << output;
    map = five.Describe();
    ASSERT_TRUE(map.ok());
    EXPECT_EQ(map->shards_size(), 5);
    CheckKeys(five);
  }
  // And into 2.
  {
    TestCluster two;
    StartEmpty(two, 4);
    ASSERT_EQ(
        Slotctl(two, {"backup", "restore", "b1", "--shards=2", "--replicas=1"},
                &output),
        0)
        << output;
    CheckKeys(two);
  }
}

}  // namespace
}  // namespace slotcache::testing
