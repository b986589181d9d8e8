// slotcache-coordinator: the control plane (members, slot map, epochs,
// failover). Flags, wiring, run.
#include <string>

#include "absl/flags/flag.h"
#include "common/logging.h"
#include "common/process.h"
#include "common/server_main.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:6999",
          "HOST:PORT to serve on; port 0 picks a free port.");
ABSL_FLAG(std::string, address_file, "",
          "If set, write the bound HOST:PORT to this file once serving.");

int main(int argc, char** argv) {
  slotcache::BlockShutdownSignals();
  slotcache::ParseFlags(
      argc, argv,
      "slotcache-coordinator: the slotcache control plane.\n\n"
      "Usage: slotcache-coordinator --listen=HOST:PORT [flags]");
  slotcache::ServeOptions options;
  options.name = "slotcache-coordinator";
  options.rpc.listen_address = absl::GetFlag(FLAGS_listen);
  options.address_file = absl::GetFlag(FLAGS_address_file);
  absl::Status status =
      slotcache::ServeUntilSignal(options, {}, nullptr, nullptr);
  if (!status.ok()) {
    SC_LOG(ERROR, "slotcache-coordinator: %s", status.ToString());
    return 1;
  }
  return 0;
}
