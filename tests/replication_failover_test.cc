// Switching primary by cluster map: when the map promotes one replica and
// points the other at it, the promoted node keeps serving the history it
// replicated, so the other replica switches with a partial resync (no new
// full sync) and converges to the new primary's writes.
#include <memory>
#include <string>

#include "absl/random/random.h"
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
