// Online slot migration between two real slotcache-node processes, driven
// as the coordinator would (docs/RESHARDING.md): B imports slots from A
// while writes go on, A pauses the slots' writes, B catches up to the
// pause offset, the new map moves the slots to B, A drops them.
#include <signal.h>

#include <algorithm>
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

// The states of `keys` on `node`, read in batches (TYPE, GET, HGETALL and
// PTTL per key; GET of a hash and HGETALL of a string just fail).
std::vector<KeyState> Read(NodeUnderTest* node,
                           const std::vector<std::string>& keys) {
  constexpr size_t kKeysPerBatch = 1000;
  std::vector<KeyState> states;
  for (size_t first = 0; first < keys.size(); first += kKeysPerBatch) {
    const size_t n = std::min(kKeysPerBatch, keys.size() - first);
    std::vector<v1::Command> commands;
    for (size_t i = first; i < first + n; ++i) {
      for (const char* name : {"TYPE", "GET", "HGETALL", "PTTL"}) {
        commands.push_back(Cmd({name, keys[i]}));
      }
    }
    absl::StatusOr<std::vector<v1::Reply>> replies =
        node->Run(Path::kBatch, commands);
    EXPECT_TRUE(replies.ok()) << replies.status();
    if (!replies.ok() || replies->size() != commands.size()) return states;
    for (size_t i = 0; i < n; ++i) {
      const v1::Reply* r = &(*replies)[4 * i];
      KeyState& state = states.emplace_back();
      state.type = r[0].value().status();
      if (state.type == "string") state.value = r[1].value().bulk();
      if (state.type == "hash") {
        const auto& values = r[2].value().array().values();
        for (int j = 0; j + 1 < values.size(); j += 2) {
          state.fields[values[j].bulk()] = values[j + 1].bulk();
        }
      }
      state.pttl = r[3].value().integer();
    }
  }
  return states;
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
  const std::string small_hash = Keys("smallhash", 1, true)[0];
  EXPECT_FALSE(
      a->Run1(Path::kExecute, Cmd({"HSET", small_hash, "f", "v"})).has_error());
  // The writer changes existing[size - 3], the small hash.
  keys.insert(keys.end() - 1, small_hash);
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
        const std::string& old = existing[i % (existing.size() - 3)];
        const std::string& key = fresh[i % fresh.size()];
        commands.push_back(Cmd({"SET", key, absl::StrCat("w", i)}));
        commands.push_back(i % 3 == 0 ? Cmd({"DEL", old})
                                      : Cmd({"SET", old, absl::StrCat("o", i),
                                             "PX", "700000"}));
        // A small hash: every HSET logs the whole hash, so the big one
        // would flood the backlog.
        commands.push_back(
            Cmd({"HSET", existing[existing.size() - 3],
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
                  .ok())
      << ImportStatus(b.get()).ShortDebugString() << " pause offset "
      << paused.offset();
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
  std::set<std::string> touched(keys.begin(), keys.end());
  touched.insert(writer.touched.begin(), writer.touched.end());
  const std::vector<std::string> all(touched.begin(), touched.end());
  const std::vector<KeyState> on_a = Read(a.get(), all);
  const std::vector<KeyState> on_b = Read(b.get(), all);
  ASSERT_EQ(on_a.size(), all.size());
  ASSERT_EQ(on_b.size(), all.size());
  int missing = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (on_a[i].type == "none") ++missing;
    ExpectSameKey(on_a[i], on_b[i], all[i]);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(missing, 0) << "the writer's deletes are part of the check";
  EXPECT_LT(missing, static_cast<int>(all.size()) / 2);
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
  EXPECT_EQ(a->Run1(Path::kExecute, Cmd({"GET", stays})).value().bulk(),
            "still writable");
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
    v1::SlotStatsResponse stats;
    ASSERT_TRUE(
        a->admin()
            ->GetSlotStats(Context(&context), v1::SlotStatsRequest(), &stats)
            .ok());
    EXPECT_GT(stats.bytes_per_key(), 0u);
    for (const auto& slot : stats.slots()) EXPECT_GT(slot.keys(), 0u);
  }
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

TEST(MigrationNodeTest, ImportFailsWhenTheSourceDoesNotOwnTheSlots) {
  auto a = StartNode("na");
  auto b = StartNode("nb");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Apply(a.get(), Map(1, false, a->address(), b->address()));
  Apply(b.get(), Map(1, false, a->address(), b->address()));
  // B "imports" from itself: PullSlots refuses, B owns nothing there.
  ASSERT_TRUE(StartImport(b.get(), b->address()).ok());
  ASSERT_TRUE(PollUntil(
                  [&] {
                    return ImportStatus(b.get()).state() ==
                           v1::ImportStatus::FAILED;
                  },
                  absl::Seconds(30), "the import to fail")
                  .ok());
  EXPECT_NE(ImportStatus(b.get()).error().find("not the primary owning"),
            std::string::npos)
      << ImportStatus(b.get()).ShortDebugString();
  // A owns the slots, so it cannot import them.
  EXPECT_EQ(StartImport(a.get(), b->address()).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST(MigrationNodeTest, SourceShutdownEndsTheStreamAndFailsTheImport) {
  auto a = StartNode("na");
  auto b = StartNode("nb");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Apply(a.get(), Map(1, false, a->address(), b->address()));
  Apply(b.get(), Map(1, false, a->address(), b->address()));
  ASSERT_TRUE(StartImport(b.get(), a->address()).ok());
  ASSERT_TRUE(PollUntil(
                  [&] {
                    return ImportStatus(b.get()).state() ==
                           v1::ImportStatus::STREAMING;
                  },
                  absl::Seconds(30), "the import to stream")
                  .ok());
  ASSERT_TRUE(a->process()->Signal(SIGTERM).ok());
  // The stream ends on its own when the node stops (not only when the
  // server's shutdown grace runs out and cancels it): B hears why.
  absl::StatusOr<int> exit = a->process()->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.ok()) << exit.status() << "\n" << a->process()->ReadLog();
  EXPECT_EQ(*exit, 0);
  ASSERT_TRUE(PollUntil(
                  [&] {
                    return ImportStatus(b.get()).state() ==
                           v1::ImportStatus::FAILED;
                  },
                  absl::Seconds(30), "the import to fail")
                  .ok());
  EXPECT_NE(ImportStatus(b.get()).error().find("shutting down"),
            std::string::npos)
      << ImportStatus(b.get()).ShortDebugString();
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
