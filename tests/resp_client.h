// Helpers for the RESP integration tests: a raw TCP connection to a RESP
// port (for exact wire bytes, pipelining in one write and hostile input)
// and runs of the real redis-cli (Debian redis-tools).
//
// Thread-safety: not thread-safe; use from the test's main thread.
#ifndef SLOTCACHE_TESTS_RESP_CLIENT_H_
#define SLOTCACHE_TESTS_RESP_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace slotcache::testing {

class RawConnection {
 public:
  // Connects to `address` (host:port).
  static absl::StatusOr<std::unique_ptr<RawConnection>> Connect(
      const std::string& address);
  ~RawConnection();

  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  absl::Status Send(const std::string& bytes);
  // The next `n` bytes (fewer if the peer closed or `timeout` passed).
  std::string ReadExactly(size_t n, absl::Duration timeout = absl::Seconds(10));
  // Reads until the peer closes (or `timeout`); returns everything.
  std::string ReadUntilClosed(absl::Duration timeout = absl::Seconds(10));
  // True once a read saw the peer close the connection.
  bool closed() const { return closed_; }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}
  // One read with a deadline; appends to `out`. False on close/timeout.
  bool ReadSome(std::string* out, absl::Time deadline);

  int fd_;
  bool closed_ = false;
  // Received but not yet returned.
  std::string pending_;
};

// Where redis-cli and redis-benchmark are (deploy/setup.sh installs
// redis-tools).
constexpr char kRedisCli[] = "/usr/bin/redis-cli";
constexpr char kRedisBenchmark[] = "/usr/bin/redis-benchmark";

// Runs redis-cli -h/-p from `address` with `args`; returns its output.
// Non-OK when it cannot run or does not finish in 30 s.
absl::StatusOr<std::string> RedisCli(const std::string& address,
                                     const std::vector<std::string>& args);

// Runs `command` with /bin/sh -c; returns its output (stdout+stderr).
absl::StatusOr<std::string> Shell(const std::string& command,
                                  absl::Duration timeout = absl::Seconds(30));

// The node_modules folder holding ioredis (a Node.js Redis Cluster
// client): npm installs ioredis@5 from the registry into
// ~/.cache/slotcache-npm on the first call and later calls reuse it.
// FAILED_PRECONDITION when node or npm is missing (deploy/setup.sh installs
// the Debian packages nodejs and npm), INTERNAL when npm install fails.
absl::StatusOr<std::string> IoredisModules();

// A loopback port no one listens on now (redis-server cannot bind port 0
// and tell); -1 when none could be found.
int FreePort();

// Where redis-server is (deploy/setup.sh installs the Debian package).
constexpr char kRedisServer[] = "/usr/bin/redis-server";

// The RESP multibulk encoding of `words` (what clients send).
std::string Multibulk(const std::vector<std::string>& words);

}  // namespace slotcache::testing

#endif  // SLOTCACHE_TESTS_RESP_CLIENT_H_
