// 10,000 hostile or broken RESP clients against one standalone node, in
// waves of concurrent connections: random bytes, multibulk headers
// claiming a million words or a 512 MiB bulk, requests cut off half way
// (and left open), clients that pipeline big GETs and never read. The
// node's RSS must stay within 50 MB of where it started, and a normal
// client must keep getting correct answers after every wave.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"
#include "tests/resp_client.h"

namespace slotcache::testing {
namespace {

constexpr int kConnections = 10000;
constexpr int kWaves = 5;
constexpr int kPerWave = kConnections / kWaves;
// Unread replies a connection may hold before the node drops it.
constexpr int64_t kOutputBufferLimit = 4 << 20;
constexpr int64_t kMaxRssGrowthKb = 50 << 10;

// VmRSS of `pid` in KiB, or -1.
int64_t RssKb(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::vector<std::string> words =
        absl::StrSplit(line, ' ', absl::SkipWhitespace());
    int64_t kb;
    if (words.size() >= 2 && absl::SimpleAtoi(words[1], &kb)) return kb;
  }
  return -1;
}

// A non-blocking TCP connection to 127.0.0.1:port, or -1.
int ConnectNonBlocking(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
      errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

// The bytes one hostile client sends (it never reads).
std::string HostileBytes(int i, std::mt19937* rng) {
  switch (i % 6) {
    case 0: {  // Random bytes.
      std::string bytes(1 + (*rng)() % 4096, '\0');
      for (char& b : bytes) b = static_cast<char>((*rng)());
      return bytes;
    }
    case 1:  // A million and one words.
      return "*1048577\r\n";
    case 2:  // A bulk over proto-max-bulk-len.
      return "*2\r\n$3\r\nGET\r\n$536870913\r\n";
    case 3:  // An allowed 512 MiB bulk, of which 1000 bytes arrive.
      return "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n" +
             std::string(1000, 'x');
    case 4:  // A request cut off in its header.
      return "*3\r\n$3\r\nSET\r\n$1";
    default: {  // Big GETs, never read: 16 MiB of replies.
      std::string gets;
      for (int n = 0; n < 16; ++n) gets += Multibulk({"GET", "big"});
      return gets;
    }
  }
}

TEST(RespHostileClientsTest, GarbageConnectionsNeitherGrowTheNodeNorStopIt) {
  // Both sides hold a wave's connections: raise the soft limit to the hard.
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  const rlim_t needed = kPerWave + 200;
  if (files.rlim_cur < needed) {
    files.rlim_cur = std::min(files.rlim_max, needed);
    setrlimit(RLIMIT_NOFILE, &files);
    getrlimit(RLIMIT_NOFILE, &files);
  }
  if (files.rlim_cur < needed) {
    GTEST_SKIP() << "open files limit " << files.rlim_cur << " (hard "
                 << files.rlim_max << ") is below the " << needed
                 << " this test needs; raise it with ulimit -Hn";
  }

  const std::string file = NewTempDir("hostile") + "/resp.addr";
  auto node = StartServer(
      RunfilePath("node/slotcache-node"),
      {"--resp_listen=127.0.0.1:0", absl::StrCat("--resp_address_file=", file),
       absl::StrCat("--resp_output_buffer_limit=", kOutputBufferLimit),
       "--resp_threads=2"});
  ASSERT_TRUE(node.ok()) << node.status();
  std::string address;
  std::getline(std::ifstream(file), address);
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port))
      << address;
  const pid_t pid = node->process->pid();

  auto normal = RawConnection::Connect(address);
  ASSERT_TRUE(normal.ok()) << normal.status();
  // Exactly the replies a healthy node gives, in order.
  auto check_normal_client = [&](int round) {
    const std::string value = absl::StrCat("v", round);
    ASSERT_TRUE((*normal)
                    ->Send(Multibulk({"PING"}) +
                           Multibulk({"SET", "normal", value}) +
                           Multibulk({"GET", "normal"}))
                    .ok());
    const std::string want =
        absl::StrCat("+PONG\r\n+OK\r\n$", value.size(), "\r\n", value, "\r\n");
    ASSERT_EQ((*normal)->ReadExactly(want.size(), absl::Seconds(20)), want)
        << "round " << round;
  };
  // The value the never-reading clients ask for, then the baseline.
  ASSERT_TRUE((*normal)
                  ->Send(Multibulk({"SET", "big", std::string(1 << 20, 'b')}))
                  .ok());
  ASSERT_EQ((*normal)->ReadExactly(5), "+OK\r\n");
  check_normal_client(0);
  const int64_t baseline_kb = RssKb(pid);
  ASSERT_GT(baseline_kb, 0);

  std::mt19937 rng(7);
  const absl::Time start = absl::Now();
  int64_t peak_kb = baseline_kb;
  int connected = 0;
  for (int wave = 0; wave < kWaves; ++wave) {
    std::vector<int> fds;
    for (int i = 0; i < kPerWave; ++i) {
      const int fd = ConnectNonBlocking(port);
      ASSERT_GE(fd, 0) << "connect: " << std::strerror(errno);
      fds.push_back(fd);
    }
    // Connections complete in the background: each pass sends to every
    // connection that is ready, until all sent or 20 s passed.
    std::vector<std::string> bytes;
    for (int i = 0; i < kPerWave; ++i) {
      bytes.push_back(HostileBytes(wave * kPerWave + i, &rng));
    }
    std::vector<int> pending(kPerWave);
    for (int i = 0; i < kPerWave; ++i) pending[i] = i;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!pending.empty() && absl::Now() < deadline) {
      std::vector<int> again;
      for (int i : pending) {
        const ssize_t n = send(fds[i], bytes[i].data(), bytes[i].size(),
                               MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
          ++connected;
        } else if (n < 0 && (errno == EAGAIN || errno == ENOTCONN)) {
          again.push_back(i);
        }
      }
      pending.swap(again);
      if (!pending.empty()) absl::SleepFor(absl::Milliseconds(1));
    }
    check_normal_client(wave + 1);
    peak_kb = std::max(peak_kb, RssKb(pid));
    std::cerr << "wave " << wave << " sent at " << absl::Now() - start << "\n";
    for (int fd : fds) close(fd);
    check_normal_client(wave + 1);
    peak_kb = std::max(peak_kb, RssKb(pid));
  }
  // Nearly every connection got its bytes out (some are refused while the
  // node closes earlier ones: their bytes are then not counted).
  EXPECT_GT(connected, kConnections * 9 / 10);
  EXPECT_LT(peak_kb - baseline_kb, kMaxRssGrowthKb)
      << "node RSS grew from " << baseline_kb << " KiB to " << peak_kb
      << " KiB";
  // A new client is served once the node has taken in the last wave's
  // closes (which a loaded machine may take a while to deliver).
  const absl::Time polling = absl::Now();
  const absl::Status fresh_served = PollUntil(
      [&] {
        auto fresh = RawConnection::Connect(address);
        return fresh.ok() &&
               (*fresh)->Send(Multibulk({"GET", "normal"})).ok() &&
               (*fresh)->ReadExactly(8, absl::Seconds(2)) == "$2\r\nv5\r\n";
      },
      absl::Seconds(60), "a new client to be served");
  EXPECT_TRUE(fresh_served.ok()) << fresh_served;
  std::cerr << "a new client was served after " << absl::Now() - polling
            << "\n";
  std::cerr << "RSS baseline " << baseline_kb << " KiB, peak " << peak_kb
            << " KiB over " << kConnections << " hostile connections\n";
}

}  // namespace
}  // namespace slotcache::testing
