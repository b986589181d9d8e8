// Network partitions with real processes in Linux network namespaces
// (tests/harness/netns.h): a coordinator on the host and one shard of three
// nodes, each node in its own namespace. Cutting the primary's namespace off
// must fence it by its lease (docs/ARCHITECTURE.md §2.3) — it refuses
// writes with CLUSTERDOWN once the lease runs out, because it cannot know
// whether a replica was promoted meanwhile — then a replica is promoted,
// and after healing the old primary rejoins as a replica and never
// acknowledges a write again.
//
// Writes to the cut-off primary come from tests/harness/write_loop running
// inside its namespace, the only place that can still reach it. An
// application on the host writes through the SDK (CoordinatorMapSource,
// min_replica_acks=1) the whole time: every write it got acknowledged must
// be on the promoted primary afterwards, and on the healed old primary once
// it is a replica (nothing the promoted primary accepted is contradicted).
//
// Skipped (with the reason) unless run as root with `ip netns` available.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/sdk/client.h"
#include "client/sdk/coordinator_map_source.h"
#include "common/rpc.h"
#include "common/stop_signal.h"
#include "gtest/gtest.h"
#include "proto/cache.grpc.pb.h"
#include "proto/coordinator.grpc.pb.h"
#include "tests/harness/netns.h"
#include "tests/harness/process.h"

namespace slotcache::testing {
namespace {

// The coordinator's defaults, spelled out because the assertions use them.
constexpr absl::Duration kPrimaryLease = absl::Seconds(1);
const char* const kCoordinatorTimings[] = {
    "--heartbeat_interval=200ms", "--node_timeout=1s", "--primary_lease=1s"};
// Slack for a loaded machine (4 builders on 2 cores) on top of the lease:
// one write attempt (200 ms deadline) plus scheduling delays.
constexpr absl::Duration kRefusalMargin = absl::Seconds(1);

// One line of write_loop's log: an attempt whose outcome differed from the
// previous attempt's.
struct Attempt {
  absl::Time start;
  absl::Time end;
  std::string kind;  // "OK", "CLUSTERDOWN", "RPC_14", ...
  std::string line;
};

std::vector<Attempt> ReadAttempts(const ChildProcess& writer) {
  std::vector<Attempt> attempts;
  for (absl::string_view line : absl::StrSplit(writer.ReadLog(), '\n')) {
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::MaxSplits(' ', 3));
    int64_t start = 0, end = 0;
    if (words.size() < 3 || !absl::SimpleAtoi(words[0], &start) ||
        !absl::SimpleAtoi(words[1], &end)) {
      continue;  // A partial last line.
    }
    attempts.push_back({absl::FromUnixMicros(start), absl::FromUnixMicros(end),
                        std::string(words[2]), std::string(line)});
  }
  return attempts;
}

// The first attempt of `kind` that started at or after `after`.
std::optional<Attempt> FirstAttempt(const ChildProcess& writer,
                                    absl::string_view kind, absl::Time after) {
  for (const Attempt& attempt : ReadAttempts(writer)) {
    if (attempt.kind == kind && attempt.start >= after) return attempt;
  }
  return std::nullopt;
}

// The host's application: SETs "{sdk}.N" = "vN" one after another through
// the SDK with min_replica_acks=1, retrying a key until it is acknowledged,
// and remembers every acknowledged pair.
class SdkAckedWriter {
 public:
  static constexpr absl::Duration kCallTimeout = absl::Milliseconds(1500);

  explicit SdkAckedWriter(std::unique_ptr<Client> client)
      : client_(std::move(client)), thread_([this] { Run(); }) {}
  ~SdkAckedWriter() { Stop(); }

