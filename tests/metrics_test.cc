// /metrics end to end: a 3 x (1 + 1) cluster with every node and the
// coordinator serving metrics on loopback, some traffic, then a real
// Prometheus (Debian's /usr/bin/prometheus) scraping them all every second;
// its HTTP API must see every target up and answer queries for keys,
// commands and replication lag. Every endpoint's text must pass
// `promtool check metrics`.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/sdk/client.h"
#include "gtest/gtest.h"
#include "tests/cluster_harness.h"
#include "tests/harness/process.h"

namespace slotcache::testing {
namespace {

constexpr char kPrometheus[] = "/usr/bin/prometheus";
constexpr char kPromtool[] = "/usr/bin/promtool";
constexpr int kNodes = 6;
constexpr int kKeys = 300;

std::string TmpDir() { return std::getenv("TEST_TMPDIR"); }

// GET `path` from `address` (127.0.0.1:PORT) over HTTP/1.0; the body, or
// "" when the connection fails or the status is not 200.
std::string HttpGet(const std::string& address, const std::string& path) {
  const std::vector<std::string> parts = absl::StrSplit(address, ':');
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(parts.back())));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", address, "\r\n\r\n");
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (!absl::StartsWith(response, "HTTP/1.") ||
      response.find(" 200 ") > response.find("\r\n") ||
      body == std::string::npos) {
    return "";
  }
  return response.substr(body + 4);
}

// A port that was free a moment ago (Prometheus cannot report a port 0).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Runs `command` with sh; its exit code, output in `output`.
int Shell(const std::string& command, const std::string& log,
          std::string* output) {
  auto child = ChildProcess::Start("/bin/sh", {"-c", command}, log);
  if (!child.ok()) return -1;
  absl::StatusOr<int> code = (*child)->Wait(absl::Seconds(60));
  *output = (*child)->ReadLog();
  return code.ok() ? *code : -1;
}

