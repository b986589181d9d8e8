// WatchOperation against a scripted fake OperationSource and a fake clock
// (no server, no sleeping).
#include "client/slotctl/operation_watch.h"

#include <algorithm>
#include <deque>
#include <sstream>
#include <vector>

#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace slotcache::slotctl {
namespace {

// Answers with the scripted replies in order, then repeats the last one.
class FakeOperations : public OperationSource {
 public:
  void Reply(v1::Operation op) { replies_.push_back({grpc::Status::OK, op}); }
  void Error(grpc::Status status) { replies_.push_back({status, {}}); }

  grpc::Status Get(const std::string& id, v1::Operation* op) override {
    ++calls;
    last_id = id;
    const auto reply = replies_.front();
    if (replies_.size() > 1) replies_.pop_front();
    *op = reply.second;
    return reply.first;
  }

  int calls = 0;
  std::string last_id;

 private:
  std::deque<std::pair<grpc::Status, v1::Operation>> replies_;
};

v1::Operation Op(v1::Operation::State state, uint32_t slots_done,
                 const std::string& step) {
  v1::Operation op;
  op.set_id("op-7");
  op.set_kind("migrate_slots");
  op.set_state(state);
  op.set_created_unix_ms(1000);
  if (state != v1::Operation::RUNNING) op.set_finished_unix_ms(3500);
  op.add_moves()->set_from_shard_id("shard-1");
  v1::MigrationProgress* m = op.mutable_migration();
  m->set_slots_total(100);
  m->set_slots_done(slots_done);
  m->set_keys_total(1000);
  m->set_keys_copied(slots_done * 10);
  m->set_step(step);
  m->set_max_pause_ms(12);
  return op;
}

class OperationWatchTest : public ::testing::Test {
 protected:
  OperationWatchTest() {
    options_.now = [this] { return now_; };
    options_.sleep = [this](absl::Duration d) { now_ += d; };
    options_.interrupted = &interrupted_;
    options_.min_line_interval = absl::ZeroDuration();
  }

  int Watch(OutputFormat output = OutputFormat::kHuman, bool tty = false) {
    Context ctx;
    ctx.coordinator = "127.0.0.1:6999";
    ctx.output = output;
    ctx.tty = tty;
    ctx.out = &out_;
    ctx.err = &err_;
    return WatchOperation(ctx, source_, "op-7", options_);
  }

  FakeOperations source_;
  WatchOptions options_;
  std::atomic<bool> interrupted_{false};
  absl::Time now_ = absl::FromUnixSeconds(100);
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(OperationWatchTest, PlainLinesThenSummaryWhenNotATty) {
  source_.Reply(Op(v1::Operation::RUNNING, 0, "snapshot"));
  source_.Reply(Op(v1::Operation::RUNNING, 0, "snapshot"));
  source_.Reply(Op(v1::Operation::RUNNING, 50, "catching up"));
  source_.Reply(Op(v1::Operation::SUCCEEDED, 100, "committing"));
  EXPECT_EQ(Watch(), kExitOk) << err_.str();
  EXPECT_EQ(source_.last_id, "op-7");
  std::vector<std::string> lines = absl::StrSplit(out_.str(), '\n');
  ASSERT_EQ(lines.size(), 5u) << out_.str();  // 2 progress, 1 final, summary
  EXPECT_EQ(lines[0].find("[..........] 0/100 slots"), 0u) << lines[0];
  EXPECT_NE(lines[1].find("[#####.....] 50/100 slots  500/1,000 keys"),
            std::string::npos)
      << lines[1];
  EXPECT_NE(lines[1].find("step: catching up"), std::string::npos);
  EXPECT_EQ(lines[3],
            "op-7 migrate_slots SUCCEEDED in 2.5s: 100/100 slots, 1,000 keys, "
            "0.0 MB copied, max write pause 12 ms");
  EXPECT_EQ(out_.str().find('\r'), std::string::npos);
  EXPECT_TRUE(err_.str().empty());
}

TEST_F(OperationWatchTest, UnchangedProgressIsRepeatedOnlyPeriodically) {
  options_.poll_interval = absl::Seconds(1);
  options_.max_line_interval = absl::Seconds(10);
  for (int i = 0; i < 25; ++i) {
    source_.Reply(Op(v1::Operation::RUNNING, 0, "snapshot"));
  }
  source_.Reply(Op(v1::Operation::SUCCEEDED, 100, ""));
  EXPECT_EQ(Watch(), kExitOk);
  // Lines at t=0, 10, 20 s, then the finished one and the summary.
  const std::string out = out_.str();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 5) << out;
}

TEST_F(OperationWatchTest, TtyRedrawsOneLine) {
  source_.Reply(Op(v1::Operation::RUNNING, 10, "snapshot"));
  source_.Reply(Op(v1::Operation::RUNNING, 60, "paused"));
  source_.Reply(Op(v1::Operation::SUCCEEDED, 100, ""));
  EXPECT_EQ(Watch(OutputFormat::kHuman, /*tty=*/true), kExitOk);
  const std::string out = out_.str();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 3) << out;
  EXPECT_NE(out.find("\r[######....] 60/100 slots"), std::string::npos);
  EXPECT_NE(out.find("ETA "), std::string::npos);
  // The live line is ended before the summary.
  EXPECT_NE(out.find("\x1b[K\nop-7 migrate_slots SUCCEEDED"), std::string::npos)
      << out;
}

