#include "node/resp/client_registry.h"

#include <algorithm>
#include <utility>

namespace slotcache::node::resp {

void ClientRegistry::Add(const ClientSummary& client,
                         std::function<void()> kill) {
  MutexLock lock(&mu_);
  clients_[client.id] = Entry{client, std::move(kill)};
}

void ClientRegistry::Remove(uint64_t id) {
  MutexLock lock(&mu_);
  clients_.erase(id);
}

void ClientRegistry::Update(const ClientSummary& summary) {
  MutexLock lock(&mu_);
  auto it = clients_.find(summary.id);
  if (it != clients_.end()) it->second.summary = summary;
}

std::vector<ClientSummary> ClientRegistry::List() const {
  std::vector<ClientSummary> out;
  {
    MutexLock lock(&mu_);
    out.reserve(clients_.size());
    for (const auto& [id, entry] : clients_) out.push_back(entry.summary);
  }
  std::sort(out.begin(), out.end(),
            [](const ClientSummary& a, const ClientSummary& b) {
              return a.id < b.id;
            });
  return out;
}

int ClientRegistry::Kill(
    const std::function<bool(const ClientSummary&)>& match) {
  std::vector<std::function<void()>> kills;
  {
    MutexLock lock(&mu_);
    for (const auto& [id, entry] : clients_) {
      if (match(entry.summary)) kills.push_back(entry.kill);
    }
  }
  // Outside the lock: a kill posts to a loop, which later calls Remove.
  for (const auto& kill : kills) kill();
  return static_cast<int>(kills.size());
}

namespace {
constexpr int64_t kSampleEveryNs = 100 * 1000 * 1000;
constexpr size_t kSamples = 20;
}  // namespace

void ClientRegistry::Sample(int64_t now_ns) {
  MutexLock lock(&samples_mu_);
  // Another loop may have sampled meanwhile.
  if (now_ns < next_sample_ns_.load(std::memory_order_relaxed)) return;
  next_sample_ns_.store(now_ns + kSampleEveryNs, std::memory_order_relaxed);
  samples_.push_back({now_ns, commands_processed_.load()});
  while (samples_.size() > kSamples) samples_.pop_front();
}

int64_t ClientRegistry::InstantaneousOpsPerSec() const {
  const int64_t now = absl::GetCurrentTimeNanos();
  const uint64_t commands = commands_processed_.load();
  MutexLock lock(&samples_mu_);
  // The newest sample at least a second old, else the oldest there is.
  const OpsSample* base = samples_.empty() ? nullptr : &samples_.front();
  for (const OpsSample& s : samples_) {
    if (now - s.at_ns < 1000 * 1000 * 1000) break;
    base = &s;
  }
  if (base == nullptr || now <= base->at_ns) return 0;
  const double seconds = static_cast<double>(now - base->at_ns) / 1e9;
  return static_cast<int64_t>(static_cast<double>(commands - base->commands) /
                              seconds);
}

int ClientRegistry::connected() const {
  MutexLock lock(&mu_);
  return static_cast<int>(clients_.size());
}

}  // namespace slotcache::node::resp
