// Reconnection: a replica cut off briefly resumes with a partial resync
// (no second full sync); one that fell beyond the primary's backlog gets a
// full sync and converges. The link runs through a TcpProxy the test cuts.
#include <memory>

#include "absl/random/random.h"
#include "gtest/gtest.h"
#include "tests/node_test_client.h"
#include "tests/replication_test_util.h"

namespace slotcache::testing {
namespace {

constexpr absl::Duration kConverge = absl::Seconds(20);

struct Pair {
  std::unique_ptr<NodeUnderTest> primary;
  std::unique_ptr<TcpProxy> proxy;
  std::unique_ptr<NodeUnderTest> replica;
};

Pair StartPair(const std::vector<std::string>& primary_args) {
  Pair pair;
  auto primary = NodeUnderTest::Start(primary_args);
  EXPECT_TRUE(primary.ok()) << primary.status();
  if (!primary.ok()) return pair;
  pair.primary = std::move(*primary);
  auto proxy = TcpProxy::Start(pair.primary->address());
  EXPECT_TRUE(proxy.ok()) << proxy.status();
  if (!proxy.ok()) return pair;
  pair.proxy = std::move(*proxy);
  auto replica = NodeUnderTest::Start({"--replicaof=" + pair.proxy->address()});
  EXPECT_TRUE(replica.ok()) << replica.status();
  if (replica.ok()) pair.replica = std::move(*replica);
  return pair;
}

uint64_t LinkUp(NodeUnderTest* replica) {
  absl::StatusOr<v1::NodeStatus> r = Status(replica);
  return r.ok() && r->primary_link_up();
}

TEST(ReplicationResyncTest, BriefDisconnectResumesWithPartialResync) {
  Pair pair = StartPair({});
  ASSERT_NE(pair.replica, nullptr);
  absl::BitGen gen;
  ASSERT_TRUE(
      RunBatches(pair.primary.get(), RandomWrites(gen, 20000, 10000)).ok());
  ASSERT_TRUE(
      WaitConverged(pair.primary.get(), pair.replica.get(), kConverge).ok());

  pair.proxy->Block();
  ASSERT_TRUE(PollUntil([&] { return !LinkUp(pair.replica.get()); },
                        absl::Seconds(10), "replica noticing the cut")
                  .ok());
  ASSERT_TRUE(
      RunBatches(pair.primary.get(), RandomWrites(gen, 5000, 10000)).ok());
  pair.proxy->Unblock();
  ASSERT_TRUE(
      WaitConverged(pair.primary.get(), pair.replica.get(), kConverge).ok())
      << WaitConverged(pair.primary.get(), pair.replica.get(),
                       absl::ZeroDuration());

  absl::StatusOr<v1::NodeStatus> r = Status(pair.replica.get());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->full_syncs(), 1u) << "the reconnect must not full-sync";
  EXPECT_GE(r->partial_syncs(), 1u);
  absl::StatusOr<v1::NodeStatus> p = Status(pair.primary.get());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->full_syncs_served(), 1u);
  EXPECT_GE(p->partial_syncs_served(), 1u);
}

TEST(ReplicationResyncTest, ReplicaBeyondTheBacklogGetsFullSyncAndConverges) {
  Pair pair = StartPair({"--repl_backlog_bytes=256kb"});
  ASSERT_NE(pair.replica, nullptr);
  absl::BitGen gen;
  ASSERT_TRUE(
      RunBatches(pair.primary.get(), RandomWrites(gen, 5000, 10000)).ok());
  ASSERT_TRUE(
      WaitConverged(pair.primary.get(), pair.replica.get(), kConverge).ok());

  absl::StatusOr<v1::NodeStatus> before = Status(pair.replica.get());
  ASSERT_TRUE(before.ok());
  pair.proxy->Block();
  ASSERT_TRUE(PollUntil([&] { return !LinkUp(pair.replica.get()); },
                        absl::Seconds(10), "replica noticing the cut")
                  .ok());
  // Far more than 256 KiB of entries.
  ASSERT_TRUE(
      RunBatches(pair.primary.get(), RandomWrites(gen, 30000, 10000)).ok());
  pair.proxy->Unblock();
  ASSERT_TRUE(
      WaitConverged(pair.primary.get(), pair.replica.get(), kConverge).ok())
      << WaitConverged(pair.primary.get(), pair.replica.get(),
                       absl::ZeroDuration());
  absl::StatusOr<v1::NodeStatus> r = Status(pair.replica.get());
  ASSERT_TRUE(r.ok());
  // (The first sync may itself have been retried: a 256 KiB backlog can
  // overrun while a snapshot streams under writes.)
  EXPECT_GT(r->full_syncs(), before->full_syncs());
}

}  // namespace
}  // namespace slotcache::testing
