// Online slot migration between two real slotcache-node processes, driven
// as the coordinator would (docs/RESHARDING.md): B imports slots from A
// while writes go on, A pauses the slots' writes, B catches up to the
// pause offset, the new map moves the slots to B, A drops them.
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "common/slot.h"
#include "common/status.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"
#include "tests/node_test_client.h"

namespace slotcache {
namespace {

using testing::Cmd;
using testing::NodeUnderTest;
using testing::Path;
using testing::PollUntil;
using testing::ReplyText;

// The slots that move, and a slot that stays.
constexpr uint32_t kFirstMoving = 0;
constexpr uint32_t kLastMoving = 199;

bool Moving(const std::string& key) {
  const uint32_t slot = KeySlot(key);
  return slot >= kFirstMoving && slot <= kLastMoving;
}

// `n` keys "<prefix><i>" whose slot is (or with `moving` false: is not)
// one of the moving slots.
std::vector<std::string> Keys(const std::string& prefix, int n, bool moving) {
  std::vector<std::string> keys;
  for (int i = 0; static_cast<int>(keys.size()) < n; ++i) {
    std::string key = absl::StrCat(prefix, i);
    if (Moving(key) == moving) keys.push_back(std::move(key));
  }
  return keys;
}

std::unique_ptr<NodeUnderTest> StartNode(const std::string& node_id,
                                         std::vector<std::string> extra = {}) {
  extra.push_back("--node_id=" + node_id);
  extra.push_back("--az=az-a");
  absl::StatusOr<std::unique_ptr<NodeUnderTest>> node =
      NodeUnderTest::Start(extra);
  EXPECT_TRUE(node.ok()) << node.status();
  return node.ok() ? *std::move(node) : nullptr;
}

// Shards sa (primary na) and sb (primary nb, replica `nb_replica` if not
// empty); `moved` says whether the moving slots are sb's yet.
v1::ClusterMap Map(uint64_t version, bool moved, const std::string& a,
                   const std::string& b, const std::string& b_replica = "") {
  v1::ClusterMap map;
  map.set_cluster_id("migration-test");
  map.set_version(version);
  auto add_node = [&](const std::string& id, const std::string& address) {
    v1::NodeInfo* node = map.add_nodes();
    node->set_node_id(id);
    node->set_address(address);
  };
  add_node("na", a);
  add_node("nb", b);
  if (!b_replica.empty()) add_node("nbr", b_replica);
  v1::ShardInfo* sa = map.add_shards();
  sa->set_shard_id("sa");
  sa->set_primary_node_id("na");
  sa->set_config_epoch(moved ? 3 : 1);
  v1::SlotRange* rest = sa->add_slots();
  rest->set_start(moved ? kLastMoving + 1 : 0);
  rest->set_end(kNumSlots - 1);
  v1::ShardInfo* sb = map.add_shards();
  sb->set_shard_id("sb");
  sb->set_primary_node_id("nb");
  if (!b_replica.empty()) sb->add_replica_node_ids("nbr");
  sb->set_config_epoch(moved ? 4 : 2);
  if (moved) {
    v1::SlotRange* range = sb->add_slots();
    range->set_start(kFirstMoving);
    range->set_end(kLastMoving);
  }
  return map;
}

grpc::ClientContext* Context(grpc::ClientContext* context) {
  context->set_deadline(DeadlineIn(absl::Seconds(30)));
  return context;
}

void Apply(NodeUnderTest* node, const v1::ClusterMap& map) {
  grpc::ClientContext context;
  v1::ApplyClusterMapResponse response;
  grpc::Status status =
      node->admin()->ApplyClusterMap(Context(&context), map, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.cluster_map_version(), map.version());
}

void AddMovingSlots(google::protobuf::RepeatedPtrField<v1::SlotRange>* out) {
  v1::SlotRange* range = out->Add();
  range->set_start(kFirstMoving);
  range->set_end(kLastMoving);
}

grpc::Status StartImport(NodeUnderTest* b, const std::string& source) {
  v1::StartImportRequest request;
  request.set_migration_id("op-1");
  request.set_source_address(source);
  AddMovingSlots(request.mutable_slots());
  grpc::ClientContext context;
  v1::StartImportResponse response;
  return b->admin()->StartImport(Context(&context), request, &response);
}

v1::ImportStatus ImportStatus(NodeUnderTest* b) {
  v1::ImportStatusRequest request;
  request.set_migration_id("op-1");
  grpc::ClientContext context;
  v1::ImportStatus status;
  grpc::Status rpc =
      b->admin()->GetImportStatus(Context(&context), request, &status);
  EXPECT_TRUE(rpc.ok()) << rpc.error_message();
  return status;
}

// Keys per slot in the moving range.
uint64_t MovingKeys(NodeUnderTest* node) {
  grpc::ClientContext context;
  v1::SlotStatsResponse stats;
  grpc::Status rpc = node->admin()->GetSlotStats(
      Context(&context), v1::SlotStatsRequest(), &stats);
  EXPECT_TRUE(rpc.ok()) << rpc.error_message();
  uint64_t keys = 0;
  for (const auto& slot : stats.slots()) {
    if (slot.slot() <= kLastMoving) keys += slot.keys();
  }
  return keys;
}

v1::NodeStatus Status(NodeUnderTest* node) {
  grpc::ClientContext context;
  v1::NodeStatus status;
  EXPECT_TRUE(node->admin()
                  ->GetNodeStatus(Context(&context), v1::GetNodeStatusRequest(),
                                  &status)
                  .ok());
  return status;
}

// A key's state as both nodes can be compared on: type, value (hash as a
// sorted map) and whether it has a TTL with the TTL itself.
struct KeyState {
  std::string type;
  std::string value;
  std::map<std::string, std::string> fields;
  int64_t pttl = 0;
};

KeyState Read(NodeUnderTest* node, const std::string& key,
              const v1::RequestOptions& options = {}) {
  KeyState state;
  state.type =
      node->Run1(Path::kExecute, Cmd({"TYPE", key}), options).value().status();
  if (state.type == "string") {
    state.value =
        node->Run1(Path::kExecute, Cmd({"GET", key}), options).value().bulk();
  } else if (state.type == "hash") {
    v1::Reply all = node->Run1(Path::kExecute, Cmd({"HGETALL", key}), options);
    const auto& values = all.value().array().values();
    for (int i = 0; i + 1 < values.size(); i += 2) {
      state.fields[values[i].bulk()] = values[i + 1].bulk();
    }
  }
  state.pttl =
      node->Run1(Path::kExecute, Cmd({"PTTL", key}), options).value().integer();
  return state;
}

void ExpectSameKey(const KeyState& a, const KeyState& b,
                   const std::string& key) {
  SCOPED_TRACE(key);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.value.size(), b.value.size());
  EXPECT_TRUE(a.value == b.value);
  EXPECT_TRUE(a.fields == b.fields)
      << a.fields.size() << " vs " << b.fields.size() << " fields";
  if (a.pttl < 0 || b.pttl < 0) {
    EXPECT_EQ(a.pttl, b.pttl);
  } else {
    // Read a moment apart; the absolute expiry is the same.
    EXPECT_NEAR(static_cast<double>(a.pttl), static_cast<double>(b.pttl), 5000);
  }
}

// Writes the initial data set; returns the moving keys it wrote.
std::vector<std::string> WriteData(NodeUnderTest* a) {
  std::vector<std::string> keys = Keys("k", 2000, true);
  std::vector<v1::Command> commands;
  for (size_t i = 0; i < keys.size(); ++i) {
    commands.push_back(
        i % 2 == 0
            ? Cmd({"SET", keys[i], absl::StrCat("value-", i)})
            : Cmd({"SET", keys[i], absl::StrCat("value-", i), "PX", "600000"}));
  }
  for (const std::string& key : Keys("stay", 200, false)) {
    commands.push_back(Cmd({"SET", key, "stays on A"}));
  }
  auto replies = a->Run(Path::kBatch, commands);
  EXPECT_TRUE(replies.ok()) << replies.status();

  const std::string big_hash = Keys("bighash", 1, true)[0];
  for (int batch = 0; batch < 20; ++batch) {
    v1::Command hset = Cmd({"HSET", big_hash});
    for (int i = 0; i < 1000; ++i) {
      hset.add_args(absl::StrCat("field-", batch * 1000 + i));
      hset.add_args(absl::StrCat("v", i, std::string(20, 'h')));
    }
    EXPECT_FALSE(a->Run1(Path::kExecute, hset).has_error());
  }
  keys.push_back(big_hash);
  const std::string big_string = Keys("bigstring", 1, true)[0];
  std::string value(5 << 20, 'x');
  for (size_t i = 0; i < value.size(); i += 4096) value[i] = 'a' + i % 26;
  EXPECT_FALSE(
      a->Run1(Path::kExecute, Cmd({"SET", big_string, value, "PX", "900000"}))
          .has_error());
  keys.push_back(big_string);
  return keys;
}

// Writes to the moving slots until `stop`: overwrites, new keys, deletes
// and hash changes; records every key it touched.
struct Writer {
  std::atomic<bool> stop{false};
  std::atomic<int> accepted{0};
  std::set<std::string> touched;
  std::thread thread;

