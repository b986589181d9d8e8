#include "tests/bench/failover_probe/resp_cluster_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/slot.h"

namespace slotcache::bench {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& address) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", address, ": ", std::strerror(errno)));
}

// Waits until `fd` is ready for `events` or `deadline` passes.
absl::Status WaitFor(int fd, short events, absl::Time deadline,
                     const std::string& address) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("no answer from ", address, " before the deadline"));
    }
    pollfd p = {fd, events, 0};
    const int ms =
        static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left)));
    const int n = poll(&p, 1, ms);
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR) return ErrnoError("poll", address);
  }
}

absl::StatusOr<int> Dial(const std::string& address, absl::Time deadline) {
  const size_t colon = address.rfind(':');
  int port = 0;
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port <= 0 ||
      port > 65535 ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", address,
                     "' is not an IPv4 host:port (the probe talks to "
                     "loopback clusters only)"));
  }
  sa.sin_port = htons(static_cast<uint16_t>(port));
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket for", address);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    if (errno != EINPROGRESS) {
      absl::Status error = ErrnoError("connect to", address);
      close(fd);
      return error;
    }
    if (absl::Status s = WaitFor(fd, POLLOUT, deadline, address); !s.ok()) {
      close(fd);
      return s;
    }
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      errno = error;
      absl::Status status = ErrnoError("connect to", address);
      close(fd);
      return status;
    }
  }
  return fd;
}

}  // namespace

RespClusterClient::RespClusterClient(std::vector<std::string> seeds,
                                     RetryPolicy retry, int max_redirects)
    : seeds_(std::move(seeds)),
      retry_(retry),
      max_redirects_(max_redirects),
      owner_(kNumSlots) {}

RespClusterClient::~RespClusterClient() {
  for (auto& [address, connection] : connections_) close(connection.fd);
}

absl::Status RespClusterClient::Connect(absl::Time deadline) {
  return RefreshSlots(deadline);
}

absl::Status RespClusterClient::Set(const std::string& key,
                                    const std::string& value,
                                    absl::Time deadline) {
  const uint32_t slot = KeySlot(key);
  std::string ask_target;  // Set by -ASK for the next attempt only.
  int redirects = 0;
  int attempt = 0;
  absl::Status last =
      absl::UnavailableError(absl::StrCat("no known owner of slot ", slot));
  while (true) {
    std::string address = owner_[slot];
    if (address.empty() && !seeds_.empty()) address = seeds_.front();
    absl::StatusOr<RespValue> reply;
    if (ask_target.empty()) {
      reply = Call(address, {"SET", key, value}, deadline);
    } else {
      address = std::move(ask_target);
      ask_target.clear();
      reply = Call(address, {"ASKING"}, deadline);
      if (reply.ok()) reply = Call(address, {"SET", key, value}, deadline);
    }
    if (reply.ok() && reply->type == RespValue::Type::kSimpleString) {
      return absl::OkStatus();
    }
    if (reply.ok() && reply->type == RespValue::Type::kError) {
      if (std::optional<Redirect> r = ParseRedirect(reply->text);
          r.has_value() && redirects < max_redirects_) {
        ++redirects;
        if (r->ask) {
          ask_target = r->address;
        } else {
          owner_[r->slot] = r->address;
        }
        continue;
      }
      last = absl::UnavailableError(
          absl::StrCat(address, " answered -", reply->text));
    } else if (reply.ok()) {
      last = absl::InternalError(
          absl::StrCat(address, " answered SET with an unexpected type"));
    } else {
      last = reply.status();
    }
    const absl::Duration pause =
        BackoffDelay(retry_, ++attempt, absl::ZeroDuration(), gen_);
    if (absl::Now() + pause >= deadline) return last;
    absl::SleepFor(pause);
    (void)RefreshSlots(deadline);  // Best effort; the next SET will tell.
  }
}

absl::StatusOr<RespValue> RespClusterClient::Call(
    const std::string& address, const std::vector<std::string>& words,
    absl::Time deadline) {
  absl::StatusOr<Connection*> connection = ConnectionTo(address, deadline);
  if (!connection.ok()) return connection.status();
  const int fd = (*connection)->fd;
  const std::string request = EncodeCommand(words);
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (absl::Status s = WaitFor(fd, POLLOUT, deadline, address); !s.ok()) {
        Drop(address);
        return s;
      }
      continue;
    }
    absl::Status error = ErrnoError("send to", address);
    Drop(address);
    return error;
  }
  std::string& buffer = (*connection)->buffer;
  while (true) {
    RespValue reply;
    absl::StatusOr<size_t> used = ParseReply(buffer, &reply);
    if (!used.ok()) {
      Drop(address);
      return used.status();
    }
    if (*used > 0) {
      buffer.erase(0, *used);
      return reply;
    }
    if (absl::Status s = WaitFor(fd, POLLIN, deadline, address); !s.ok()) {
      // A reply may still arrive later and would answer the wrong request.
      Drop(address);
      return s;
    }
    char chunk[16384];
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer.append(chunk, static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      continue;
    } else {
      absl::Status error = n == 0 ? absl::UnavailableError(absl::StrCat(
                                        address, " closed the connection"))
                                  : ErrnoError("recv from", address);
      Drop(address);
      return error;
    }
  }
}

absl::StatusOr<RespClusterClient::Connection*> RespClusterClient::ConnectionTo(
    const std::string& address, absl::Time deadline) {
  auto it = connections_.find(address);
  if (it != connections_.end()) return &it->second;
  absl::StatusOr<int> fd = Dial(address, deadline);
  if (!fd.ok()) return fd.status();
  Connection& connection = connections_[address];
  connection.fd = *fd;
  return &connection;
}

void RespClusterClient::Drop(const std::string& address) {
  auto it = connections_.find(address);
  if (it == connections_.end()) return;
  close(it->second.fd);
  connections_.erase(it);
}

absl::Status RespClusterClient::RefreshSlots(absl::Time deadline) {
  std::vector<std::string> candidates = seeds_;
  for (const std::string& owner : owner_) {
    if (!owner.empty() && std::find(candidates.begin(), candidates.end(),
                                    owner) == candidates.end()) {
      candidates.push_back(owner);
    }
  }
  absl::Status last = absl::UnavailableError("no seed addresses");
  for (const std::string& address : candidates) {
    absl::StatusOr<RespValue> reply =
        Call(address, {"CLUSTER", "SLOTS"}, deadline);
    if (!reply.ok()) {
      last = reply.status();
      continue;
    }
    absl::StatusOr<std::vector<SlotOwner>> owners = ParseClusterSlots(*reply);
    if (!owners.ok()) {
      last = owners.status();
      continue;
    }
    for (const SlotOwner& owner : *owners) {
      for (uint32_t slot = owner.first; slot <= owner.last; ++slot) {
        owner_[slot] = owner.primary;
      }
    }
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("CLUSTER SLOTS: no node answered (", last.message(),
                   "); is the Redis cluster up?"));
}

}  // namespace slotcache::bench
