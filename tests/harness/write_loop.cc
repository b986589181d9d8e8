// write_loop: a test helper that writes to one slotcache node directly (no
// SDK, no retries) as fast as it can and logs how the answers change, so a
// test can run it where the test process cannot reach — e.g. inside a
// network namespace that the test cut off (tests/harness/netns.h).
//
//   write_loop TARGET KEY [MAX_SECONDS]
//
// Each attempt is one Execute(SET KEY <n>) with a 200 ms deadline. A line
// is printed (and flushed) whenever the outcome differs from the previous
// attempt's:
//   <start unix micros> <end unix micros> OK
//   <start unix micros> <end unix micros> <ErrorCode name> <message>
//   <start unix micros> <end unix micros> RPC_<gRPC code> <message>
// Stops after MAX_SECONDS (default 60), so it never outlives a test.
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/process.h"
#include "common/rpc.h"
#include "proto/cache.grpc.pb.h"

int main(int argc, char** argv) {
  slotcache::TurnOffMutexDeadlockDetection();
  int max_seconds = 60;
  if (argc < 3 || argc > 4 ||
      (argc == 4 &&
       (!absl::SimpleAtoi(argv[3], &max_seconds) || max_seconds <= 0))) {
    std::cerr << "usage: write_loop TARGET KEY [MAX_SECONDS]\n";
    return 2;
  }
  auto stub =
      slotcache::v1::CacheService::NewStub(slotcache::MakeChannel(argv[1]));
  const absl::Time stop = absl::Now() + absl::Seconds(max_seconds);
  std::string previous;
  for (uint64_t n = 0; absl::Now() < stop; ++n) {
    slotcache::v1::ExecuteRequest request;
    request.mutable_command()->set_name("SET");
    request.mutable_command()->add_args(argv[2]);
    request.mutable_command()->add_args(absl::StrCat(n));
    grpc::ClientContext context;
    context.set_deadline(slotcache::DeadlineIn(absl::Milliseconds(200)));
    const absl::Time start = absl::Now();
    slotcache::v1::ExecuteResponse response;
    grpc::Status status = stub->Execute(&context, request, &response);
    const absl::Time end = absl::Now();
    std::string outcome;
    if (!status.ok()) {
      outcome = absl::StrCat("RPC_", status.error_code(), " ",
                             status.error_message());
    } else if (response.reply().has_error()) {
      outcome = absl::StrCat(
          slotcache::v1::ErrorCode_Name(response.reply().error().code()), " ",
          response.reply().error().message());
    } else {
      outcome = "OK";
    }
    // Compare the kind only: messages may carry changing details.
    const std::string kind = outcome.substr(0, outcome.find(' '));
    if (kind == previous) continue;
    previous = kind;
    std::cout << absl::ToUnixMicros(start) << " " << absl::ToUnixMicros(end)
              << " " << outcome << std::endl;
  }
  return 0;
}