  void Stop() {
    stop_.Stop();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::pair<std::string, std::string>> acked() const {
    absl::MutexLock lock(&mu_);
    return acked_;
  }
  uint64_t errors() const {
    absl::MutexLock lock(&mu_);
    return errors_;
  }
  Client* client() { return client_.get(); }

 private:
  void Run() {
    CallOptions options;
    options.timeout = kCallTimeout;
    options.min_replica_acks = 1;
    options.replica_ack_timeout = absl::Seconds(1);
    for (uint64_t n = 0; !stop_.stopped();) {
      const std::string key = absl::StrCat("{sdk}.", n);
      const std::string value = absl::StrCat("v", n);
      absl::StatusOr<v1::Value> reply =
          client_->Execute(MakeCommand("SET", {key, value}), options);
      absl::MutexLock lock(&mu_);
      if (reply.ok()) {
        acked_.emplace_back(key, value);
        ++n;
      } else {
        ++errors_;
      }
    }
  }

  const std::unique_ptr<Client> client_;
  StopSignal stop_;
  mutable absl::Mutex mu_;
  std::vector<std::pair<std::string, std::string>> acked_ ABSL_GUARDED_BY(mu_);
  uint64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

class PartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::optional<std::string> reason = NetnsLab::UnavailableReason()) {
      GTEST_SKIP() << *reason;
    }
    absl::StatusOr<std::unique_ptr<NetnsLab>> lab =
        NetnsLab::Create("partition", 3);
    ASSERT_TRUE(lab.ok()) << lab.status();
    lab_ = std::move(*lab);
    dir_ = NewTempDir("partition");
    StartCoordinator();
    for (int i = 0; i < lab_->size(); ++i) StartNode(i);
    CreateCluster();
  }

  void TearDown() override {
    sdk_writer_.reset();
    // Processes first: the lab's destructor removes their namespaces.
    writer_.reset();
    nodes_.clear();
    coordinator_.reset();
    lab_.reset();
  }

  void StartCoordinator() {
    const std::string address_file = dir_ + "/coordinator.addr";
    std::vector<std::string> args(std::begin(kCoordinatorTimings),
                                  std::end(kCoordinatorTimings));
    args.push_back(absl::StrCat("--listen=", lab_->host_address(), ":0"));
    args.push_back("--address_file=" + address_file);
    args.push_back("--data_dir=" + dir_ + "/coordinator-data");
    auto process =
        ChildProcess::Start(RunfilePath("coordinator/slotcache-coordinator"),
                            args, dir_ + "/coordinator.log");
    ASSERT_TRUE(process.ok()) << process.status();
    coordinator_ = std::move(*process);
    absl::StatusOr<std::string> address =
        WaitForAddressFile(address_file, *coordinator_, absl::Seconds(30));
    ASSERT_TRUE(address.ok()) << address.status();
    coordinator_address_ = *address;
  }

  // Node i listens on namespace i's address, in AZ az-a/az-b/az-c.
  void StartNode(int i) {
    absl::StatusOr<ServerProcess> node = lab_->StartServer(
        i, RunfilePath("node/slotcache-node"),
        {"--coordinator=" + coordinator_address_,
         absl::StrCat("--az=az-", std::string(1, static_cast<char>('a' + i))),
         absl::StrCat("--data_dir=", dir_, "/node-", i, "-data")});
    ASSERT_TRUE(node.ok()) << node.status();
    nodes_.push_back(std::move(*node));
  }

