#include "common/status.h"

#include "gtest/gtest.h"

namespace slotcache {
namespace {

TEST(StatusTest, MovedKeepsSlotAddressAndEpochThroughGrpc) {
  absl::Status moved = MovedError(3999, "127.0.0.1:7001", "node-b", 7);
  EXPECT_EQ(moved.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(moved.message(), "MOVED 3999 127.0.0.1:7001");

  grpc::Status wire = ToGrpcStatus(moved);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  absl::Status back = FromGrpcStatus(wire);
  v1::Error error = ErrorOf(back);
  EXPECT_EQ(error.code(), v1::MOVED);
  EXPECT_EQ(error.redirect().slot(), 3999u);
  EXPECT_EQ(error.redirect().address(), "127.0.0.1:7001");
  EXPECT_EQ(error.redirect().node_id(), "node-b");
  EXPECT_EQ(error.redirect().config_epoch(), 7u);
}

TEST(StatusTest, EveryKindMapsToAFittingAbslCodeAndRoundTrips) {
  struct Case {
    absl::Status status;
    v1::ErrorCode kind;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {InvalidInputError("bad"), v1::INVALID_ARGUMENT,
       absl::StatusCode::kInvalidArgument},
      {WrongTypeError(), v1::WRONGTYPE, absl::StatusCode::kFailedPrecondition},
      {OomError("full"), v1::OOM, absl::StatusCode::kResourceExhausted},
      {RangeError("overflow"), v1::OUT_OF_RANGE, absl::StatusCode::kOutOfRange},
      {ReadOnlyError("10.0.0.1:1"), v1::READONLY,
       absl::StatusCode::kFailedPrecondition},
      {TryAgainError("paused", 5), v1::TRYAGAIN,
       absl::StatusCode::kUnavailable},
      {ClusterDownError("no lease"), v1::CLUSTERDOWN,
       absl::StatusCode::kUnavailable},
      {NoAuthError("token"), v1::NOAUTH, absl::StatusCode::kUnauthenticated},
      {CrossSlotError("two slots"), v1::CROSSSLOT,
       absl::StatusCode::kInvalidArgument},
      {AskError(1, "a:1", "n", 2), v1::ASK,
       absl::StatusCode::kFailedPrecondition},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.code(), c.code) << c.status;
    EXPECT_EQ(ErrorCodeOf(c.status), c.kind) << c.status;
    absl::Status back = FromGrpcStatus(ToGrpcStatus(c.status));
    EXPECT_EQ(back.code(), c.code) << c.status;
    EXPECT_EQ(ErrorCodeOf(back), c.kind) << c.status;
    EXPECT_EQ(back.message(), c.status.message());
    EXPECT_EQ(StatusFromError(ErrorOf(c.status)), c.status);
  }
}

TEST(StatusTest, TryAgainCarriesRetryDelay) {
  EXPECT_EQ(ErrorOf(TryAgainError("paused", 25)).retry_after_ms(), 25u);
}

TEST(StatusTest, ReadOnlyNamesThePrimary) {
  EXPECT_EQ(ErrorOf(ReadOnlyError("10.0.0.1:7000")).redirect().address(),
            "10.0.0.1:7000");
}

TEST(StatusTest, OkStaysOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
  EXPECT_EQ(ErrorCodeOf(absl::OkStatus()), v1::ERROR_CODE_UNSPECIFIED);
  EXPECT_TRUE(StatusFromError(v1::Error()).ok());
}

TEST(StatusTest, PlainStatusesGetAKindFromTheirCode) {
  EXPECT_EQ(ErrorCodeOf(absl::InvalidArgumentError("x")), v1::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorCodeOf(absl::UnavailableError("x")), v1::UNAVAILABLE);
  EXPECT_EQ(ErrorCodeOf(absl::InternalError("x")), v1::INTERNAL);
}

TEST(StatusTest, TransportFailuresWithoutDetailsKeepTheirCode) {
  absl::Status status = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "connection refused");
  EXPECT_EQ(ErrorCodeOf(status), v1::UNAVAILABLE);
}

}  // namespace
}  // namespace slotcache
