// Replication driven by the coordinator's map: in a 1 x (1+1) cluster the
// replica follows its shard's primary without any --replicaof, converges
// to its content, and `slotctl cluster status` shows its offset and lag.
#include <map>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "gtest/gtest.h"
#include "proto/cache.grpc.pb.h"
#include "proto/replication.grpc.pb.h"
#include "tests/cluster_harness.h"
#include "tests/harness/process.h"

namespace slotcache::testing {
namespace {

absl::StatusOr<v1::DigestResponse> DigestAt(const std::string& address) {
  auto stub = v1::ReplicationService::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  v1::DigestResponse response;
  grpc::Status status = stub->Digest(&context, {}, &response);
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  return response;
}

TEST(ReplicationClusterTest, ReplicaFollowsThePrimaryTheMapNames) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator().ok());
  ASSERT_TRUE(cluster.StartNodes(2).ok());
  ASSERT_TRUE(cluster.CreateCluster(1, 1).ok());
  absl::StatusOr<v1::ClusterMap> map = cluster.Describe();
  ASSERT_TRUE(map.ok());
  std::map<std::string, std::string> address;
  for (const v1::NodeInfo& n : map->nodes()) address[n.node_id()] = n.address();
  ASSERT_EQ(map->shards_size(), 1);
  const v1::ShardInfo& shard = map->shards(0);
  ASSERT_EQ(shard.replica_node_ids_size(), 1);
  const std::string primary = address[shard.primary_node_id()];
  const std::string replica = address[shard.replica_node_ids(0)];

  // Writes go to the primary once its lease is valid.
  auto cache = v1::CacheService::NewStub(MakeChannel(primary));
  absl::BitGen gen;
  for (int b = 0; b < 20; ++b) {
    v1::BatchRequest batch;
    for (int i = 0; i < 250; ++i) {
      v1::Command* c = batch.add_commands();
      c->set_name("SET");
      c->add_args(absl::StrCat("key:", absl::Uniform(gen, 0, 3000)));
      c->add_args(absl::StrCat("v", b, ":", i));
    }
    ASSERT_TRUE(PollUntil(
                    [&] {
                      grpc::ClientContext context;
                      v1::BatchResponse response;
                      return cache->Batch(&context, batch, &response).ok() &&
                             !response.replies(0).has_error();
                    },
                    absl::Seconds(10), "primary accepting writes")
                    .ok());
  }

  std::string last;
  ASSERT_TRUE(PollUntil(
                  [&] {
                    auto p = DigestAt(primary);
                    auto r = DigestAt(replica);
                    if (!p.ok() || !r.ok()) return false;
                    last = absl::StrCat(p->key_count(), " vs ", r->key_count());
                    return p->key_count() > 0 && p->digest() == r->digest() &&
                           p->replication_offset() == r->replication_offset();
                  },
                  absl::Seconds(20), "replica converging")
                  .ok())
      << last;

  // The coordinator learns both offsets from heartbeats.
  ASSERT_TRUE(cluster
                  .WaitForMap(
                      [&](const v1::ClusterMap& m) {
                        uint64_t offsets[2] = {0, 1};
                        for (const v1::NodeInfo& n : m.nodes()) {
                          if (n.node_id() == shard.primary_node_id()) {
                            offsets[0] = n.replication_offset();
                          } else if (n.node_id() == shard.replica_node_ids(0)) {
                            offsets[1] = n.replication_offset();
                          }
                        }
                        return offsets[0] > 0 && offsets[0] == offsets[1];
                      },
                      "replica offset reported to the coordinator")
                  .ok());
  std::string output;
  absl::StatusOr<int> code = cluster.Slotctl({"cluster", "status"}, &output);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0) << output;
  EXPECT_NE(output.find("LAG"), std::string::npos) << output;
  EXPECT_NE(output.find("0 (0.0s)"), std::string::npos) << output;
}

}  // namespace
}  // namespace slotcache::testing
