#include "tests/bench/failover_probe/resp_cluster_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/slot.h"
#include "gtest/gtest.h"

namespace slotcache::bench {
namespace {

// A RESP server on 127.0.0.1:0 that answers each command with
// `answer(words)`; one connection at a time (the client keeps one per
// address).
class FakeRespServer {
 public:
  using Answer = std::function<std::string(const std::vector<std::string>&)>;

  explicit FakeRespServer(Answer answer) : answer_(std::move(answer)) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa = {};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(sa);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
        listen(listener_, 4) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&sa), &length) !=
            0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    address_ = absl::StrCat("127.0.0.1:", ntohs(sa.sin_port));
    thread_ = std::thread([this] { Serve(); });
  }

  ~FakeRespServer() {
    stopping_ = true;
    shutdown(listener_, SHUT_RDWR);
    const int client = client_.exchange(-1);
    if (client >= 0) shutdown(client, SHUT_RDWR);
    thread_.join();
    close(listener_);
  }

  const std::string& address() const { return address_; }
  int sets() const { return sets_; }

 private:
  void Serve() {
    while (!stopping_) {
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      client_ = fd;
      std::string buffer;
      char chunk[4096];
      ssize_t n;
      while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0) {
        buffer.append(chunk, static_cast<size_t>(n));
        RespValue command;
        absl::StatusOr<size_t> used;
        while ((used = ParseReply(buffer, &command)).ok() && *used > 0) {
          buffer.erase(0, *used);
          std::vector<std::string> words;
          for (const RespValue& word : command.elements) {
            words.push_back(word.text);
          }
          if (!words.empty() && words[0] == "SET") ++sets_;
          const std::string reply = answer_(words);
          (void)send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
        }
      }
      client_ = -1;
      close(fd);
    }
  }

  const Answer answer_;
  int listener_ = -1;
  std::string address_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> client_{-1};
  std::atomic<int> sets_{0};
  std::thread thread_;
};

// CLUSTER SLOTS naming `address` as the owner of every slot.
std::string AllSlotsAt(const std::string& address) {
  const std::string host = address.substr(0, address.find(':'));
  const std::string port = address.substr(address.find(':') + 1);
  return absl::StrCat("*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$", host.size(),
                      "\r\n", host, "\r\n:", port, "\r\n");
}

const std::string kOk = "+OK\r\n";

TEST(RespClusterClientTest, FollowsMovedAndRoutesLaterWritesToTheNewOwner) {
  FakeRespServer owner([](const std::vector<std::string>&) { return kOk; });
  std::string old_address;  // Set before the client connects.
  FakeRespServer old_owner([&](const std::vector<std::string>& words) {
    if (words[0] == "CLUSTER") return AllSlotsAt(old_address);
    return absl::StrCat("-MOVED ", KeySlot(words[1]), " ", owner.address(),
                        "\r\n");
  });
  old_address = old_owner.address();
  RespClusterClient client({old_owner.address()}, RetryPolicy());
  ASSERT_TRUE(client.Connect(absl::Now() + absl::Seconds(5)).ok());

  ASSERT_TRUE(client.Set("k", "v1", absl::Now() + absl::Seconds(5)).ok());
  ASSERT_TRUE(client.Set("k", "v2", absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(old_owner.sets(), 1);
  EXPECT_EQ(owner.sets(), 2);
}

TEST(RespClusterClientTest, RetriesClusterDownUntilTheClusterServesAgain) {
  std::string self;
  std::atomic<int> refusals{3};
  FakeRespServer server([&](const std::vector<std::string>& words) {
    if (words[0] == "CLUSTER") return AllSlotsAt(self);
    if (refusals-- > 0)
      return std::string("-CLUSTERDOWN The cluster is down\r\n");
    return kOk;
  });
  self = server.address();
  RespClusterClient client({server.address()}, RetryPolicy());
  ASSERT_TRUE(client.Connect(absl::Now() + absl::Seconds(5)).ok());

  absl::Status status = client.Set("k", "v", absl::Now() + absl::Seconds(10));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(server.sets(), 4);
}

TEST(RespClusterClientTest, ReturnsTheLastErrorAtTheDeadline) {
  std::string self;
  FakeRespServer server([&](const std::vector<std::string>& words) {
    if (words[0] == "CLUSTER") return AllSlotsAt(self);
    return std::string("-CLUSTERDOWN The cluster is down\r\n");
  });
  self = server.address();
  RespClusterClient client({server.address()}, RetryPolicy());
  ASSERT_TRUE(client.Connect(absl::Now() + absl::Seconds(5)).ok());

  const absl::Time start = absl::Now();
  absl::Status status = client.Set("k", "v", start + absl::Milliseconds(200));
  const absl::Duration took = absl::Now() - start;
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("CLUSTERDOWN"), std::string::npos) << status;
  EXPECT_GE(server.sets(), 2);  // It retried.
  // Never later than the deadline by more than scheduling noise.
  EXPECT_LT(took, absl::Seconds(2)) << took;
}

TEST(RespClusterClientTest, UnreachableSeedsAreUnavailable) {
  int port = 0;
  {
    FakeRespServer gone([](const std::vector<std::string>&) { return kOk; });
    port = std::stoi(gone.address().substr(gone.address().find(':') + 1));
  }
  RespClusterClient client({absl::StrCat("127.0.0.1:", port)}, RetryPolicy());
  absl::Status status = client.Connect(absl::Now() + absl::Seconds(2));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

}  // namespace
}  // namespace slotcache::bench