TEST_F(OperationWatchTest, JsonPrintsOneOperationPerChangeLastIsFinal) {
  source_.Reply(Op(v1::Operation::RUNNING, 0, "snapshot"));
  source_.Reply(Op(v1::Operation::RUNNING, 0, "snapshot"));
  source_.Reply(Op(v1::Operation::RUNNING, 40, "catching up"));
  source_.Reply(Op(v1::Operation::SUCCEEDED, 100, ""));
  EXPECT_EQ(Watch(OutputFormat::kJson), kExitOk);
  std::vector<std::string> lines =
      absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << out_.str();
  for (const std::string& line : lines) {
    v1::Operation parsed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok())
        << line;
  }
  v1::Operation last;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(lines.back(), &last).ok());
  EXPECT_EQ(last.state(), v1::Operation::SUCCEEDED);
  EXPECT_EQ(last.migration().slots_done(), 100u);
}

TEST_F(OperationWatchTest, FailedExitsOneWithTheMessageOnStderr) {
  v1::Operation failed = Op(v1::Operation::FAILED, 30, "rolling back");
  failed.set_message("shard-2 failed over mid-move; rolled back slots 30-99");
  source_.Reply(Op(v1::Operation::RUNNING, 30, "catching up"));
  source_.Reply(failed);
  EXPECT_EQ(Watch(), kExitFailed);
  EXPECT_NE(err_.str().find("op-7 migrate_slots FAILED in 2.5s"),
            std::string::npos)
      << err_.str();
  EXPECT_NE(err_.str().find("rolled back slots 30-99"), std::string::npos);

  err_.str("");
  source_ = FakeOperations();
  source_.Reply(failed);
  EXPECT_EQ(Watch(OutputFormat::kJson), kExitFailed);
  EXPECT_EQ(err_.str(),
            "slotctl: op-7 migrate_slots FAILED: shard-2 failed over mid-move; "
            "rolled back slots 30-99\n");
}

TEST_F(OperationWatchTest, InterruptStopsWatchingAndSaysHowToCancel) {
  source_.Reply(Op(v1::Operation::RUNNING, 30, "catching up"));
  options_.sleep = [this](absl::Duration d) {
    now_ += d;
    if (source_.calls >= 3) interrupted_ = true;
  };
  EXPECT_EQ(Watch(), kExitInterrupted);
  EXPECT_EQ(source_.calls, 3);
  EXPECT_NE(err_.str().find("the operation keeps running"), std::string::npos);
  EXPECT_NE(err_.str().find("`slotctl operation cancel op-7`"),
            std::string::npos)
      << err_.str();
}

TEST_F(OperationWatchTest, UnknownOperationAndMissingRpcFailAtOnce) {
  source_.Error(grpc::Status(grpc::StatusCode::NOT_FOUND, "no op-7"));
  EXPECT_EQ(Watch(), kExitFailed);
  EXPECT_EQ(source_.calls, 1);
  EXPECT_NE(err_.str().find("`slotctl operations` lists them"),
            std::string::npos);

  err_.str("");
  source_ = FakeOperations();
  source_.Error(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""));
  EXPECT_EQ(Watch(), kExitFailed);
  EXPECT_EQ(source_.calls, 1);
  EXPECT_NE(err_.str().find("does not support this call yet (UNIMPLEMENTED)"),
            std::string::npos)
      << err_.str();
}

TEST_F(OperationWatchTest, RidesOutAShortOutageGivesUpAfterTheTimeout) {
  options_.unreachable_timeout = absl::Seconds(2);
  options_.poll_interval = absl::Milliseconds(100);
  const grpc::Status down(grpc::StatusCode::UNAVAILABLE, "connection refused");
  source_.Reply(Op(v1::Operation::RUNNING, 10, "snapshot"));
  for (int i = 0; i < 5; ++i) source_.Error(down);
  source_.Reply(Op(v1::Operation::SUCCEEDED, 100, ""));
  EXPECT_EQ(Watch(), kExitOk) << "0.5 s of outage is ridden out";

  err_.str("");
  source_ = FakeOperations();
  source_.Reply(Op(v1::Operation::RUNNING, 10, "snapshot"));
  source_.Error(down);
  EXPECT_EQ(Watch(), kExitFailed);
  EXPECT_EQ(source_.calls, 1 + 21) << "every 100 ms for 2 s";
  EXPECT_NE(err_.str().find("is it running at 127.0.0.1:6999"),
            std::string::npos)
      << err_.str();
  EXPECT_NE(err_.str().find("`slotctl operation watch op-7` follows it again"),
            std::string::npos);
}

TEST_F(OperationWatchTest, CoordinatorThatNeverAnsweredFailsAtOnce) {
  source_.Error(grpc::Status(grpc::StatusCode::UNAVAILABLE, "refused"));
  EXPECT_EQ(Watch(), kExitFailed);
  EXPECT_EQ(source_.calls, 1);
  EXPECT_NE(err_.str().find("is it running at 127.0.0.1:6999"),
            std::string::npos)
      << err_.str();
}

}  // namespace
}  // namespace slotcache::slotctl
