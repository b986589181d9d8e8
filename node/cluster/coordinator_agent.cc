#include "node/cluster/coordinator_agent.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/node_id.h"
#include "common/rpc.h"
#include "common/server_main.h"
#include "common/status.h"
#include "node/cluster/cluster_state.h"
#include "proto/coordinator.grpc.pb.h"

namespace slotcache::node {
namespace {

constexpr char kNodeIdFile[] = "node_id";

}  // namespace

absl::StatusOr<std::string> LoadOrCreateNodeId(const std::string& data_dir,
                                               absl::string_view preferred) {
  const std::string path = absl::StrCat(data_dir, "/", kNodeIdFile);
  std::ifstream in(path);
  if (in.good()) {
    std::stringstream contents;
    contents << in.rdbuf();
    std::string id(absl::StripAsciiWhitespace(contents.str()));
    if (!IsValidNodeId(id)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " does not hold a valid node id ('", id,
                       "'); delete the file to join as a new node"));
    }
    if (!preferred.empty() && preferred != id) {
      SC_LOG(WARNING, "keeping node id %s from %s (ignoring --node_id=%s)", id,
             path, preferred);
    }
    return id;
  }
  std::string id = preferred.empty() ? NewNodeId() : std::string(preferred);
  if (!IsValidNodeId(id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node id '", id, "' is not 1-64 letters, digits, '-' or '_'"));
  }
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create --data_dir ", data_dir, ": ",
                     error.message(), "; choose a writable folder"));
  }
  if (absl::Status s = WriteFileAtomically(path, id + "\n"); !s.ok()) return s;
  SC_LOG(INFO, "new node id %s saved in %s", id, path);
  return id;
}

void BindToClusterState(ClusterState* cluster,
                        CoordinatorAgentOptions* options) {
  const NodeIdentity identity = cluster->identity();
  options->node_id = identity.node_id;
  options->address = identity.address;
  options->az = identity.az;
  options->apply_map = [cluster](const v1::ClusterMap& map) {
    return cluster->Apply(map);
  };
  options->extend_lease = [cluster](absl::Time expiry) {
    cluster->ExtendLease(expiry);
  };
}

CoordinatorAgent::CoordinatorAgent(CoordinatorAgentOptions options)
    : options_(std::move(options)) {}

CoordinatorAgent::~CoordinatorAgent() { Stop(); }

void CoordinatorAgent::Start() {
  thread_ = std::thread([this] { Run(); });
  watchdog_ = std::thread([this] { WatchdogLoop(); });
}

void CoordinatorAgent::WatchdogLoop() {
  for (;;) {
    absl::Duration tick;
    {
      absl::MutexLock lock(&mu_);
      tick = std::min(options_.rpc_timeout / 4, heartbeat_interval_);
    }
    if (!stop_.SleepFor(tick)) return;
    absl::MutexLock lock(&mu_);
    if (call_ != nullptr &&
        absl::Now() - awaiting_since_ > options_.rpc_timeout) {
      SC_LOG(WARNING,
             "no heartbeat reply from the coordinator at %s for %s; "
             "reconnecting",
             options_.coordinator_address,
             absl::FormatDuration(absl::Now() - awaiting_since_));
      call_->TryCancel();
      awaiting_since_ = absl::InfiniteFuture();
    }
  }
}

void CoordinatorAgent::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (call_ != nullptr) call_->TryCancel();
  }
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
  if (watchdog_.joinable()) watchdog_.join();
}

bool CoordinatorAgent::connected() const {
  absl::MutexLock lock(&mu_);
  return connected_;
}

uint64_t CoordinatorAgent::map_version() const {
  absl::MutexLock lock(&mu_);
  return map_version_;
}

int CoordinatorAgent::registrations() const {
  absl::MutexLock lock(&mu_);
  return registrations_;
}

bool CoordinatorAgent::SleepUnlessStopped(absl::Duration d) {
  return stop_.SleepFor(d);
}

bool CoordinatorAgent::SleepUntilNextBeat(absl::Duration d, Inbox* inbox) {
  {
    // Stop() cancels the call, which ends the reader and wakes this.
    absl::MutexLock lock(&inbox->mu);
    inbox->mu.AwaitWithTimeout(
        absl::Condition(
            +[](Inbox* in) ABSL_EXCLUSIVE_LOCKS_REQUIRED(in->mu) {
              return in->beat_now || in->ended;
            },
            inbox),
        d);
    if (inbox->ended) return false;
  }
  absl::MutexLock lock(&mu_);
  return !stopping_;
}

void CoordinatorAgent::ApplyMap(const v1::ClusterMap& map) {
  absl::StatusOr<uint64_t> held;
  {
    // Replies and pushes arrive on two threads; apply_map runs one at a
    // time.
    absl::MutexLock lock(&apply_mu_);
    held = options_.apply_map(map);
  }
  if (!held.ok()) {
    // A map the node refuses (e.g. one that lowers an epoch) is a
    // coordinator bug; keep serving with the old one and say so.
    SC_LOG(ERROR, "refused cluster map version %d from the coordinator: %s",
           map.version(), held.status().ToString());
    return;
  }
  absl::MutexLock lock(&mu_);
  if (*held > map_version_) {
    SC_LOG(INFO, "applied cluster map version %d", *held);
    map_version_ = *held;
  }
}

