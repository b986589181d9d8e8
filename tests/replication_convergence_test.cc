// A replica started with --replicaof follows a real primary through random
// writes (TTLs, hashes, counters, deletes, evictions under maxmemory) and
// ends with the primary's exact content; a replica restarted mid-stream
// converges too; replicas refuse writes and serve replica reads.
#include <memory>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/node_test_client.h"
#include "tests/replication_test_util.h"

namespace slotcache::testing {
namespace {

constexpr absl::Duration kConverge = absl::Seconds(20);

std::unique_ptr<NodeUnderTest> MustStart(const std::vector<std::string>& args) {
  absl::StatusOr<std::unique_ptr<NodeUnderTest>> node =
      NodeUnderTest::Start(args);
  EXPECT_TRUE(node.ok()) << node.status();
  return node.ok() ? std::move(*node) : nullptr;
}

TEST(ReplicationConvergenceTest, ReplicaDigestEqualsPrimaryAfterRandomWrites) {
  auto primary =
      MustStart({"--maxmemory=1mb", "--maxmemory_policy=allkeys-lru"});
  ASSERT_NE(primary, nullptr);
  auto replica = MustStart({"--replicaof=" + primary->address()});
  ASSERT_NE(replica, nullptr);

  absl::BitGen gen;
  // Half before the replica's first sync completes, half streamed.
  ASSERT_TRUE(RunBatches(primary.get(), RandomWrites(gen, 30000, 40000)).ok());
  ASSERT_TRUE(RunBatches(primary.get(), RandomWrites(gen, 30000, 40000)).ok());
  ASSERT_TRUE(WaitConverged(primary.get(), replica.get(), kConverge).ok())
      << WaitConverged(primary.get(), replica.get(), absl::ZeroDuration());

  absl::StatusOr<v1::NodeStatus> p = Status(primary.get());
  ASSERT_TRUE(p.ok());
  EXPECT_GT(p->evicted_keys(), 0u) << "the workload should evict";
  EXPECT_GT(p->expired_keys(), 0u) << "the workload should expire keys";
  ASSERT_EQ(p->replicas_size(), 1);
  // Expiries may still append entries; the replica's ack catches up.
  EXPECT_TRUE(PollUntil(
                  [&] {
                    p = Status(primary.get());
                    return p.ok() && p->replicas_size() == 1 &&
                           p->replicas(0).lag_entries() == 0 &&
                           p->replicas(0).acked_offset() ==
                               p->replication_offset();
                  },
                  kConverge, "primary seeing the replica caught up")
                  .ok());
  absl::StatusOr<v1::NodeStatus> r = Status(replica.get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->role(), v1::REPLICA);
  EXPECT_EQ(r->primary_address(), primary->address());
  EXPECT_TRUE(r->primary_link_up());
  EXPECT_EQ(r->full_syncs(), 1u);
}

TEST(ReplicationConvergenceTest, ReplicaRefusesWritesAndServesReplicaReads) {
  auto primary = MustStart({});
  ASSERT_NE(primary, nullptr);
  auto replica = MustStart({"--replicaof=" + primary->address()});
  ASSERT_NE(replica, nullptr);
  ASSERT_FALSE(
      primary->Run1(Path::kExecute, Cmd({"SET", "k", "v"})).has_error());
  ASSERT_TRUE(WaitConverged(primary.get(), replica.get(), kConverge).ok());

  v1::Reply write = replica->Run1(Path::kExecute, Cmd({"SET", "k", "w"}));
  ASSERT_TRUE(write.has_error());
  EXPECT_EQ(write.error().code(), v1::READONLY);
  EXPECT_EQ(write.error().redirect().address(), primary->address());

  v1::RequestOptions replica_read;
  replica_read.set_allow_replica_read(true);
  v1::Reply read =
      replica->Run1(Path::kExecute, Cmd({"GET", "k"}), replica_read);
  EXPECT_EQ(read.value().bulk(), "v") << ReplyText(read);
  v1::Reply moved = replica->Run1(Path::kExecute, Cmd({"GET", "k"}));
  ASSERT_TRUE(moved.has_error());
  EXPECT_EQ(moved.error().code(), v1::MOVED);
}

TEST(ReplicationConvergenceTest, ReplicaRestartedMidStreamConverges) {
  auto primary = MustStart({});
  ASSERT_NE(primary, nullptr);
  auto replica = MustStart({"--replicaof=" + primary->address()});
  ASSERT_NE(replica, nullptr);

  std::atomic<bool> done{false};
  absl::Status writer_status;
  std::thread writer([&] {
    absl::BitGen gen;
    for (int i = 0; i < 40 && writer_status.ok(); ++i) {
      writer_status = RunBatches(primary.get(), RandomWrites(gen, 1000, 20000));
    }
    done = true;
  });
  // Kill the replica while the writes stream, then start a new one.
  ASSERT_TRUE(PollUntil(
                  [&] {
                    absl::StatusOr<v1::NodeStatus> r = Status(replica.get());
                    return done || (r.ok() && r->replication_offset() > 5000);
                  },
                  absl::Seconds(20), "replica applying the stream")
                  .ok());
  replica->process()->Kill();
  replica = MustStart({"--replicaof=" + primary->address()});
  ASSERT_NE(replica, nullptr);
  writer.join();
  ASSERT_TRUE(writer_status.ok()) << writer_status;
  ASSERT_TRUE(WaitConverged(primary.get(), replica.get(), kConverge).ok())
      << WaitConverged(primary.get(), replica.get(), absl::ZeroDuration());
}

}  // namespace
}  // namespace slotcache::testing