  void Start(NodeUnderTest* a, const std::vector<std::string>& existing) {
    thread = std::thread([this, a, existing] {
      std::vector<std::string> fresh = Keys("w", 5000, true);
      for (int i = 0; !stop && i < 100000; ++i) {
        std::vector<v1::Command> commands;
        const std::string& old = existing[i % (existing.size() - 2)];
        const std::string& key = fresh[i % fresh.size()];
        commands.push_back(Cmd({"SET", key, absl::StrCat("w", i)}));
        commands.push_back(i % 3 == 0 ? Cmd({"DEL", old})
                                      : Cmd({"SET", old, absl::StrCat("o", i),
                                             "PX", "700000"}));
        commands.push_back(
            Cmd({"HSET", existing[existing.size() - 2],
                 absl::StrCat("field-", i % 50), absl::StrCat("new", i)}));
        auto replies = a->Run(Path::kBatch, commands);
        if (!replies.ok()) continue;
        for (const v1::Reply& reply : *replies) {
          if (!reply.has_error()) ++accepted;
        }
        touched.insert(key);
        touched.insert(old);
      }
    });
  }
  void Join() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

TEST(MigrationNodeTest, MovesSlotsWhileWritesGoOnAndCutsOverWithoutLoss) {
  auto a = StartNode("na");
  auto b = StartNode("nb");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Apply(a.get(), Map(1, false, a->address(), b->address()));
  Apply(b.get(), Map(1, false, a->address(), b->address()));
  std::vector<std::string> keys = WriteData(a.get());

  Writer writer;
  writer.Start(a.get(), keys);
  ASSERT_TRUE(PollUntil([&] { return writer.accepted > 300; },
                        absl::Seconds(30), "writes before the import")
                  .ok());
  grpc::Status started = StartImport(b.get(), a->address());
  ASSERT_TRUE(started.ok()) << started.error_message();
  ASSERT_TRUE(PollUntil(
                  [&] {
                    return ImportStatus(b.get()).state() ==
                           v1::ImportStatus::STREAMING;
                  },
                  absl::Seconds(60), "the snapshot to be applied")
                  .ok())
      << ImportStatus(b.get()).ShortDebugString();
  const int accepted_at_snapshot_end = writer.accepted;
  ASSERT_TRUE(
      PollUntil(
          [&] { return writer.accepted > accepted_at_snapshot_end + 300; },
          absl::Seconds(30), "writes streamed after the snapshot")
          .ok());

  // Cut-over.
  v1::PauseSlotWritesRequest pause;
  pause.set_migration_id("op-1");
  AddMovingSlots(pause.mutable_slots());
  pause.set_duration_ms(30000);
  v1::PauseSlotWritesResponse paused;
  {
    grpc::ClientContext context;
    grpc::Status rpc =
        a->admin()->PauseSlotWrites(Context(&context), pause, &paused);
    ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  }
  writer.Join();
  EXPECT_EQ(
      a->Run1(Path::kExecute, Cmd({"SET", keys[0], "late"})).error().code(),
      v1::TRYAGAIN);
  const std::string stays = Keys("stay", 1, false)[0];
  EXPECT_FALSE(a->Run1(Path::kExecute, Cmd({"SET", stays, "still writable"}))
                   .has_error());
  EXPECT_FALSE(a->Run1(Path::kExecute, Cmd({"GET", keys[0]})).has_error())
      << "reads are never paused";

  ASSERT_TRUE(PollUntil(
                  [&] {
                    return ImportStatus(b.get()).applied_source_offset() >=
                           paused.offset();
                  },
                  absl::Seconds(30), "B to apply through the pause offset")
                  .ok());
  v1::ImportStatus finished;
  {
    v1::FinishImportRequest request;
    request.set_migration_id("op-1");
    grpc::ClientContext context;
    grpc::Status rpc =
        b->admin()->FinishImport(Context(&context), request, &finished);
    ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  }
  EXPECT_EQ(finished.state(), v1::ImportStatus::FINISHED)
      << finished.ShortDebugString();
  EXPECT_EQ(finished.source_replication_id(), paused.replication_id());
  EXPECT_GT(finished.writes_applied(), 0u);
  EXPECT_TRUE(finished.replicas_caught_up()) << "B has no replicas";

  // Commit: B first, then A.
  Apply(b.get(), Map(2, true, a->address(), b->address()));
  EXPECT_EQ(MovingKeys(a.get()), MovingKeys(b.get()));
  std::set<std::string> all(keys.begin(), keys.end());
  all.insert(writer.touched.begin(), writer.touched.end());
  for (const std::string& key : all) {
    ExpectSameKey(Read(a.get(), key), Read(b.get(), key), key);
    if (::testing::Test::HasFailure()) break;
  }
  Apply(a.get(), Map(2, true, a->address(), b->address()));
  {
    v1::ResumeSlotWritesRequest request;
    request.set_migration_id("op-1");
    grpc::ClientContext context;
    v1::ResumeSlotWritesResponse response;
    ASSERT_TRUE(a->admin()
                    ->ResumeSlotWrites(Context(&context), request, &response)
                    .ok());
  }
  v1::Reply moved = a->Run1(Path::kExecute, Cmd({"SET", keys[0], "x"}));
  EXPECT_EQ(moved.error().code(), v1::MOVED) << ReplyText(moved);
  EXPECT_EQ(moved.error().redirect().address(), b->address());
  ASSERT_TRUE(PollUntil([&] { return MovingKeys(a.get()) == 0; },
                        absl::Seconds(30), "A to drop the moved slots")
                  .ok());
  EXPECT_EQ(Read(a.get(), stays).value, "still writable");
  EXPECT_FALSE(
      b->Run1(Path::kExecute, Cmd({"SET", keys[0], "on B"})).has_error());
  EXPECT_EQ(b->Run1(Path::kExecute, Cmd({"GET", keys[0]})).value().bulk(),
            "on B");
}

TEST(MigrationNodeTest, AbortImportDropsWhatWasImported) {
  auto a = StartNode("na");
  auto b = StartNode("nb");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Apply(a.get(), Map(1, false, a->address(), b->address()));
  Apply(b.get(), Map(1, false, a->address(), b->address()));
  std::vector<v1::Command> commands;
  for (const std::string& key : Keys("k", 500, true)) {
    commands.push_back(Cmd({"SET", key, "v"}));
  }
  ASSERT_TRUE(a->Run(Path::kBatch, commands).ok());
  ASSERT_TRUE(StartImport(b.get(), a->address()).ok());
  ASSERT_TRUE(PollUntil([&] { return MovingKeys(b.get()) == 500; },
                        absl::Seconds(30), "the import to copy the keys")
                  .ok());
  // A second import of the same slots is refused while this one runs.
  EXPECT_EQ(StartImport(b.get(), a->address()).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::AbortImportRequest abort;
  abort.set_migration_id("op-1");
  AddMovingSlots(abort.mutable_slots());
  v1::AbortImportResponse aborted;
  {
    grpc::ClientContext context;
    grpc::Status rpc =
        b->admin()->AbortImport(Context(&context), abort, &aborted);
    ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  }
  EXPECT_EQ(aborted.keys_dropped(), 500u);
  EXPECT_EQ(MovingKeys(b.get()), 0u);
  EXPECT_EQ(MovingKeys(a.get()), 500u) << "the source keeps everything";
  {
    grpc::ClientContext context;
    grpc::Status rpc =
        a->admin()->AbortImport(Context(&context), abort, &aborted);
    EXPECT_EQ(rpc.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << "A owns the slots";
  }
  // Idempotent.
  grpc::ClientContext context;
  ASSERT_TRUE(b->admin()->AbortImport(Context(&context), abort, &aborted).ok());
  EXPECT_EQ(aborted.keys_dropped(), 0u);
}

TEST(MigrationNodeTest, ImportedKeysReachTheTargetsReplicaByReplication) {
  auto a = StartNode("na");
  auto b = StartNode("nb");
  auto replica = StartNode("nbr");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(replica, nullptr);
  const v1::ClusterMap map =
      Map(1, false, a->address(), b->address(), replica->address());
  Apply(a.get(), map);
  Apply(b.get(), map);
  Apply(replica.get(), map);
  ASSERT_TRUE(PollUntil([&] { return Status(replica.get()).full_syncs() == 1; },
                        absl::Seconds(30), "the replica's first full sync")
                  .ok());
  std::vector<v1::Command> commands;
  for (const std::string& key : Keys("k", 1000, true)) {
    commands.push_back(Cmd({"SET", key, "v"}));
  }
  ASSERT_TRUE(a->Run(Path::kBatch, commands).ok());
  ASSERT_TRUE(StartImport(b.get(), a->address()).ok());
  ASSERT_TRUE(PollUntil([&] { return MovingKeys(replica.get()) == 1000; },
                        absl::Seconds(30), "the replica to get the keys")
                  .ok());
  ASSERT_TRUE(
      PollUntil([&] { return ImportStatus(b.get()).replicas_caught_up(); },
                absl::Seconds(30), "B's replica to ack the import")
          .ok());
  EXPECT_EQ(Status(replica.get()).full_syncs(), 1u) << "no second full sync";
}

}  // namespace
}  // namespace slotcache