  // Runs slotctl against the coordinator; its exit code (-1 when it could
  // not run), output in `output`.
  int Slotctl(const std::vector<std::string>& args, std::string* output) {
    static int runs = 0;
    std::vector<std::string> full = {"--coordinator=" + coordinator_address_};
    full.insert(full.end(), args.begin(), args.end());
    auto process =
        ChildProcess::Start(RunfilePath("client/slotctl"), full,
                            absl::StrCat(dir_, "/slotctl-", runs++, ".log"));
    if (!process.ok()) return -1;
    absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(30));
    *output = (*process)->ReadLog();
    return code.ok() ? *code : -1;
  }

  void WaitForClusterCheck(const std::string& when) {
    std::string output;
    absl::Status passed = PollUntil(
        [&] {
          return Slotctl({"cluster", "check"}, &output) == 0;
        },
        absl::Seconds(30), "slotctl cluster check to pass " + when);
    ASSERT_TRUE(passed.ok()) << passed << "; last output:\n" << output;
  }

  // 1 shard x (1 primary + 2 replicas) over the three namespaces.
  void CreateCluster() {
    std::string output;
    absl::Status created = PollUntil(
        [&] {
          return Slotctl({"cluster", "create", "--shards=1", "--replicas=2"},
                         &output) == 0;
        },
        absl::Seconds(30), "3 nodes to register and the cluster to be created");
    ASSERT_TRUE(created.ok()) << created << "; last output:\n" << output;
    WaitForClusterCheck("after creation");
  }

  absl::StatusOr<v1::ClusterMap> Describe() {
    auto stub =
        v1::CoordinatorService::NewStub(MakeChannel(coordinator_address_));
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(5)));
    v1::ClusterMap map;
    grpc::Status status =
        stub->DescribeCluster(&context, v1::DescribeClusterRequest(), &map);
    if (!status.ok()) {
      return absl::UnavailableError("DescribeCluster: " +
                                    status.error_message());
    }
    return map;
  }

  // The coordinator's event log, for failure messages.
  std::string Events() {
    std::string events, status;
    Slotctl({"events"}, &events);
    Slotctl({"cluster", "status"}, &status);
    return "coordinator events:\n" + events + "cluster status:\n" + status;
  }

  // The primary's NodeInfo, or nullopt when the map has none.
  std::optional<v1::NodeInfo> Primary() {
    absl::StatusOr<v1::ClusterMap> map = Describe();
    if (!map.ok() || map->shards_size() != 1) return std::nullopt;
    for (const v1::NodeInfo& node : map->nodes()) {
      if (node.node_id() == map->shards(0).primary_node_id()) return node;
    }
    return std::nullopt;
  }

  // Which namespace holds `node`.
  int NamespaceOf(const v1::NodeInfo& node) {
    for (int i = 0; i < lab_->size(); ++i) {
      if (absl::StartsWith(node.address(), lab_->address(i) + ":")) return i;
    }
    return -1;
  }

  std::unique_ptr<NetnsLab> lab_;
  std::string dir_;
  std::unique_ptr<ChildProcess> coordinator_;
  std::string coordinator_address_;
  std::vector<ServerProcess> nodes_;
  std::unique_ptr<ChildProcess> writer_;
  std::unique_ptr<SdkAckedWriter> sdk_writer_;
};

// How many of `pairs` `address` does not hold with that value (reads with
// allow_replica_read, so a replica answers too).
absl::StatusOr<int> CountMissingOn(
    const std::string& address,
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  auto stub = v1::CacheService::NewStub(MakeChannel(address));
  int missing = 0;
  constexpr size_t kChunk = 500;
  for (size_t i = 0; i < pairs.size(); i += kChunk) {
    v1::BatchRequest request;
    request.mutable_options()->set_allow_replica_read(true);
    const size_t end = std::min(pairs.size(), i + kChunk);
    for (size_t k = i; k < end; ++k) {
      *request.add_commands() = MakeCommand("GET", {pairs[k].first});
    }
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(10)));
    v1::BatchResponse response;
    grpc::Status status = stub->Batch(&context, request, &response);
    if (!status.ok() || response.replies_size() != request.commands_size()) {
      return absl::UnavailableError(absl::StrCat("reading back from ", address,
                                                 ": ", status.error_message()));
    }
    for (size_t k = i; k < end; ++k) {
      const v1::Reply& reply = response.replies(static_cast<int>(k - i));
      if (reply.has_error() || reply.value().bulk() != pairs[k].second) {
        ++missing;
      }
    }
  }
  return missing;
}

