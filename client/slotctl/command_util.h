// Pieces every slotctl command group shares (commands.cc: cluster and key
// commands, failover_commands.cc: failover and primary rebalancing): the
// coordinator stub, call deadlines, error printing, JSON and table output.
//
// Thread-safety: functions are safe from any thread; a Table is a value.
#ifndef SLOTCACHE_CLIENT_SLOTCTL_COMMAND_UTIL_H_
#define SLOTCACHE_CLIENT_SLOTCTL_COMMAND_UTIL_H_

#include <algorithm>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client/slotctl/commands.h"
#include "google/protobuf/message.h"
#include "grpcpp/client_context.h"
#include "proto/coordinator.grpc.pb.h"

namespace slotcache::slotctl {

std::unique_ptr<v1::CoordinatorService::Stub> CoordinatorStub(
    const Context& ctx);

// A context whose deadline is ctx.timeout from now.
std::unique_ptr<grpc::ClientContext> CallContext(const Context& ctx);

// Prints a failed call as "slotctl: WHAT failed: why; what to do" and
// returns kExitFailed.
int Fail(const Context& ctx, absl::string_view what, const grpc::Status& status,
         absl::string_view server);

void PrintJson(const Context& ctx, const google::protobuf::Message& message);

// DescribeCluster; on failure prints why, sets *exit_code, returns nullopt.
std::optional<v1::ClusterMap> Describe(const Context& ctx, int* exit_code);

// A table printed with columns padded to their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header) {
    rows_.push_back(std::move(header));
  }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out) const {
    std::vector<size_t> widths;
    for (const auto& row : rows_) {
      widths.resize(std::max(widths.size(), row.size()), 0);
      for (size_t i = 0; i < row.size(); ++i) {
        widths[i] = std::max(widths[i], row[i].size());
      }
    }
    for (const auto& row : rows_) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        absl::StrAppend(&line, row[i]);
        if (i + 1 < row.size()) {
          line.append(widths[i] - row[i].size() + 2, ' ');
        }
      }
      out << line << "\n";
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_COMMAND_UTIL_H_
