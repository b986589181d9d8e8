#include "client/sdk/fake_node.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/commands/command_table.h"
#include "common/slot.h"

namespace slotcache::testing {

std::unique_ptr<FakeNode> FakeNode::Start() {
  std::unique_ptr<FakeNode> node(new FakeNode());
  absl::StatusOr<std::unique_ptr<RpcServer>> server =
      RpcServer::Start(RpcServerOptions(), {node.get()});
  if (!server.ok()) return nullptr;
  node->server_ = std::move(*server);
  return node;
}

FakeNode::~FakeNode() {
  Release();
  server_->Shutdown(absl::Seconds(1));
}

void FakeNode::SetClusterMap(const v1::ClusterMap& map) {
  absl::MutexLock lock(&mu_);
  map_ = map;
}

void FakeNode::SetInterceptor(
    std::function<v1::Error(const v1::Command&)> hook) {
  absl::MutexLock lock(&mu_);
  interceptor_ = std::move(hook);
}

void FakeNode::HoldNextBatch() {
  absl::MutexLock lock(&mu_);
  hold_next_ = true;
  released_ = false;
}

void FakeNode::Release() {
  absl::MutexLock lock(&mu_);
  released_ = true;
}

bool FakeNode::holding() const {
  absl::MutexLock lock(&mu_);
  return holding_;
}

v1::RequestOptions FakeNode::OptionsSeenFor(const std::string& key) const {
  absl::MutexLock lock(&mu_);
  auto it = options_seen_.find(key);
  return it == options_seen_.end() ? v1::RequestOptions() : it->second;
}

void FakeNode::NoteOptions(const v1::Command& command,
                           const v1::RequestOptions& options) {
  if (command.args_size() == 0) return;
  absl::MutexLock lock(&mu_);
  options_seen_[command.args(0)] = options;
}

bool FakeNode::HasKey(const std::string& key) const {
  absl::MutexLock lock(&mu_);
  return strings_.contains(key) || hashes_.contains(key);
}

grpc::Status FakeNode::Execute(grpc::ServerContext*,
                               const v1::ExecuteRequest* request,
                               v1::ExecuteResponse* response) {
  last_replica_read_ = request->options().allow_replica_read();
  ++commands_;
  NoteOptions(request->command(), request->options());
  Handle(request->command(), response->mutable_reply());
  if (request->options().min_replica_acks() > 0) {
    response->set_replica_acks(replica_acks_.load());
  }
  return grpc::Status::OK;
}

int FakeNode::batch_peers() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(peers_.size());
}

grpc::Status FakeNode::Batch(grpc::ServerContext* context,
                             const v1::BatchRequest* request,
                             v1::BatchResponse* response) {
  {
    absl::MutexLock lock(&mu_);
    peers_.insert(context->peer());
    if (hold_next_) {
      hold_next_ = false;
      holding_ = true;
      mu_.Await(absl::Condition(&released_));
      holding_ = false;
    }
  }
  ++batches_;
  last_replica_read_ = request->options().allow_replica_read();
  response->set_id(request->id());
  for (const v1::Command& command : request->commands()) {
    ++commands_;
    NoteOptions(command, request->options());
    Handle(command, response->add_replies());
  }
  if (request->options().min_replica_acks() > 0) {
    response->set_replica_acks(replica_acks_.load());
  }
  return grpc::Status::OK;
}

grpc::Status FakeNode::Pipeline(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::BatchResponse, v1::BatchRequest>* stream) {
  v1::BatchRequest request;
  while (stream->Read(&request)) {
    v1::BatchResponse response;
    Batch(context, &request, &response);
    if (!stream->Write(response)) break;
  }
  return grpc::Status::OK;
}

grpc::Status FakeNode::GetClusterMap(grpc::ServerContext*,
                                     const v1::GetClusterMapRequest*,
                                     v1::ClusterMap* response) {
  absl::MutexLock lock(&mu_);
  *response = map_;
  return grpc::Status::OK;
}

