// A test double of a slotcache node's CacheService, served in-process on a
// free port, for the SDK's unit tests. It keeps strings and hashes in a map
// (no TTLs: EXPIRE only reports whether the key exists) and can be told to
// misbehave like a cluster node: answer MOVED/ASK for some slots, TRYAGAIN
// a number of times, refuse multi-slot commands with CROSSSLOT (always),
// hold a batch until released, or fail chosen commands with a typed error.
//
// Thread-safety: safe to configure and inspect from the test thread while
// gRPC threads serve calls.
#ifndef SLOTCACHE_CLIENT_SDK_FAKE_NODE_H_
#define SLOTCACHE_CLIENT_SDK_FAKE_NODE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/rpc.h"
#include "proto/cache.grpc.pb.h"

namespace slotcache::testing {

class FakeNode : public v1::CacheService::Service {
 public:
  // Starts serving on 127.0.0.1:0.
  static std::unique_ptr<FakeNode> Start();
  ~FakeNode() override;

  const std::string& address() const { return server_->address(); }

  // What GetClusterMap returns (default: an empty map, i.e. standalone).
  void SetClusterMap(const v1::ClusterMap& map);
  // A hook that may answer a command instead of the store: return an
  // Error to send it (code unspecified = let the store handle it).
  void SetInterceptor(std::function<v1::Error(const v1::Command&)> hook);
  // The replica_acks reported for requests with min_replica_acks > 0
  // (default 0: no replicas).
  void SetReplicaAcks(uint32_t acks) { replica_acks_ = acks; }
  // Holds the next Batch RPC until Release() (to force queueing).
  void HoldNextBatch();
  void Release();
  // True once a held batch has arrived.
  bool holding() const;

  // Observations.
  int batches() const { return batches_.load(); }
  int commands() const { return commands_.load(); }
  // Distinct client connections (peer addresses) that sent batches.
  int batch_peers() const;
  // allow_replica_read of the last request.
  bool last_allow_replica_read() const { return last_replica_read_.load(); }
  bool HasKey(const std::string& key) const;
  // The RequestOptions of the last request whose first command named `key`
  // as its first argument (default options when none did).
  v1::RequestOptions OptionsSeenFor(const std::string& key) const;

 private:
  FakeNode() = default;
  grpc::Status Execute(grpc::ServerContext* context,
                       const v1::ExecuteRequest* request,
                       v1::ExecuteResponse* response) override;
  grpc::Status Batch(grpc::ServerContext* context,
                     const v1::BatchRequest* request,
                     v1::BatchResponse* response) override;
  grpc::Status Pipeline(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::BatchResponse, v1::BatchRequest>* stream)
      override;
  grpc::Status GetClusterMap(grpc::ServerContext* context,
                             const v1::GetClusterMapRequest* request,
                             v1::ClusterMap* response) override;
  void Handle(const v1::Command& command, v1::Reply* reply);
  void NoteOptions(const v1::Command& command,
                   const v1::RequestOptions& options);

  std::unique_ptr<RpcServer> server_;
  std::atomic<int> batches_{0};
  std::atomic<int> commands_{0};
  std::atomic<bool> last_replica_read_{false};
  std::atomic<uint32_t> replica_acks_{0};

  mutable absl::Mutex mu_;
  v1::ClusterMap map_ ABSL_GUARDED_BY(mu_);
  std::function<v1::Error(const v1::Command&)> interceptor_
      ABSL_GUARDED_BY(mu_);
  bool hold_next_ ABSL_GUARDED_BY(mu_) = false;
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<std::string> peers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, v1::RequestOptions> options_seen_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> strings_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string,
                      absl::flat_hash_map<std::string, std::string>>
      hashes_ ABSL_GUARDED_BY(mu_);
};

// Polls `condition` until true or `timeout` passes.
bool PollUntilTrue(const std::function<bool()>& condition,
                   absl::Duration timeout);

// A map in which `nodes` (addresses) split the slots evenly, each the
// primary of one shard with epoch `epoch`.
v1::ClusterMap EvenMap(const std::vector<std::string>& nodes, uint64_t version,
                       uint64_t epoch = 1);

// A redirect error of `code` to `address` for `slot`.
v1::Error RedirectTo(v1::ErrorCode code, uint32_t slot,
                     const std::string& address, uint64_t epoch);

}  // namespace slotcache::testing

#endif  // SLOTCACHE_CLIENT_SDK_FAKE_NODE_H_
