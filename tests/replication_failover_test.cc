// Switching primary by cluster map: when the map promotes one replica and
// points the other at it, the promoted node keeps serving the history it
// replicated, so the other replica switches with a partial resync (no new
// full sync) and converges to the new primary's writes.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "common/rpc.h"
#include "common/slot.h"
#include "gtest/gtest.h"
#include "tests/node_test_client.h"
#include "tests/replication_test_util.h"

namespace slotcache::testing {
namespace {

constexpr absl::Duration kConverge = absl::Seconds(20);

// Map version 2: `primary` owns every slot, `replica` follows it.
v1::ClusterMap PromotionMap(const v1::NodeStatus& primary,
                            const v1::NodeStatus& replica) {
  v1::ClusterMap map;
  map.set_cluster_id("replicaof");
  map.set_version(2);
  v1::ShardInfo* shard = map.add_shards();
  shard->set_shard_id("replicaof");
  v1::SlotRange* range = shard->add_slots();
  range->set_start(0);
  range->set_end(kNumSlots - 1);
  shard->set_primary_node_id(primary.node_id());
  shard->add_replica_node_ids(replica.node_id());
  shard->set_config_epoch(2);
  for (const v1::NodeStatus* s : {&primary, &replica}) {
    v1::NodeInfo* n = map.add_nodes();
    n->set_node_id(s->node_id());
    n->set_address(s->address());
    n->set_role(s == &primary ? v1::PRIMARY : v1::REPLICA);
    n->set_shard_id("replicaof");
  }
  return map;
}

absl::Status Apply(NodeUnderTest* node, const v1::ClusterMap& map) {
  grpc::ClientContext context;
  v1::ApplyClusterMapResponse response;
  grpc::Status s = node->admin()->ApplyClusterMap(&context, map, &response);
  if (!s.ok()) return absl::InternalError(s.error_message());
  return absl::OkStatus();
}

// Opens a Sync stream to `node` as a replica that never synced and returns
// the kind of the first message, or the stream's error.
absl::StatusOr<v1::PrimaryMessage::KindCase> FirstSyncMessage(
    const std::string& address) {
  auto stub = v1::ReplicationService::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  auto stream = stub->Sync(&context);
  v1::ReplicaMessage hello;
  hello.mutable_sync()->set_replica_node_id("probe");
  stream->Write(hello);
  v1::PrimaryMessage first;
  if (stream->Read(&first)) {
    context.TryCancel();
    stream->Finish();
    return first.kind_case();
  }
  grpc::Status finished = stream->Finish();
  return absl::Status(static_cast<absl::StatusCode>(finished.error_code()),
                      finished.error_message());
}

TEST(ReplicationFailoverTest, OnlyAPrimaryServesSync) {
  auto primary = NodeUnderTest::Start({});
  ASSERT_TRUE(primary.ok());
  auto replica = NodeUnderTest::Start({"--replicaof=" + (*primary)->address()});
  ASSERT_TRUE(replica.ok());
  // A coordinated node before its first map (as after a restart at the
  // same address): the coordinator address leads nowhere.
  const std::string data_dir = ::testing::TempDir() + "/only_primary_syncs";
  auto unmapped = NodeUnderTest::Start(
      {"--coordinator=127.0.0.1:1", "--az=az-a", "--data_dir=" + data_dir});
  ASSERT_TRUE(unmapped.ok()) << unmapped.status();

  absl::StatusOr<v1::PrimaryMessage::KindCase> from_primary =
      FirstSyncMessage((*primary)->address());
  ASSERT_TRUE(from_primary.ok()) << from_primary.status();
  EXPECT_EQ(*from_primary, v1::PrimaryMessage::kFullSyncBegin);
  for (NodeUnderTest* node : {replica->get(), unmapped->get()}) {
    absl::StatusOr<v1::PrimaryMessage::KindCase> refused =
        FirstSyncMessage(node->address());
    ASSERT_FALSE(refused.ok()) << node->address() << " served a Sync";
    EXPECT_TRUE(absl::IsFailedPrecondition(refused.status()))
        << refused.status();
    EXPECT_TRUE(absl::StrContains(refused.status().message(), "not a primary"))
        << refused.status();
    std::printf("[sync-gate] %s refused: %s\n", node->address().c_str(),
                std::string(refused.status().message()).c_str());
  }

  // Once its map makes it the primary, the former replica serves Sync.
  absl::StatusOr<v1::NodeStatus> p = Status(primary->get());
  absl::StatusOr<v1::NodeStatus> r = Status(replica->get());
  ASSERT_TRUE(p.ok() && r.ok());
  ASSERT_TRUE(Apply(replica->get(), PromotionMap(*r, *p)).ok());
  absl::StatusOr<v1::PrimaryMessage::KindCase> promoted =
      FirstSyncMessage((*replica)->address());
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  EXPECT_EQ(*promoted, v1::PrimaryMessage::kFullSyncBegin);
}

TEST(ReplicationFailoverTest, SiblingSwitchesToPromotedReplicaByPartialResync) {
  auto old_primary = NodeUnderTest::Start({});
  ASSERT_TRUE(old_primary.ok());
  auto promoted =
      NodeUnderTest::Start({"--replicaof=" + (*old_primary)->address()});
  ASSERT_TRUE(promoted.ok());
  auto sibling =
      NodeUnderTest::Start({"--replicaof=" + (*old_primary)->address()});
  ASSERT_TRUE(sibling.ok());

  absl::BitGen gen;
  ASSERT_TRUE(
      RunBatches(old_primary->get(), RandomWrites(gen, 10000, 5000)).ok());
  ASSERT_TRUE(
      WaitConverged(old_primary->get(), promoted->get(), kConverge).ok());
  ASSERT_TRUE(
      WaitConverged(old_primary->get(), sibling->get(), kConverge).ok());

  // The "coordinator" (this test) stops the old primary and promotes.
  (*old_primary)->process()->Kill();
  absl::StatusOr<v1::NodeStatus> p = Status(promoted->get());
  absl::StatusOr<v1::NodeStatus> s = Status(sibling->get());
  ASSERT_TRUE(p.ok() && s.ok());
  const v1::ClusterMap map = PromotionMap(*p, *s);
  ASSERT_TRUE(Apply(promoted->get(), map).ok());
  ASSERT_TRUE(Apply(sibling->get(), map).ok());

  // The new primary takes writes once it noticed its role.
  const std::vector<v1::Command> more = RandomWrites(gen, 5000, 5000);
  ASSERT_TRUE(PollUntil(
                  [&] {
                    return !(*promoted)
                                ->Run1(Path::kExecute, Cmd({"SET", "x", "1"}))
                                .has_error();
                  },
                  absl::Seconds(10), "promoted node accepting writes")
                  .ok());
  ASSERT_TRUE(RunBatches(promoted->get(), more).ok());
  ASSERT_TRUE(WaitConverged(promoted->get(), sibling->get(), kConverge).ok())
      << WaitConverged(promoted->get(), sibling->get(), absl::ZeroDuration());

  absl::StatusOr<v1::NodeStatus> after = Status(sibling->get());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->primary_address(), (*promoted)->address());
  EXPECT_EQ(after->full_syncs(), 1u) << "switching must not full-sync";
  EXPECT_GE(after->partial_syncs(), 1u);
  absl::StatusOr<v1::NodeStatus> promoted_status = Status(promoted->get());
  ASSERT_TRUE(promoted_status.ok());
  EXPECT_EQ(promoted_status->role(), v1::PRIMARY);
  EXPECT_NE(promoted_status->replication_id(), p->replication_id());
  EXPECT_EQ(promoted_status->full_syncs_served(), 0u);
}

}  // namespace
}  // namespace slotcache::testing