// Percent-encodes a PromQL expression for a query string.
std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (isalnum(c) || c == '_' || c == '.' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrCat("%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

TEST(MetricsTest, PrometheusScrapesEveryNodeAndTheCoordinator) {
  if (access(kPrometheus, X_OK) != 0 || access(kPromtool, X_OK) != 0) {
    GTEST_SKIP() << kPrometheus << " or " << kPromtool
                 << " is not installed; run deploy/setup.sh (Debian package "
                    "'prometheus') to run this test";
  }
  TestCluster cluster;
  const std::string coordinator_file = TmpDir() + "/coordinator.metrics";
  cluster.set_extra_coordinator_flags(
      {"--metrics_listen=127.0.0.1:0",
       absl::StrCat("--metrics_address_file=", coordinator_file)});
  ASSERT_TRUE(cluster.StartCoordinator().ok());
  std::vector<std::string> targets = {ReadFirstLine(coordinator_file)};
  for (int i = 0; i < kNodes; ++i) {
    const std::string file = absl::StrCat(TmpDir(), "/node-", i, ".metrics");
    cluster.set_extra_node_flags(
        {"--metrics_listen=127.0.0.1:0",
         absl::StrCat("--metrics_address_file=", file)});
    ASSERT_TRUE(cluster.StartNodes(1).ok());
    targets.push_back(ReadFirstLine(file));
  }
  for (const std::string& t : targets) ASSERT_FALSE(t.empty());
  ASSERT_TRUE(cluster.CreateCluster(3, 1).ok());
  ASSERT_TRUE(cluster.WaitReplicasSynced().ok());

  // Traffic through the SDK, routed to every shard.
  {
    ClientOptions options;
    options.seeds = {cluster.node_address(0)};
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status();
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_TRUE((*client)->Set(absl::StrCat("key-", i), "value").ok());
      ASSERT_TRUE((*client)->Get(absl::StrCat("key-", i)).ok());
    }
  }

  // promtool on every endpoint's exposition.
  for (size_t i = 0; i < targets.size(); ++i) {
    const std::string body = HttpGet(targets[i], "/metrics");
    ASSERT_FALSE(body.empty()) << "no /metrics from " << targets[i];
    const std::string file = absl::StrCat(TmpDir(), "/scrape-", i, ".txt");
    std::ofstream(file) << body;
    std::string output;
    EXPECT_EQ(Shell(absl::StrCat(kPromtool, " check metrics < ", file),
                    file + ".promtool", &output),
              0)
        << targets[i] << ": " << output;
    EXPECT_EQ(output, "") << targets[i] << ": promtool is not clean";
  }

  // A real Prometheus scraping them all every second.
  const std::string config = TmpDir() + "/prometheus.yml";
  {
    std::ofstream out(config);
    out << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "scrape_configs:\n  - job_name: slotcache\n    static_configs:\n"
        << "      - targets: [";
    for (size_t i = 0; i < targets.size(); ++i) {
      out << (i ? ", " : "") << "'" << targets[i] << "'";
    }
    out << "]\n";
  }
  const std::string web = absl::StrCat("127.0.0.1:", FreePort());
  auto prometheus = ChildProcess::Start(
      kPrometheus,
      {absl::StrCat("--config.file=", config),
       absl::StrCat("--storage.tsdb.path=", TmpDir(), "/tsdb"),
       absl::StrCat("--web.listen-address=", web)},
      TmpDir() + "/prometheus.log");
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();

  auto poll = [&](const std::string& what, auto&& ok) {
    std::string last;
    absl::Status s = PollUntil(
        [&] {
          last = ok();
          return last.empty();
        },
        absl::Seconds(60), what);
    EXPECT_TRUE(s.ok()) << s << ": " << last << "\nprometheus log:\n"
                        << (*prometheus)->ReadLog().substr(0, 4000);
  };
  poll("every target up in Prometheus", [&]() -> std::string {
    const std::string body = HttpGet(web, "/api/v1/targets?state=active");
    size_t up = 0;
    for (size_t at = body.find("\"health\":\"up\""); at != std::string::npos;
         at = body.find("\"health\":\"up\"", at + 1)) {
      ++up;
    }
    return up == targets.size() ? "" : body;
  });
  // `query` must answer one sample whose value text contains `value`
  // ("" for any value).
  auto query = [&](const std::string& promql, const std::string& value) {
    poll(promql, [&]() -> std::string {
      const std::string body =
          HttpGet(web, "/api/v1/query?query=" + UrlEncode(promql));
      const bool ok = absl::StrContains(body, "\"status\":\"success\"") &&
                      absl::StrContains(body, "\"result\":[{") &&
                      absl::StrContains(body, value);
      return ok ? "" : body;
    });
  };
  query(
      "sum(slotcache_keys and on(instance) slotcache_role{role=\"primary\"} "
      "== 1)",
      absl::StrCat("\"", kKeys, "\"]"));
  query("sum(slotcache_keys)", absl::StrCat("\"", 2 * kKeys, "\"]"));
  query(
      "sum(slotcache_commands_total{command=\"set\"} and on(instance) "
      "slotcache_role{role=\"primary\"} == 1)",
      "");
  query("sum(slotcache_commands_processed_total) >= " + absl::StrCat(2 * kKeys),
        "");
  query("count(slotcache_replication_lag_seconds) == 3", "");
  query("slotcache_coordinator_shards", "\"3\"]");
  query("sum(slotcache_shard_primary_healthy)", "\"3\"]");
  query(
      "histogram_quantile(0.99, sum by (le) "
      "(rate(slotcache_command_duration_seconds_bucket{command=\"get\"}[1m])))",
      "");

  EXPECT_TRUE((*prometheus)->Signal(SIGTERM).ok());
  (void)(*prometheus)->Wait(absl::Seconds(30));
}

}  // namespace
}  // namespace slotcache::testing