TEST_F(PartitionTest,
       CutOffPrimaryIsFencedByItsLeaseReplacedAndRejoinsAsReplica) {
  std::optional<v1::NodeInfo> primary = Primary();
  ASSERT_TRUE(primary.has_value()) << "the map has no primary";
  const int ns = NamespaceOf(*primary);
  ASSERT_GE(ns, 0) << "primary " << primary->address()
                   << " is in none of the lab's namespaces";

  // Writes straight to the primary from inside its namespace.
  auto writer = lab_->Start(ns, RunfilePath("tests/write_loop"),
                            {primary->address(), "partition:key", "50"},
                            dir_ + "/write_loop.log");
  ASSERT_TRUE(writer.ok()) << writer.status();
  writer_ = std::move(*writer);
  std::optional<Attempt> acked;
  ASSERT_TRUE(PollUntil(
                  [&] {
                    acked = FirstAttempt(*writer_, "OK", absl::InfinitePast());
                    return acked.has_value();
                  },
                  absl::Seconds(20), "the primary to ack a write")
                  .ok())
      << writer_->ReadLog();

  // Both replicas hold the primary's history (a completed full sync, and
  // the acked write applied), so one is eligible for promotion.
  ASSERT_TRUE(PollUntil(
                  [&] {
                    absl::StatusOr<v1::ClusterMap> map = Describe();
                    if (!map.ok()) return false;
                    uint64_t primary_offset = 0;
                    std::vector<uint64_t> replica_offsets;
                    for (const v1::NodeInfo& node : map->nodes()) {
                      if (node.node_id() == primary->node_id()) {
                        primary_offset = node.replication_offset();
                      } else {
                        replica_offsets.push_back(node.replication_offset());
                      }
                    }
                    if (primary_offset == 0 || replica_offsets.size() != 2) {
                      return false;
                    }
                    for (uint64_t offset : replica_offsets) {
                      if (offset < primary_offset) return false;
                    }
                    return true;
                  },
                  absl::Seconds(20), "both replicas to catch up")
                  .ok())
      << Events();

  // The host's SDK application, writing before, during and after the cut.
  ClientOptions client_options;
  client_options.map_source =
      std::make_shared<CoordinatorMapSource>(coordinator_address_);
  client_options.default_timeout = SdkAckedWriter::kCallTimeout;
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(client_options);
  ASSERT_TRUE(client.ok()) << client.status();
  sdk_writer_ = std::make_unique<SdkAckedWriter>(*std::move(client));
  ASSERT_TRUE(PollUntil([&] { return sdk_writer_->acked().size() >= 50; },
                        absl::Seconds(20), "50 SDK writes acked by a replica")
                  .ok())
      << sdk_writer_->errors() << " SDK errors";

  ASSERT_TRUE(lab_->Cut(ns).ok());
  // Taken after the cut is in place, so the lease (counted from a heartbeat
  // sent before it) surely ends by cut_at + kPrimaryLease.
  const absl::Time cut_at = absl::Now();
  std::optional<Attempt> refused;
  absl::Status fenced = PollUntil(
      [&] {
        refused = FirstAttempt(*writer_, "CLUSTERDOWN", acked->start);
        return refused.has_value();
      },
      kPrimaryLease + absl::Seconds(10), "the cut-off primary to refuse");
  ASSERT_TRUE(fenced.ok()) << fenced << "; write_loop says:\n"
                           << writer_->ReadLog();
  const absl::Duration to_refusal = refused->end - cut_at;
  std::cout << "[ figures  ] cut -> first CLUSTERDOWN: "
            << absl::FormatDuration(to_refusal) << " (lease "
            << absl::FormatDuration(kPrimaryLease) << ")\n";
  EXPECT_LE(to_refusal, kPrimaryLease + kRefusalMargin) << refused->line;
  EXPECT_GT(refused->end, cut_at - absl::Milliseconds(1))
      << "the primary refused writes before it was cut off: " << refused->line;

  // The coordinator sees the partition too (docs/FAILOVER.md): it marks
  // the primary FAILED and promotes a replica while the old primary is
  // still cut off.
  std::optional<v1::NodeInfo> promoted;
  ASSERT_TRUE(PollUntil(
                  [&] {
                    promoted = Primary();
                    return promoted.has_value() &&
                           promoted->node_id() != primary->node_id() &&
                           promoted->health() == v1::HEALTHY;
                  },
                  absl::Seconds(20), "a replica to be promoted")
                  .ok())
      << Events();
  const absl::Time promoted_at = absl::Now();
  std::cout << "[ figures  ] cut -> replica promoted (seen): "
            << absl::FormatDuration(promoted_at - cut_at) << "\n";
  // The SDK's writes resume on the promoted primary.
  const size_t acked_at_promotion = sdk_writer_->acked().size();
  ASSERT_TRUE(PollUntil(
                  [&] {
                    return sdk_writer_->acked().size() >=
                           acked_at_promotion + 50;
                  },
                  absl::Seconds(30), "SDK writes acked on the new primary")
                  .ok())
      << sdk_writer_->errors() << " SDK errors";

  ASSERT_TRUE(lab_->Heal(ns).ok());
  // The old primary comes back as a replica of the promoted one.
  ASSERT_TRUE(PollUntil(
                  [&] {
                    absl::StatusOr<v1::ClusterMap> map = Describe();
                    if (!map.ok()) return false;
                    for (const v1::NodeInfo& node : map->nodes()) {
                      if (node.node_id() == primary->node_id()) {
                        return node.role() == v1::REPLICA &&
                               node.health() == v1::HEALTHY;
                      }
                    }
                    return false;
                  },
                  absl::Seconds(30),
                  "the healed old primary to rejoin as a replica")
                  .ok());
  WaitForClusterCheck("after healing");
  sdk_writer_->Stop();
  // 0 lost: every write the SDK got acknowledged with a replica ack is on
  // the promoted primary, and the healed old primary, now its replica,
  // holds the same values (it resynced from the promoted one; nothing it
  // had contradicts what the promoted primary accepted).
  const std::vector<std::pair<std::string, std::string>> sdk_acked =
      sdk_writer_->acked();
  std::optional<v1::NodeInfo> now_primary = Primary();
  ASSERT_TRUE(now_primary.has_value());
  EXPECT_EQ(now_primary->node_id(), promoted->node_id());
  absl::StatusOr<int> lost = CountMissingOn(now_primary->address(), sdk_acked);
  ASSERT_TRUE(lost.ok()) << lost.status();
  std::cout << "[ figures  ] SDK (host, min_replica_acks=1): "
            << sdk_acked.size() << " writes acked, " << *lost << " lost, "
            << sdk_writer_->errors() << " failed calls, "
            << sdk_writer_->client()->stats().watched_maps
            << " maps from the watch\n";
  EXPECT_EQ(*lost, 0);
  absl::StatusOr<v1::ClusterMap> healed_map = Describe();
  ASSERT_TRUE(healed_map.ok());
  std::string old_address;
  for (const v1::NodeInfo& node : healed_map->nodes()) {
    if (node.node_id() == primary->node_id()) old_address = node.address();
  }
  absl::Status converged = PollUntil(
      [&] {
        absl::StatusOr<int> differ = CountMissingOn(old_address, sdk_acked);
        return differ.ok() && *differ == 0;
      },
      absl::Seconds(30), "the healed old primary to hold every acked write");
  EXPECT_TRUE(converged.ok()) << converged;
  // Fencing is strict: from its first refusal on, the old primary never
  // acknowledged a write again: not while cut off, not after the heal
  // (then it is a replica and refuses them).
  for (const Attempt& attempt : ReadAttempts(*writer_)) {
    EXPECT_FALSE(attempt.kind == "OK" && attempt.start > refused->start)
        << "the old primary acked a write after refusing: " << attempt.line;
  }
}

}  // namespace
}  // namespace slotcache::testing
