#include "common/metrics/metrics_server.h"

#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/server_main.h"

namespace slotcache {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen, const std::string& address_file) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address '", listen,
        "' is not HOST:PORT; give e.g. 127.0.0.1:9100 (port 0 picks a free "
        "port)"));
  }
  const std::string host = listen.substr(0, colon);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // One thread is plenty for a scrape every few seconds; a second one
    // keeps a slow scraper from blocking another.
    exposer = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listen, ": ", e.what(),
                     "; pick a free port (or 0) with --metrics_listen"));
  }
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty() || ports[0] <= 0) {
    return absl::UnavailableError(
        absl::StrCat("metrics server on ", listen,
                     " did not report its bound port; give a fixed port in "
                     "--metrics_listen"));
  }
  std::string address = absl::StrCat(host, ":", ports[0]);
  if (!address_file.empty()) {
    if (absl::Status s = WriteFileAtomically(address_file, address); !s.ok()) {
      return absl::Status(
          s.code(),
          absl::StrCat("cannot write the metrics address file: ", s.message()));
    }
  }
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(std::move(exposer), std::move(address)));
}

MetricsServer::MetricsServer(std::unique_ptr<prometheus::Exposer> exposer,
                             std::string address)
    : address_(std::move(address)), exposer_(std::move(exposer)) {}

MetricsServer::~MetricsServer() { exposer_.reset(); }

void MetricsServer::Add(std::shared_ptr<prometheus::Collectable> collectable) {
  exposer_->RegisterCollectable(collectable);
  collectables_.push_back(std::move(collectable));
}

}  // namespace slotcache
