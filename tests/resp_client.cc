#include "tests/resp_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/harness/process.h"

namespace slotcache::testing {

absl::StatusOr<std::unique_ptr<RawConnection>> RawConnection::Connect(
    const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("not host:port: ", address));
  }
  const std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", address));
  }
  int fd = socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  const bool ok =
      fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  freeaddrinfo(found);
  if (!ok) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("connect ", address, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<RawConnection>(new RawConnection(fd));
}

RawConnection::~RawConnection() { close(fd_); }

absl::Status RawConnection::Send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n =
        send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("send: ", std::strerror(errno)));
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

bool RawConnection::ReadSome(std::string* out, absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return false;
  pollfd p{fd_, POLLIN, 0};
  const int ready =
      poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
  if (ready <= 0) return false;
  char buf[64 * 1024];
  const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  out->append(buf, static_cast<size_t>(n));
  return true;
}

std::string RawConnection::ReadExactly(size_t n, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (pending_.size() < n && ReadSome(&pending_, deadline)) {
  }
  std::string out = pending_.substr(0, n);
  pending_.erase(0, out.size());
  return out;
}

std::string RawConnection::ReadUntilClosed(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (ReadSome(&pending_, deadline)) {
  }
  std::string out;
  out.swap(pending_);
  return out;
}

namespace {

absl::StatusOr<std::string> RunAndCollect(const std::string& binary,
                                          const std::vector<std::string>& args,
                                          absl::Duration timeout) {
  static int runs = 0;
  const std::string log =
      absl::StrCat(NewTempDir("resp-cli"), "/run-", runs++, ".log");
  auto process = ChildProcess::Start(binary, args, log);
  if (!process.ok()) return process.status();
  absl::StatusOr<int> code = (*process)->Wait(timeout);
  if (!code.ok()) return code.status();
  return (*process)->ReadLog();
}

}  // namespace

absl::StatusOr<std::string> RedisCli(const std::string& address,
                                     const std::vector<std::string>& args) {
  const size_t colon = address.rfind(':');
  std::vector<std::string> full = {"-h", address.substr(0, colon), "-p",
                                   address.substr(colon + 1)};
  full.insert(full.end(), args.begin(), args.end());
  return RunAndCollect(kRedisCli, full, absl::Seconds(30));
}

absl::StatusOr<std::string> Shell(const std::string& command,
                                  absl::Duration timeout) {
  return RunAndCollect("/bin/sh", {"-c", command}, timeout);
}

absl::StatusOr<std::string> IoredisModules() {
  if (access("/usr/bin/node", X_OK) != 0 || access("/usr/bin/npm", X_OK) != 0) {
    return absl::FailedPreconditionError(
        "node or npm is missing: run deploy/setup.sh (Debian packages "
        "nodejs, npm)");
  }
  const passwd* user = getpwuid(getuid());
  if (user == nullptr) {
    return absl::InternalError("getpwuid: no home folder for this user");
  }
  const std::string prefix =
      absl::StrCat(user->pw_dir, "/.cache/slotcache-npm");
  const std::string modules = prefix + "/node_modules";
  if (access((modules + "/ioredis/package.json").c_str(), R_OK) == 0) {
    return modules;
  }
  absl::StatusOr<std::string> installed =
      Shell(absl::StrCat("npm install --prefix ", prefix,
                         " --no-audit --no-fund ioredis@5 2>&1; echo exit=$?"),
            absl::Minutes(4));
  if (!installed.ok()) return installed.status();
  if (!absl::StrContains(*installed, "exit=0")) {
    return absl::InternalError(absl::StrCat(
        "npm install ioredis@5 failed (is the npm registry reachable?):\n",
        *installed));
  }
  return modules;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string Multibulk(const std::vector<std::string>& words) {
  std::string out = absl::StrCat("*", words.size(), "\r\n");
  for (const std::string& w : words) {
    absl::StrAppend(&out, "$", w.size(), "\r\n", w, "\r\n");
  }
  return out;
}

}  // namespace slotcache::testing
