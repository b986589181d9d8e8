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

int ClientRegistry::connected() const {
  MutexLock lock(&mu_);
  return static_cast<int>(clients_.size());
}

}  // namespace slotcache::node::resp