void FakeNode::Handle(const v1::Command& command, v1::Reply* reply) {
  std::function<v1::Error(const v1::Command&)> hook;
  {
    absl::MutexLock lock(&mu_);
    hook = interceptor_;
  }
  if (hook) {
    v1::Error error = hook(command);
    if (error.code() != v1::ERROR_CODE_UNSPECIFIED) {
      *reply->mutable_error() = std::move(error);
      return;
    }
  }
  const std::string name = absl::AsciiStrToUpper(command.name());
  const auto& args = command.args();
  auto fail = [reply](v1::ErrorCode code, const std::string& message) {
    reply->mutable_error()->set_code(code);
    reply->mutable_error()->set_message(message);
  };
  // Multi-key commands must stay within one slot, like the real node.
  if (const CommandSpec* spec = FindCommand(name); spec != nullptr) {
    const KeyPositions keys = KeyPositionsOf(*spec, args.size());
    for (int i = keys.first + keys.step; i <= keys.last; i += keys.step) {
      if (KeySlot(args[i]) != KeySlot(args[keys.first])) {
        fail(v1::CROSSSLOT, "keys in different slots");
        return;
      }
    }
  }
  v1::Value* value = reply->mutable_value();
  absl::MutexLock lock(&mu_);
  if (name == "GET" && args.size() == 1) {
    auto it = strings_.find(args[0]);
    if (it == strings_.end()) {
      value->set_nil(true);
    } else {
      value->set_bulk(it->second);
    }
  } else if (name == "SET" && args.size() >= 2) {
    const bool nx = std::find(args.begin(), args.end(), "NX") != args.end();
    if (nx && strings_.contains(args[0])) {
      value->set_nil(true);
    } else {
      strings_[args[0]] = args[1];
      value->set_status("OK");
    }
  } else if (name == "MGET") {
    for (const std::string& key : args) {
      auto it = strings_.find(key);
      v1::Value* v = value->mutable_array()->add_values();
      if (it == strings_.end()) {
        v->set_nil(true);
      } else {
        v->set_bulk(it->second);
      }
    }
  } else if (name == "MSET") {
    for (int i = 0; i + 1 < args.size(); i += 2)
      strings_[args[i]] = args[i + 1];
    value->set_status("OK");
  } else if (name == "DEL" || name == "EXISTS") {
    int64_t n = 0;
    for (const std::string& key : args) {
      const bool found = strings_.contains(key) || hashes_.contains(key);
      n += found;
      if (name == "DEL") {
        strings_.erase(key);
        hashes_.erase(key);
      }
    }
    value->set_integer(n);
  } else if (name == "EXPIRE" || name == "PEXPIRE") {
    value->set_integer(strings_.contains(args[0]) || hashes_.contains(args[0]));
  } else if (name == "INCRBY" && args.size() == 2) {
    int64_t current = 0, delta = 0;
    auto it = strings_.find(args[0]);
    if ((it != strings_.end() && !absl::SimpleAtoi(it->second, &current)) ||
        !absl::SimpleAtoi(args[1], &delta)) {
      value->Clear();
      fail(v1::OUT_OF_RANGE, "value is not an integer");
      return;
    }
    strings_[args[0]] = absl::StrCat(current + delta);
    value->set_integer(current + delta);
  } else if (name == "HSET" && args.size() >= 3) {
    int64_t added = 0;
    auto& hash = hashes_[args[0]];
    for (int i = 1; i + 1 < args.size(); i += 2) {
      added += hash.insert_or_assign(args[i], args[i + 1]).second;
    }
    value->set_integer(added);
  } else if (name == "HGET" && args.size() == 2) {
    auto it = hashes_.find(args[0]);
    if (it == hashes_.end() || !it->second.contains(args[1])) {
      value->set_nil(true);
    } else {
      value->set_bulk(it->second.at(args[1]));
    }
  } else if (name == "HGETALL" && args.size() == 1) {
    v1::ValueArray* array = value->mutable_array();
    auto it = hashes_.find(args[0]);
    if (it != hashes_.end()) {
      for (const auto& [field, v] : it->second) {
        array->add_values()->set_bulk(field);
        array->add_values()->set_bulk(v);
      }
    }
  } else {
    value->Clear();
    reply->clear_value();
    fail(v1::INVALID_ARGUMENT,
         absl::StrCat("fake node does not implement ", name));
  }
}

bool PollUntilTrue(const std::function<bool()>& condition,
                   absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

v1::ClusterMap EvenMap(const std::vector<std::string>& nodes, uint64_t version,
                       uint64_t epoch) {
  v1::ClusterMap map;
  map.set_cluster_id("test");
  map.set_version(version);
  const uint32_t per = kNumSlots / nodes.size();
  for (size_t i = 0; i < nodes.size(); ++i) {
    v1::NodeInfo* node = map.add_nodes();
    node->set_node_id(absl::StrCat("n", i));
    node->set_address(nodes[i]);
    node->set_role(v1::PRIMARY);
    v1::ShardInfo* shard = map.add_shards();
    shard->set_shard_id(absl::StrCat("s", i));
    shard->set_primary_node_id(node->node_id());
    shard->set_config_epoch(epoch);
    v1::SlotRange* range = shard->add_slots();
    range->set_start(i * per);
    range->set_end(i + 1 == nodes.size() ? kNumSlots - 1 : (i + 1) * per - 1);
  }
  return map;
}

v1::Error RedirectTo(v1::ErrorCode code, uint32_t slot,
                     const std::string& address, uint64_t epoch) {
  v1::Error error;
  error.set_code(code);
  error.set_message(absl::StrCat("redirect ", slot, " ", address));
  error.mutable_redirect()->set_slot(slot);
  error.mutable_redirect()->set_address(address);
  error.mutable_redirect()->set_config_epoch(epoch);
  return error;
}

}  // namespace slotcache::testing
