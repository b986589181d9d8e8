#include "tests/cluster_harness.h"

#include <signal.h>
#include <sys/stat.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/rpc.h"
#include "proto/admin.grpc.pb.h"
#include "proto/coordinator.grpc.pb.h"

namespace slotcache::testing {
namespace {

const char* const kCoordinatorFlags[] = {
    "--heartbeat_interval=50ms", "--node_timeout=500ms", "--startup_grace=1s",
    "--primary_lease=500ms"};

// Starts `binary` with `args` plus --address_file, waits for the address.
absl::StatusOr<std::string> StartAndWait(const std::string& binary,
                                         std::vector<std::string> args,
                                         const std::string& dir,
                                         const std::string& name,
                                         std::unique_ptr<ChildProcess>* out) {
  const std::string address_file = absl::StrCat(dir, "/", name, ".addr");
  std::remove(address_file.c_str());
  args.push_back(absl::StrCat("--address_file=", address_file));
  auto process =
      ChildProcess::Start(binary, args, absl::StrCat(dir, "/", name, ".log"));
  if (!process.ok()) return process.status();
  std::string address;
  absl::Status ready = PollUntil(
      [&] {
        std::ifstream in(address_file);
        return static_cast<bool>(std::getline(in, address)) && !address.empty();
      },
      absl::Seconds(30), absl::StrCat(name, " to announce its address"));
  if (!ready.ok()) {
    return absl::DeadlineExceededError(absl::StrCat(
        ready.message(), "; its log says:\n", (*process)->ReadLog()));
  }
  *out = std::move(*process);
  return address;
}

}  // namespace

TestCluster::TestCluster() : dir_(NewTempDir("cluster")) {}

TestCluster::~TestCluster() = default;

absl::Status TestCluster::StartCoordinator() {
  std::vector<std::string> args(std::begin(kCoordinatorFlags),
                                std::end(kCoordinatorFlags));
  args.push_back(absl::StrCat("--data_dir=", dir_, "/coordinator-data"));
  args.push_back(absl::StrCat(
      "--listen=", coordinator_.empty() ? "127.0.0.1:0" : coordinator_));
  args.insert(args.end(), extra_coordinator_flags_.begin(),
              extra_coordinator_flags_.end());
  absl::StatusOr<std::string> address =
      StartAndWait(RunfilePath("coordinator/slotcache-coordinator"), args, dir_,
                   "coordinator", &coordinator_process_);
  if (!address.ok()) return address.status();
  coordinator_ = *address;
  return absl::OkStatus();
}

absl::Status TestCluster::StopCoordinator() {
  if (coordinator_process_ == nullptr) return absl::OkStatus();
  if (absl::Status s = coordinator_process_->Signal(SIGTERM); !s.ok()) return s;
  absl::StatusOr<int> code = coordinator_process_->Wait(absl::Seconds(20));
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(absl::StrCat("coordinator exited with ", *code,
                                            ":\n",
                                            coordinator_process_->ReadLog()));
  }
  coordinator_process_.reset();
  return absl::OkStatus();
}

void TestCluster::KillCoordinator() {
  if (coordinator_process_ == nullptr) return;
  coordinator_process_->Kill();
  coordinator_process_.reset();
}

absl::Status TestCluster::StartNodes(int n) {
  for (int i = 0; i < n; ++i) {
    nodes_.emplace_back();
    if (absl::Status s = StartNode(node_count() - 1); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status TestCluster::StartNode(int i) {
  const std::string resp_file = absl::StrCat(dir_, "/node-", i, ".resp");
  std::remove(resp_file.c_str());
  std::vector<std::string> args = {
      "--listen=127.0.0.1:0",
      "--resp_listen=127.0.0.1:0",
      absl::StrCat("--resp_address_file=", resp_file),
      absl::StrCat("--coordinator=", coordinator_),
      absl::StrCat("--az=az-", std::string(1, static_cast<char>('a' + i % 3))),
      absl::StrCat("--data_dir=", dir_, "/node-", i, "-data"),
  };
  args.insert(args.end(), extra_node_flags_.begin(), extra_node_flags_.end());
  nodes_[i].process.reset();
  absl::StatusOr<std::string> address =
      StartAndWait(RunfilePath("node/slotcache-node"), args, dir_,
                   absl::StrCat("node-", i), &nodes_[i].process);
  if (!address.ok()) return address.status();
  nodes_[i].address = *address;
  // Written before the gRPC address file, so it is there now.
  resp_addresses_.resize(nodes_.size());
  std::ifstream resp(resp_file);
  std::getline(resp, resp_addresses_[i]);
  return absl::OkStatus();
}

void TestCluster::KillNode(int i) { nodes_[i].process->Kill(); }

absl::Status TestCluster::PauseNode(int i) {
  return nodes_[i].process->Signal(SIGSTOP);
}

absl::Status TestCluster::ResumeNode(int i) {
  return nodes_[i].process->Signal(SIGCONT);
}

int TestCluster::NodeIndex(const v1::ClusterMap& map,
                           const std::string& node_id) const {
  for (const v1::NodeInfo& node : map.nodes()) {
    if (node.node_id() != node_id) continue;
    for (int i = 0; i < node_count(); ++i) {
      if (nodes_[i].address == node.address()) return i;
    }
  }
  return -1;
}

absl::StatusOr<v1::ClusterMap> TestCluster::Describe() const {
  auto stub = v1::CoordinatorService::NewStub(MakeChannel(coordinator_));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(5)));
  v1::ClusterMap map;
  grpc::Status status =
      stub->DescribeCluster(&context, v1::DescribeClusterRequest(), &map);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("DescribeCluster: ", status.error_message()));
  }
  return map;
}

