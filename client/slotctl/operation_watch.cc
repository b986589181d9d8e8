#include "client/slotctl/operation_watch.h"

#include <signal.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "client/slotctl/command_util.h"
#include "client/slotctl/progress.h"
#include "google/protobuf/util/json_util.h"

namespace slotcache::slotctl {
namespace {

class CoordinatorOperationSource : public OperationSource {
 public:
  explicit CoordinatorOperationSource(const Context& ctx)
      : ctx_(ctx), stub_(CoordinatorStub(ctx)) {}

  grpc::Status Get(const std::string& id, v1::Operation* op) override {
    v1::GetOperationRequest request;
    request.set_operation_id(id);
    auto context = CallContext(ctx_);
    return stub_->GetOperation(context.get(), request, op);
  }

 private:
  const Context& ctx_;
  std::unique_ptr<v1::CoordinatorService::Stub> stub_;
};

// A signal handler may only touch lock-free atomics, hence this global.
// Set by the first SIGINT of a watch; SA_RESETHAND makes a second Ctrl-C
// kill the process as usual.
std::atomic<bool> g_sigint{false};

void OnSigint(int) { g_sigint.store(true); }

// Installs OnSigint for its lifetime (when `active`) and restores the
// previous disposition.
class ScopedSigint {
 public:
  explicit ScopedSigint(bool active) : active_(active) {
    if (!active_) return;
    g_sigint.store(false);
    struct sigaction action = {};
    action.sa_handler = OnSigint;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_);
  }
  ~ScopedSigint() {
    if (active_) sigaction(SIGINT, &previous_, nullptr);
  }
  ScopedSigint(const ScopedSigint&) = delete;
  ScopedSigint& operator=(const ScopedSigint&) = delete;

 private:
  const bool active_;
  struct sigaction previous_ = {};
};

std::string CompactJson(const v1::Operation& op) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(op, &json, options);
  return json;
}

// What the non-TTY output treats as "changed": everything but timestamps.
std::string ChangeKey(const v1::Operation& op) {
  return absl::StrCat(op.migration().SerializeAsString(), "|", op.progress(),
                      "|", op.cancel_requested(), "|", op.state());
}

// How far the watch has printed, so each mode prints only what is new.
class Printer {
 public:
  Printer(const Context& ctx, const WatchOptions& options)
      : ctx_(ctx), options_(options) {}

  void Update(const v1::Operation& op, absl::Time now) {
    rate_.Observe(op.migration(), now);
    if (ctx_.output == OutputFormat::kJson) {
      std::string json = CompactJson(op);
      if (json != last_json_) *ctx_.out << json << "\n" << std::flush;
      last_json_ = std::move(json);
      return;
    }
    const absl::Time created = op.created_unix_ms() > 0
                                   ? absl::FromUnixMillis(op.created_unix_ms())
                                   : now;
    const std::string line = FormatProgressLine(
        op, rate_.Eta(), std::max(absl::ZeroDuration(), now - created));
    if (ctx_.tty) {
      // Redraw in place; \x1b[K clears what a longer line left behind.
      *ctx_.out << "\r" << line << "\x1b[K" << std::flush;
      line_open_ = true;
      return;
    }
    const std::string key = ChangeKey(op);
    const absl::Duration since = now - last_line_;
    const bool due = key != last_key_ ? since >= options_.min_line_interval
                                      : since >= options_.max_line_interval;
    if (last_key_.empty() || due) {
      *ctx_.out << line << "\n" << std::flush;
      last_key_ = key;
      last_line_ = now;
    }
  }

  // Ends a redrawn line so what follows starts on its own line.
  void EndLine() {
    if (line_open_) *ctx_.out << "\n" << std::flush;
    line_open_ = false;
  }

 private:
  const Context& ctx_;
  const WatchOptions& options_;
  ProgressRate rate_;
  std::string last_json_;
  std::string last_key_;
  absl::Time last_line_ = absl::InfinitePast();
  bool line_open_ = false;
};

int Finish(const Context& ctx, const v1::Operation& op) {
  const bool ok = op.state() == v1::Operation::SUCCEEDED;
  if (ctx.output == OutputFormat::kHuman) {
    (ok ? *ctx.out : *ctx.err) << FormatSummary(op) << "\n";
  } else if (!ok) {
    *ctx.err << "slotctl: " << op.id() << " " << op.kind() << " "
             << v1::Operation::State_Name(op.state()) << ": "
             << (op.message().empty() ? op.progress() : op.message()) << "\n";
  }
  return ok ? kExitOk : kExitFailed;
}

}  // namespace

std::unique_ptr<OperationSource> CoordinatorOperations(const Context& ctx) {
  return std::make_unique<CoordinatorOperationSource>(ctx);
}

WatchOptions CommandWatchOptions() {
  WatchOptions options;
  options.handle_sigint = true;
  return options;
}

int WatchOperation(const Context& ctx, OperationSource& source,
                   const std::string& id, const WatchOptions& options) {
  ScopedSigint sigint(options.handle_sigint);
  const std::atomic<bool>* interrupted =
      options.handle_sigint ? &g_sigint : options.interrupted;
  Printer printer(ctx, options);
  std::optional<absl::Time> unreachable_since;
  // An outage is ridden out only once the coordinator answered: a wrong
  // --coordinator fails at once.
  bool answered = false;
  while (true) {
    if (interrupted != nullptr && interrupted->load()) {
      printer.EndLine();
      *ctx.err << "slotctl: stopped watching " << id
               << "; the operation keeps running. Watch it again with "
                  "`slotctl operation watch "
               << id << "`, cancel it with `slotctl operation cancel " << id
               << "`\n";
      return kExitInterrupted;
    }
    v1::Operation op;
    grpc::Status status = source.Get(id, &op);
    const absl::Time now = options.now();
    if (status.ok()) {
      answered = true;
      unreachable_since.reset();
      printer.Update(op, now);
      if (op.state() != v1::Operation::RUNNING) {
        printer.EndLine();
        return Finish(ctx, op);
      }
    } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
               status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      // A coordinator restart is survivable: operations are persisted.
      if (!unreachable_since.has_value()) unreachable_since = now;
      if (!answered) {
        return Fail(ctx, absl::StrCat("watching ", id), status,
                    ctx.coordinator);
      }
      if (now - *unreachable_since >= options.unreachable_timeout) {
        printer.EndLine();
        Fail(ctx, absl::StrCat("watching ", id), status, ctx.coordinator);
        *ctx.err << "slotctl: gave up after "
                 << absl::FormatDuration(options.unreachable_timeout)
                 << " without an answer; " << id
                 << " may still run: `slotctl operation watch " << id
                 << "` follows it again\n";
        return kExitFailed;
      }
    } else {
      printer.EndLine();
      if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
        *ctx.err << "slotctl: the coordinator has no operation '" << id << "' ("
                 << status.error_message()
                 << "); `slotctl operations` lists them\n";
        return kExitFailed;
      }
      return Fail(ctx, absl::StrCat("watching ", id), status, ctx.coordinator);
    }
    options.sleep(options.poll_interval);
  }
}

}  // namespace slotcache::slotctl