void CoordinatorAgent::Run() {
  absl::Duration backoff = options_.initial_backoff;
  std::string last_error;
  while (true) {
    const int registrations_before = registrations();
    absl::Status ended = RunSession();
    {
      absl::MutexLock lock(&mu_);
      connected_ = false;
      if (stopping_) return;
    }
    // A session that got as far as registering resets the backoff.
    if (registrations() > registrations_before) {
      backoff = options_.initial_backoff;
    }
    // Log each new kind of failure once, not every retry.
    std::string error(ended.message());
    if (error != last_error) {
      SC_LOG(WARNING,
             "lost the coordinator at %s: %s; serving with cluster map "
             "version %d and retrying",
             options_.coordinator_address, error, map_version());
      last_error = error;
    }
    if (!SleepUnlessStopped(backoff)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status CoordinatorAgent::RunSession() {
  std::unique_ptr<v1::CoordinatorService::Stub> stub =
      v1::CoordinatorService::NewStub(
          MakeChannel(options_.coordinator_address));

  v1::RegisterNodeRequest request;
  request.set_node_id(options_.node_id);
  request.set_address(options_.address);
  request.set_az(options_.az);
  request.set_restarted(registrations() == 0);
  request.set_resp_address(options_.resp_address);
  v1::RegisterNodeResponse registered;
  {
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(options_.rpc_timeout));
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::CancelledError("stopping");
      call_ = &context;
    }
    grpc::Status status = stub->RegisterNode(&context, request, &registered);
    absl::MutexLock lock(&mu_);
    call_ = nullptr;
    if (!status.ok()) {
      return absl::Status(
          FromGrpcStatus(status).code(),
          absl::StrCat("RegisterNode: ", status.error_message()));
    }
  }
  if (registered.node_id() != options_.node_id) {
    // The coordinator echoes the id it was sent; anything else would split
    // the node's identity between its data dir and the coordinator.
    return absl::InternalError(absl::StrCat(
        "coordinator registered this node as ", registered.node_id(),
        " instead of its persisted id ", options_.node_id));
  }
  absl::Duration interval = absl::Milliseconds(
      std::max<uint32_t>(registered.heartbeat_interval_ms(), 10));
  {
    absl::MutexLock lock(&mu_);
    ++registrations_;
    heartbeat_interval_ = interval;
  }
  SC_LOG(INFO, "registered with the coordinator at %s as node %s (%s, az %s)",
         options_.coordinator_address, options_.node_id, options_.address,
         options_.az);
  ApplyMap(registered.cluster_map());

  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    call_ = &context;
  }
  std::unique_ptr<
      grpc::ClientReaderWriter<v1::HeartbeatRequest, v1::HeartbeatResponse>>
      stream = stub->Heartbeat(&context);
  // The reader takes every message off the stream: a pushed map is applied
  // at once (and the next heartbeat is sent at once, for the lease a new
  // role may bring); a reply goes to the heartbeat awaiting it. One
  // heartbeat is outstanding at a time, so the first reply after a send
  // answers that send, whatever pushes came in between.
  Inbox inbox;
  std::thread reader([this, &stream, &inbox] {
    v1::HeartbeatResponse message;
    while (stream->Read(&message)) {
      if (message.pushed()) {
        if (message.has_cluster_map()) ApplyMap(message.cluster_map());
        absl::MutexLock lock(&inbox.mu);
        inbox.beat_now = true;
      } else {
        absl::MutexLock lock(&inbox.mu);
        inbox.reply = std::move(message);
      }
    }
    absl::MutexLock lock(&inbox.mu);
    inbox.ended = true;
  });
  while (true) {
    v1::HeartbeatRequest beat;
    beat.set_node_id(options_.node_id);
    beat.set_cluster_map_version(map_version());
    beat.set_accepts_pushed_maps(true);
    if (options_.fill_heartbeat) options_.fill_heartbeat(&beat);
    // The lease counts from when the heartbeat was sent, so a slow reply
    // can only shorten it on this side (docs/ARCHITECTURE.md §2.3).
    const absl::Time sent_at = options_.clock->Now();
    {
      absl::MutexLock lock(&mu_);
      awaiting_since_ = absl::Now();
    }
    {
      absl::MutexLock lock(&inbox.mu);
      inbox.beat_now = false;
    }
    std::optional<v1::HeartbeatResponse> reply;
    if (stream->Write(beat)) {
      // The watchdog (rpc_timeout) and Stop() cancel the call, which ends
      // the reader.
      absl::MutexLock lock(&inbox.mu);
      inbox.mu.Await(absl::Condition(
          +[](Inbox* in) ABSL_EXCLUSIVE_LOCKS_REQUIRED(in->mu) {
            return in->reply.has_value() || in->ended;
          },
          &inbox));
      reply.swap(inbox.reply);
    }
    const bool answered = reply.has_value();
    {
      absl::MutexLock lock(&mu_);
      awaiting_since_ = absl::InfiniteFuture();
      connected_ = answered;
    }
    if (!answered) break;
    // The map first, then the lease (docs/RESHARDING.md "Why no write is
    // lost"): a reply sent after a migration's commit carries the map that
    // moves the slots away; extending the lease before applying it would
    // let the old owner take writes to those slots, with a fresh lease and
    // the old map, once its slot pause ends.
    if (reply->has_cluster_map()) ApplyMap(reply->cluster_map());
    if (reply->lease_ms() > 0 && options_.extend_lease) {
      options_.extend_lease(sent_at + absl::Milliseconds(reply->lease_ms()));
    }
    if (!SleepUntilNextBeat(interval, &inbox)) break;
  }
  stream->WritesDone();
  // The coordinator ends the call after WritesDone; a hung one is
  // cancelled by the watchdog or Stop().
  reader.join();
  grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    call_ = nullptr;
    if (stopping_) return absl::CancelledError("stopping");
  }
  if (status.ok()) {
    return absl::UnavailableError("heartbeat stream closed by the coordinator");
  }
  return absl::Status(FromGrpcStatus(status).code(),
                      absl::StrCat("Heartbeat: ", status.error_message()));
}

}  // namespace slotcache::node
