// NetnsLab: a test-private network for partition (chaos) tests.
//
// One Linux bridge on the host with address 10.213.X.1/24 and N network
// namespaces, each joined to the bridge by a veth pair and given the
// address 10.213.X.(i + 2). X is a /24 no other interface of the host uses
// at creation time (chosen under a file lock, so labs of tests running in
// parallel never share a subnet), and the names carry the test's pid, so
// the subnet and every interface exist only inside what this test created.
// The test process, and servers it starts on the host listening on
// host_address(), reach every namespace through the bridge; namespaces
// reach each other the same way.
//
//   Cut(i)  sets namespace i's bridge-side veth down: a full partition of
//           that namespace from the host and the other namespaces (packets
//           are dropped, connections are not reset — like a pulled cable).
//           Processes inside it still reach each other over its own
//           addresses.
//   Heal(i) sets it up again.
//
// The destructor removes the namespaces (killing what still runs in them),
// the veths and the bridge. Create() first removes what a crashed earlier
// run of the same test left behind (names with a pid that no longer runs).
//
// Needs root and `ip` from iproute2 (deploy/setup.sh installs it);
// UnavailableReason() says why a test should GTEST_SKIP otherwise.
//
// One lab per process at a time (the names carry the pid).
//
// Thread-safety: not thread-safe; use from the test's main thread.
#ifndef SLOTCACHE_TESTS_HARNESS_NETNS_H_
#define SLOTCACHE_TESTS_HARNESS_NETNS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/process.h"

namespace slotcache::testing {

class NetnsLab {
 public:
  // Why labs cannot be built here (not root, no `ip`, `ip netns` fails);
  // nullopt when they can.
  static std::optional<std::string> UnavailableReason();

  // `test_name`: short, [a-z0-9-] (part of the namespace names).
  static absl::StatusOr<std::unique_ptr<NetnsLab>> Create(
      const std::string& test_name, int namespaces);

  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;
  ~NetnsLab();

  int size() const { return static_cast<int>(namespaces_.size()); }
  // The host's address on the bridge (listen here to be reachable from
  // the namespaces).
  const std::string& host_address() const { return host_address_; }
  // Namespace i's address and name.
  const std::string& address(int i) const { return namespaces_[i].address; }
  const std::string& name(int i) const { return namespaces_[i].name; }

  // Starts `binary` with `args` inside namespace i (`ip netns exec`, which
  // execs it: the child's pid is the binary's); output goes to `log_path`.
  absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      int i, const std::string& binary, const std::vector<std::string>& args,
      const std::string& log_path) const;

  // A slotcache server inside namespace i, started like StartServer() in
  // process.h but listening on address(i) port 0.
  absl::StatusOr<ServerProcess> StartServer(
      int i, const std::string& binary, const std::vector<std::string>& args,
      absl::Duration timeout = absl::Seconds(30)) const;

  absl::Status Cut(int i);
  absl::Status Heal(int i);

 private:
  struct Namespace {
    std::string name;        // ip netns name
    std::string host_veth;   // bridge side, on the host
    std::string inner_veth;  // inside the namespace
    std::string address;
  };

  explicit NetnsLab(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Build(const std::string& test_name, int namespaces);

  const std::string dir_;  // logs of the `ip` runs
  std::string bridge_;
  std::string host_address_;
  std::vector<Namespace> namespaces_;
};

}  // namespace slotcache::testing

#endif  // SLOTCACHE_TESTS_HARNESS_NETNS_H_
