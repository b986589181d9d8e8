#include "tests/replication_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/rpc.h"
#include "common/status.h"
#include "tests/harness/process.h"

namespace slotcache::testing {

absl::StatusOr<v1::DigestResponse> Digest(NodeUnderTest* node) {
  auto stub = v1::ReplicationService::NewStub(node->channel());
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(20)));
  v1::DigestResponse response;
  grpc::Status status = stub->Digest(&context, {}, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::NodeStatus> Status(NodeUnderTest* node) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(10)));
  v1::NodeStatus response;
  grpc::Status status = node->admin()->GetNodeStatus(&context, {}, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::Status WaitConverged(NodeUnderTest* primary, NodeUnderTest* replica,
                           absl::Duration timeout) {
  std::string last;
  absl::Status s = PollUntil(
      [&] {
        absl::StatusOr<v1::DigestResponse> p = Digest(primary);
        absl::StatusOr<v1::DigestResponse> r = Digest(replica);
        if (!p.ok() || !r.ok()) return false;
        last = absl::StrCat("primary ", p->key_count(), " keys digest ",
                            p->digest(), " offset ", p->replication_offset(),
                            "; replica ", r->key_count(), " keys digest ",
                            r->digest(), " offset ", r->replication_offset());
        return p->digest() == r->digest() && p->key_count() == r->key_count() &&
               p->replication_offset() == r->replication_offset();
      },
      timeout, "replica converging to the primary");
  if (!s.ok())
    return absl::DeadlineExceededError(
        absl::StrCat(s.message(), " (last seen: ", last, ")"));
  return s;
}

std::vector<v1::Command> RandomWrites(absl::BitGen& gen, int n, int keys) {
  std::vector<v1::Command> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    const int k = absl::Uniform(gen, 0, keys);
    const std::string key = absl::StrCat("key:", k);
    const std::string hkey = absl::StrCat("{h", k % 97, "}session");
    const std::string ckey = absl::StrCat("counter:", k % 211);
    const std::string value(absl::Uniform(gen, 1, 200), 'a' + k % 26);
    switch (absl::Uniform(gen, 0, 12)) {
      case 0:
      case 1:
        out.push_back(Cmd({"SET", key, value}));
        break;
      case 2:
        out.push_back(Cmd({"SET", key, value, "PX",
                           absl::StrCat(absl::Uniform(gen, 100, 1500))}));
        break;
      case 3:
        out.push_back(Cmd({"SET", key, value, "EX", "3600"}));
        break;
      case 4:
        out.push_back(Cmd({"HSET", hkey, absl::StrCat("f", k % 13), value}));
        break;
      case 5:
        out.push_back(Cmd({"HINCRBY", hkey, "hits", "1"}));
        break;
      case 6:
        out.push_back(Cmd({"INCRBY", ckey, "7"}));
        break;
      case 7:
        out.push_back(Cmd({"INCRBYFLOAT", ckey, "0.25"}));
        break;
      case 8:
        out.push_back(Cmd({"DEL", key}));
        break;
      case 9:
        out.push_back(Cmd({"EXPIRE", hkey, "1800"}));
        break;
      case 10:
        out.push_back(Cmd({"APPEND", key, "+"}));
        break;
      case 11:
        out.push_back(Cmd({"HDEL", hkey, absl::StrCat("f", k % 13)}));
        break;
    }
  }
  return out;
}

absl::Status RunBatches(NodeUnderTest* node,
                        const std::vector<v1::Command>& commands,
                        int per_batch) {
  for (size_t i = 0; i < commands.size(); i += per_batch) {
    std::vector<v1::Command> batch(
        commands.begin() + i,
        commands.begin() + std::min(commands.size(), i + per_batch));
    absl::StatusOr<std::vector<v1::Reply>> replies =
        node->Run(Path::kBatch, batch);
    if (!replies.ok()) return replies.status();
  }
  return absl::OkStatus();
}

// ---- TcpProxy ----

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Start(
    const std::string& target) {
  std::vector<std::string> parts = absl::StrSplit(target, ':');
  int target_port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &target_port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("proxy target '", target, "' is not host:port"));
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("could not bind the proxy's port");
  }
  return std::unique_ptr<TcpProxy>(
      new TcpProxy(fd, ntohs(addr.sin_port), parts[0], target_port));
}

TcpProxy::TcpProxy(int listen_fd, int port, std::string target_host,
                   int target_port)
    : listen_fd_(listen_fd),
      port_(port),
      target_host_(std::move(target_host)),
      target_port_(target_port),
      acceptor_([this] { AcceptLoop(); }) {}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  close(listen_fd_);
  std::vector<std::thread> pumps;
  {
    absl::MutexLock lock(&mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
    pumps.swap(pumps_);
  }
  for (auto& t : pumps) t.join();
}

std::string TcpProxy::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void TcpProxy::Block() {
  absl::MutexLock lock(&mu_);
  blocked_ = true;
  for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
}

void TcpProxy::Unblock() {
  absl::MutexLock lock(&mu_);
  blocked_ = false;
}

void TcpProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    absl::MutexLock lock(&mu_);
    if (blocked_ || stopping_) {
      close(client);
      continue;
    }
    int upstream = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(target_port_);
    inet_pton(AF_INET,
              target_host_ == "localhost" ? "127.0.0.1" : target_host_.c_str(),
              &addr.sin_addr);
    if (connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
        0) {
      close(upstream);
      close(client);
      continue;
    }
    open_fds_.push_back(client);
    open_fds_.push_back(upstream);
    pumps_.emplace_back([this, client, upstream] { Pump(client, upstream); });
  }
}

void TcpProxy::Pump(int a, int b) {
  char buf[64 << 10];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  bool open = true;
  while (open && !stopping_) {
    if (poll(fds, 2, 50) <= 0) continue;
    for (int i = 0; i < 2 && open; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        open = false;
        break;
      }
      const int to = fds[1 - i].fd;
      for (ssize_t sent = 0; sent < n;) {
        ssize_t w = send(to, buf + sent, n - sent, MSG_NOSIGNAL);
        if (w <= 0) {
          open = false;
          break;
        }
        sent += w;
      }
    }
  }
  absl::MutexLock lock(&mu_);
  shutdown(a, SHUT_RDWR);
  shutdown(b, SHUT_RDWR);
  close(a);
  close(b);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), a),
                  open_fds_.end());
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), b),
                  open_fds_.end());
}

}  // namespace slotcache::testing
