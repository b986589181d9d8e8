#include "client/sdk/coordinator_map_source.h"

#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc.h"
#include "common/status.h"
#include "common/stop_signal.h"

namespace slotcache {
namespace {

// One WatchClusterMap stream, reopened until the watch is destroyed.
class CoordinatorWatch : public ClusterMapSource::Watch {
 public:
  CoordinatorWatch(v1::CoordinatorService::Stub* stub, std::string coordinator,
                   const RetryPolicy& reconnect, uint64_t after_version,
                   ClusterMapSource::OnMap on_map)
      : stub_(stub),
        coordinator_(std::move(coordinator)),
        reconnect_(reconnect),
        on_map_(std::move(on_map)),
        after_version_(after_version),
        thread_([this] { Run(); }) {}

  ~CoordinatorWatch() override {
    stop_.Stop();
    {
      // Ends the stream in progress; Run checks the signal under mu_
      // before opening the next, so none can start unseen.
      absl::MutexLock lock(&mu_);
      if (context_ != nullptr) context_->TryCancel();
    }
    thread_.join();
  }

 private:
  void Run() {
    absl::BitGen gen;
    int failures = 0;
    do {
      grpc::ClientContext context;
      {
        absl::MutexLock lock(&mu_);
        if (stop_.stopped()) return;
        context_ = &context;
      }
      v1::WatchClusterMapRequest request;
      request.set_after_version(after_version_);
      std::unique_ptr<grpc::ClientReader<v1::ClusterMap>> reader =
          stub_->WatchClusterMap(&context, request);
      ClusterMapSource::Result result;
      while (reader->Read(&result.map)) {
        failures = 0;
        if (result.map.version() <= after_version_) continue;
        after_version_ = result.map.version();
        on_map_(std::move(result));
        result = ClusterMapSource::Result();
      }
      // Whatever ended the stream (coordinator down or restarting, a
      // network error), the answer is to reopen it after a backoff; the
      // client keeps serving from its last map meanwhile.
      reader->Finish();
      {
        absl::MutexLock lock(&mu_);
        context_ = nullptr;
      }
      ++failures;
    } while (stop_.SleepFor(
        BackoffDelay(reconnect_, failures, absl::ZeroDuration(), gen)));
  }

  // Constant after construction.
  v1::CoordinatorService::Stub* const stub_;
  const std::string coordinator_;
  const RetryPolicy reconnect_;
  const ClusterMapSource::OnMap on_map_;

  // Only the watch thread uses this.
  uint64_t after_version_;

  StopSignal stop_;
  absl::Mutex mu_;
  // The stream in progress, for the destructor to cancel.
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;

  // Last: starts once everything above is initialized.
  std::thread thread_;
};

}  // namespace

CoordinatorMapSource::CoordinatorMapSource(const std::string& coordinator,
                                           const RetryPolicy& reconnect)
    : coordinator_(coordinator),
      reconnect_(reconnect),
      stub_(v1::CoordinatorService::NewStub(MakeChannel(coordinator))) {}

absl::StatusOr<ClusterMapSource::Result> CoordinatorMapSource::Fetch(
    absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(timeout));
  Result result;
  grpc::Status status = stub_->DescribeCluster(
      &context, v1::DescribeClusterRequest(), &result.map);
  if (!status.ok()) {
    absl::Status error = FromGrpcStatus(status);
    return absl::Status(
        error.code(),
        absl::StrCat("cannot get the cluster map from the coordinator at ",
                     coordinator_, ": ", error.message()));
  }
  if (result.map.shards_size() == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the coordinator at ", coordinator_,
        " has no cluster yet; create one with `slotctl cluster create`"));
  }
  return result;
}

std::unique_ptr<ClusterMapSource::Watch> CoordinatorMapSource::StartWatch(
    uint64_t after_version, OnMap on_map) {
  return std::make_unique<CoordinatorWatch>(
      stub_.get(), coordinator_, reconnect_, after_version, std::move(on_map));
}

}  // namespace slotcache
