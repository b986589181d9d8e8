#include "tests/harness/netns.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace slotcache::testing {
namespace {

// The private test range: 10.213.X.0/24, X in [1, 254].
constexpr char kSubnetPrefix[] = "10.213.";
// Serialises subnet choice between labs of parallel tests.
constexpr char kLockPath[] = "/tmp/slotcache-netns.lock";

// Bazel's test PATH has no sbin, so look where Debian puts `ip`.
std::string IpBinary() {
  for (const char* path :
       {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// Runs `ip args...`; its output, or an error quoting it.
absl::StatusOr<std::string> RunIp(const std::vector<std::string>& args,
                                  const std::string& dir) {
  static int runs = 0;
  const std::string ip = IpBinary();
  if (ip.empty()) {
    return absl::NotFoundError(
        "ip (iproute2) is not installed; run deploy/setup.sh");
  }
  auto process =
      ChildProcess::Start(ip, args, absl::StrCat(dir, "/ip-", runs++, ".log"));
  if (!process.ok()) return process.status();
  absl::StatusOr<int> code = (*process)->Wait(absl::Seconds(10));
  std::string output = (*process)->ReadLog();
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(absl::StrCat("ip ", absl::StrJoin(args, " "),
                                            " exited ", *code, ": ", output));
  }
  return output;
}

// Best effort, for cleanup paths.
void RunIpQuietly(const std::vector<std::string>& args,
                  const std::string& dir) {
  (void)RunIp(args, dir);
}

std::string NamespacePrefix(const std::string& test_name) {
  return absl::StrCat("sc-", test_name, "-");
}

// Kills what still runs in namespace `name`, then deletes it.
void DeleteNamespace(const std::string& name, const std::string& dir) {
  absl::StatusOr<std::string> pids = RunIp({"netns", "pids", name}, dir);
  if (pids.ok()) {
    for (absl::string_view line : absl::StrSplit(*pids, '\n')) {
      pid_t pid = 0;
      if (absl::SimpleAtoi(line, &pid) && pid > 0) kill(pid, SIGKILL);
    }
  }
  RunIpQuietly({"netns", "del", name}, dir);
}

// True when `pid` is not this process and no process has it: what a lab
// named after it left behind is garbage.
bool IsDeadPid(pid_t pid) {
  return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH;
}

// The pid in a name "<prefix><pid><rest>", or 0.
pid_t PidIn(absl::string_view name, absl::string_view prefix) {
  if (!absl::ConsumePrefix(&name, prefix)) return 0;
  const size_t digits = name.find_first_not_of("0123456789");
  pid_t pid = 0;
  return absl::SimpleAtoi(name.substr(0, digits), &pid) ? pid : 0;
}

// Removes what crashed earlier runs left: the namespaces of `test_name`
// ("sc-<test>-<pid>-<i>", killing what still runs in them), then any
// lab's bridge ("scb<pid>") or veth ("scv<pid>n<i>") whose pid is gone —
// those names carry no test name, but a dead process's lab is garbage
// whoever made it, and its bridge would keep its subnet taken.
void SweepLeftovers(const std::string& test_name, const std::string& dir) {
  if (absl::StatusOr<std::string> list = RunIp({"netns", "list"}, dir);
      list.ok()) {
    const std::string prefix = NamespacePrefix(test_name);
    for (absl::string_view line : absl::StrSplit(*list, '\n')) {
      const absl::string_view name = line.substr(0, line.find(' '));
      const pid_t pid = PidIn(name, prefix);
      if (pid > 0 && IsDeadPid(pid)) DeleteNamespace(std::string(name), dir);
    }
  }
  // "7: scb123: <BROADCAST,..." / "9: scv123n0@if8: <...".
  if (absl::StatusOr<std::string> links = RunIp({"-o", "link", "show"}, dir);
      links.ok()) {
    for (absl::string_view line : absl::StrSplit(*links, '\n')) {
      std::vector<absl::string_view> fields =
          absl::StrSplit(line, absl::MaxSplits(": ", 2));
      if (fields.size() < 2) continue;
      const absl::string_view name = fields[1].substr(0, fields[1].find('@'));
      pid_t pid = PidIn(name, "scb");
      if (pid == 0) pid = PidIn(name, "scv");
      if (pid > 0 && IsDeadPid(pid)) {
        RunIpQuietly({"link", "del", std::string(name)}, dir);
      }
    }
  }
}

// A /24 of the test range that no interface of the host uses yet.
absl::StatusOr<int> FreeSubnet(const std::string& dir) {
  absl::StatusOr<std::string> addresses =
      RunIp({"-o", "-4", "addr", "show"}, dir);
  if (!addresses.ok()) return addresses.status();
  for (int x = 1; x <= 254; ++x) {
    if (!absl::StrContains(*addresses, absl::StrCat(kSubnetPrefix, x, "."))) {
      return x;
    }
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "every 10.213.X.0/24 is in use on this host; remove leftover test "
      "bridges (ip -br addr | grep 10.213.)"));
}

}  // namespace

std::optional<std::string> NetnsLab::UnavailableReason() {
  if (geteuid() != 0) {
    return "network-namespace tests need root (CI runs them as root)";
  }
  if (IpBinary().empty()) {
    return "ip (iproute2) is not installed; run deploy/setup.sh";
  }
  absl::StatusOr<std::string> list =
      RunIp({"netns", "list"}, NewTempDir("netns-check"));
  if (!list.ok()) {
    return absl::StrCat("`ip netns` is unavailable here: ",
                        list.status().message());
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<NetnsLab>> NetnsLab::Create(
    const std::string& test_name, int namespaces) {
  if (namespaces < 1 || namespaces > 99) {
    return absl::InvalidArgumentError(
        absl::StrCat("a lab has 1 to 99 namespaces, not ", namespaces));
  }
  std::unique_ptr<NetnsLab> lab(new NetnsLab(NewTempDir("netns")));
  SweepLeftovers(test_name, lab->dir_);
  if (absl::Status built = lab->Build(test_name, namespaces); !built.ok()) {
    return built;  // The destructor removes what was built.
  }
  return lab;
}

absl::Status NetnsLab::Build(const std::string& test_name, int namespaces) {
  const pid_t pid = getpid();
  bridge_ = absl::StrCat("scb", pid);
  int subnet = 0;
  {
    const int lock = open(kLockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot lock ", kLockPath, ": ", std::strerror(errno)));
    }
    absl::StatusOr<int> free = FreeSubnet(dir_);
    absl::Status added = free.status();
    if (free.ok()) {
      subnet = *free;
      host_address_ = absl::StrCat(kSubnetPrefix, subnet, ".1");
      // nf_call_iptables 0: frames between two namespaces cross the bridge
      // without passing the host's netfilter FORWARD chain (where
      // bridge-nf-call-iptables=1 and a DROP policy would silently cut
      // replicas off their primary). Only this bridge is affected.
      added = RunIp({"link", "add", bridge_, "type", "bridge",
                     "nf_call_iptables", "0", "nf_call_ip6tables", "0"},
                    dir_)
                  .status();
      if (added.ok()) {
        added = RunIp({"addr", "add", absl::StrCat(host_address_, "/24"), "dev",
                       bridge_},
                      dir_)
                    .status();
      }
    }
    close(lock);  // Releases the lock; the subnet is now visibly taken.
    if (!added.ok()) return added;
  }
  if (absl::Status s = RunIp({"link", "set", bridge_, "up"}, dir_).status();
      !s.ok()) {
    return s;
  }
  for (int i = 0; i < namespaces; ++i) {
    Namespace ns;
    ns.name = absl::StrCat(NamespacePrefix(test_name), pid, "-", i);
    ns.host_veth = absl::StrCat("scv", pid, "n", i);
    ns.inner_veth = absl::StrCat("scp", pid, "n", i);
    ns.address = absl::StrCat(kSubnetPrefix, subnet, ".", i + 2);
    namespaces_.push_back(ns);
    const std::vector<std::vector<std::string>> steps = {
        {"netns", "add", ns.name},
        {"link", "add", ns.host_veth, "type", "veth", "peer", "name",
         ns.inner_veth},
        {"link", "set", ns.inner_veth, "netns", ns.name},
        {"link", "set", ns.host_veth, "master", bridge_, "up"},
        {"-n", ns.name, "addr", "add", absl::StrCat(ns.address, "/24"), "dev",
         ns.inner_veth},
        {"-n", ns.name, "link", "set", ns.inner_veth, "up"},
        {"-n", ns.name, "link", "set", "lo", "up"},
    };
    for (const std::vector<std::string>& step : steps) {
      if (absl::Status s = RunIp(step, dir_).status(); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

NetnsLab::~NetnsLab() {
  for (const Namespace& ns : namespaces_) {
    DeleteNamespace(ns.name, dir_);
    // Deleting the namespace destroys the inner end, and with it the pair;
    // this covers a veth that never made it into the namespace.
    RunIpQuietly({"link", "del", ns.host_veth}, dir_);
  }
  if (!bridge_.empty()) RunIpQuietly({"link", "del", bridge_}, dir_);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> NetnsLab::Start(
    int i, const std::string& binary, const std::vector<std::string>& args,
    const std::string& log_path) const {
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(
        binary, " is not an executable; add it to the test's data"));
  }
  std::vector<std::string> full = {"netns", "exec", namespaces_[i].name,
                                   binary};
  full.insert(full.end(), args.begin(), args.end());
  return ChildProcess::Start(IpBinary(), full, log_path);
}

absl::StatusOr<ServerProcess> NetnsLab::StartServer(
    int i, const std::string& binary, const std::vector<std::string>& args,
    absl::Duration timeout) const {
  const std::string dir = NewTempDir("server");
  const std::string address_file = absl::StrCat(dir, "/address");
  std::vector<std::string> full = args;
  full.push_back(absl::StrCat("--listen=", namespaces_[i].address, ":0"));
  full.push_back(absl::StrCat("--address_file=", address_file));
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      Start(i, binary, full, absl::StrCat(dir, "/log"));
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> address =
      WaitForAddressFile(address_file, **process, timeout);
  if (!address.ok()) return address.status();
  return ServerProcess{std::move(*process), *address};
}

absl::Status NetnsLab::Cut(int i) {
  return RunIp({"link", "set", namespaces_[i].host_veth, "down"}, dir_)
      .status();
}

absl::Status NetnsLab::Heal(int i) {
  return RunIp({"link", "set", namespaces_[i].host_veth, "up"}, dir_).status();
}

}  // namespace slotcache::testing