absl::Status TestCluster::WaitForMap(
    const std::function<bool(const v1::ClusterMap&)>& condition,
    const std::string& what, absl::Duration timeout) const {
  return PollUntil(
      [&] {
        absl::StatusOr<v1::ClusterMap> map = Describe();
        return map.ok() && condition(*map);
      },
      timeout, what);
}

absl::StatusOr<int> TestCluster::Slotctl(const std::vector<std::string>& args,
                                         std::string* output) const {
  static int runs = 0;
  std::vector<std::string> full = {
      absl::StrCat("--coordinator=", coordinator_)};
  full.insert(full.end(), args.begin(), args.end());
  auto process =
      ChildProcess::Start(RunfilePath("client/slotctl"), full,
                          absl::StrCat(dir_, "/slotctl-", runs++, ".log"));
  if (!process.ok()) return process.status();
  absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(30));
  if (output != nullptr) *output = (*process)->ReadLog();
  return code;
}

absl::StatusOr<v1::NodeStatus> TestCluster::NodeStatus(int i) const {
  auto stub = v1::NodeAdminService::NewStub(MakeChannel(nodes_[i].address));
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(5)));
  v1::NodeStatus status;
  grpc::Status rpc =
      stub->GetNodeStatus(&context, v1::GetNodeStatusRequest(), &status);
  if (!rpc.ok()) {
    return absl::UnavailableError(
        absl::StrCat("GetNodeStatus: ", rpc.error_message()));
  }
  return status;
}

absl::Status TestCluster::WaitReplicasSynced(absl::Duration timeout) const {
  absl::Status synced = PollUntil(
      [&] {
        absl::StatusOr<v1::ClusterMap> map = Describe();
        if (!map.ok()) return false;
        for (const v1::ShardInfo& shard : map->shards()) {
          for (const std::string& id : shard.replica_node_ids()) {
            const int i = NodeIndex(*map, id);
            absl::StatusOr<v1::NodeStatus> status =
                i < 0 ? absl::NotFoundError(id) : NodeStatus(i);
            if (!status.ok() || !status->primary_link_up() ||
                status->full_syncs() + status->partial_syncs() == 0) {
              return false;
            }
          }
        }
        return true;
      },
      timeout, "every replica to sync with its primary");
  if (!synced.ok()) return synced;
  // The coordinator judges replicas by their heartbeats: wait for one
  // surely sent after the sync (the harness heartbeats every 50 ms).
  const int64_t after_ms = absl::ToUnixMillis(absl::Now()) + 100;
  return WaitForMap(
      [&](const v1::ClusterMap& map) {
        for (const v1::NodeInfo& node : map.nodes()) {
          if (node.last_heartbeat_unix_ms() < after_ms) return false;
        }
        return true;
      },
      "every node to report its sync to the coordinator", timeout);
}

absl::StatusOr<uint64_t> TestCluster::NodeMapVersion(int i) const {
  absl::StatusOr<v1::NodeStatus> status = NodeStatus(i);
  if (!status.ok()) return status.status();
  return status->cluster_map_version();
}

absl::Status TestCluster::StartAndCreate(int nodes, int shards, int replicas) {
  if (absl::Status s = StartCoordinator(); !s.ok()) return s;
  if (absl::Status s = StartNodes(nodes); !s.ok()) return s;
  return CreateCluster(shards, replicas);
}

absl::Status TestCluster::CreateCluster(int shards, int replicas) {
  const int wanted = node_count();
  absl::Status registered = WaitForMap(
      [&](const v1::ClusterMap& map) { return map.nodes_size() >= wanted; },
      absl::StrCat(wanted, " nodes to register"));
  if (!registered.ok()) return registered;
  std::string output;
  absl::StatusOr<int> code =
      Slotctl({"cluster", "create", absl::StrCat("--shards=", shards),
               absl::StrCat("--replicas=", replicas)},
              &output);
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(
        absl::StrCat("slotctl cluster create exited ", *code, ":\n", output));
  }
  absl::Status checked = PollUntil(
      [&] {
        absl::StatusOr<int> check = Slotctl({"cluster", "check"}, &output);
        return check.ok() && *check == 0;
      },
      absl::Seconds(20), "slotctl cluster check to pass");
  if (!checked.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat(checked.message(), "; last output:\n", output));
  }
  absl::StatusOr<v1::ClusterMap> map = Describe();
  if (!map.ok()) return map.status();
  const uint64_t version = map->version();
  return PollUntil(
      [&] {
        for (int i = 0; i < node_count(); ++i) {
          absl::StatusOr<uint64_t> v = NodeMapVersion(i);
          if (!v.ok() || *v < version) return false;
        }
        return true;
      },
      absl::Seconds(20), "every node to apply the cluster map");
}

}  // namespace slotcache::testing
