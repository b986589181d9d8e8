#include "common/server_main.h"

#include <cstdio>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/process.h"

namespace slotcache {

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& contents) {
  std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << contents;
    if (!out.good()) {
      return absl::InternalError(absl::StrCat(
          "cannot write ", tmp, "; check the folder exists and is writable"));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::Status ServeUntilSignal(
    const ServeOptions& options, const std::vector<grpc::Service*>& services,
    const std::function<absl::Status(const std::string& address)>& on_started,
    const std::function<void()>& on_shutdown) {
  absl::StatusOr<std::unique_ptr<RpcServer>> server =
      RpcServer::Start(options.rpc, services);
  if (!server.ok()) return server.status();
  const std::string& address = (*server)->address();
  if (on_started) {
    absl::Status started = on_started(address);
    if (!started.ok()) {
      (*server)->Shutdown(absl::ZeroDuration());
      return started;
    }
  }
  if (!options.address_file.empty()) {
    absl::Status written = WriteFileAtomically(options.address_file, address);
    if (!written.ok()) return written;
  }
  SC_LOG(INFO, "%s serving on %s", options.name, address);

  std::string signal = WaitForShutdownSignal();
  SC_LOG(INFO, "%s received %s, shutting down", options.name, signal);
  if (on_shutdown) on_shutdown();
  (*server)->Shutdown(options.shutdown_grace);
  SC_LOG(INFO, "%s stopped", options.name);
  return absl::OkStatus();
}

}  // namespace slotcache
