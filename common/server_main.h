// The shared life cycle of a slotcache server binary: start an RpcServer,
// announce its address, serve until SIGTERM/SIGINT, shut down cleanly.
//
// Used by node/main.cc and coordinator/main.cc so every server behaves the
// same for operators and for the test harness (which waits for
// `--address_file`).
#ifndef SLOTCACHE_COMMON_SERVER_MAIN_H_
#define SLOTCACHE_COMMON_SERVER_MAIN_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/rpc.h"

namespace slotcache {

struct ServeOptions {
  // Name used in log lines, e.g. "slotcache-node".
  std::string name;
  RpcServerOptions rpc;
  // When set, the bound "host:port" is written here (atomically, via a
  // rename) once the server accepts calls.
  std::string address_file;
  // How long running calls may take to finish on shutdown.
  absl::Duration shutdown_grace = absl::Seconds(5);
};

// Starts the server and blocks until a shutdown signal. `on_started` runs
// with the bound address before the address is announced; `on_shutdown`
// runs after the signal and before the server stops (stop background
// loops there). Returns a non-OK status when the server cannot start.
absl::Status ServeUntilSignal(
    const ServeOptions& options, const std::vector<grpc::Service*>& services,
    const std::function<absl::Status(const std::string& address)>& on_started,
    const std::function<void()>& on_shutdown);

// Writes `contents` to `path` via a temporary file and rename, so readers
// never see a partial file.
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& contents);

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_SERVER_MAIN_H_
