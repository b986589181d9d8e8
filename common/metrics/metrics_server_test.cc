// MetricsServer on 127.0.0.1:0, scraped over a real socket.
#include "common/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "common/metrics/families.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace slotcache {
namespace {

using ::testing::HasSubstr;

class OneGauge : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    metrics::AddGauge(&out, "test_answer", "The answer.", 42);
    return out;
  }
};

// GET /metrics from 127.0.0.1:port; the whole HTTP response.
std::string Scrape(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request =
      "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
  close(fd);
  return response;
}

int PortOf(const std::string& address) {
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port));
  return port;
}

TEST(MetricsServerTest, ServesCollectablesOnAPickedPortAndWritesIt) {
  const std::string file = std::string(getenv("TEST_TMPDIR")) + "/metrics.addr";
  auto server = MetricsServer::Start("127.0.0.1:0", file);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = PortOf((*server)->address());
  EXPECT_GT(port, 0);
  std::ifstream in(file);
  std::string written;
  std::getline(in, written);
  EXPECT_EQ(written, (*server)->address());

  (*server)->Add(std::make_shared<OneGauge>());
  const std::string response = Scrape(port);
  EXPECT_THAT(response, HasSubstr("200 OK"));
  EXPECT_THAT(response, HasSubstr("# TYPE test_answer gauge\ntest_answer 42"));
}

TEST(MetricsServerTest, MalformedAddressIsInvalidArgument) {
  for (const char* bad :
       {"", "localhost", ":9100", "127.0.0.1:x", "127.0.0.1:70000"}) {
    auto server = MetricsServer::Start(bad, "");
    EXPECT_TRUE(absl::IsInvalidArgument(server.status())) << bad;
  }
}

TEST(MetricsServerTest, PortInUseIsUnavailableAndSaysWhatToDo) {
  auto first = MetricsServer::Start("127.0.0.1:0", "");
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = MetricsServer::Start((*first)->address(), "");
  ASSERT_TRUE(absl::IsUnavailable(second.status())) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr("--metrics_listen"));
}

}  // namespace
}  // namespace slotcache
