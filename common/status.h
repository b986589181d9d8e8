// Typed slotcache errors on top of absl::Status, and their gRPC form.
//
// Inside the code every failure is an absl::Status. A slotcache error kind
// (WRONGTYPE, MOVED, ...) rides along as a payload holding a serialized
// slotcache.v1.Error under kErrorPayloadUrl, so callers can branch on the
// kind and redirects keep their address and epoch. On the wire the same
// Error message travels as the binary details of a grpc::Status, or inside
// a Reply for per-command errors in a batch.
//
// Thread-safety: pure functions, safe from any thread.
#ifndef SLOTCACHE_COMMON_STATUS_H_
#define SLOTCACHE_COMMON_STATUS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"
#include "proto/common.pb.h"

namespace slotcache {

inline constexpr absl::string_view kErrorPayloadUrl =
    "type.googleapis.com/slotcache.v1.Error";

// Builds a status of `code` whose message is `message`. The absl code is the
// one that fits the kind (e.g. OOM -> kResourceExhausted).
absl::Status MakeError(v1::ErrorCode code, absl::string_view message);

// Named constructors for the common kinds. Messages say what went wrong and,
// where useful, what to do. Named apart from absl's constructors (no
// InvalidArgumentError here) because these also attach the typed payload:
// InvalidInputError is INVALID_ARGUMENT, RangeError is OUT_OF_RANGE.
absl::Status InvalidInputError(absl::string_view message);
absl::Status WrongTypeError();
absl::Status OomError(absl::string_view message);
absl::Status RangeError(absl::string_view message);
absl::Status MovedError(uint32_t slot, absl::string_view address,
                        absl::string_view node_id, uint64_t config_epoch);
absl::Status AskError(uint32_t slot, absl::string_view address,
                      absl::string_view node_id, uint64_t config_epoch);
absl::Status ReadOnlyError(absl::string_view primary_address);
absl::Status TryAgainError(absl::string_view message, uint32_t retry_after_ms);
absl::Status ClusterDownError(absl::string_view message);
absl::Status NoAuthError(absl::string_view message);
// CROSSSLOT: a multi-key command whose keys hash to different slots.
absl::Status CrossSlotError(absl::string_view message);

// The typed error of `status` (code ERROR_CODE_UNSPECIFIED and an empty
// message when `status` is OK). A status without a payload gets a kind
// derived from its absl code.
v1::Error ErrorOf(const absl::Status& status);

// The slotcache kind of `status`, shorthand for ErrorOf(status).code().
v1::ErrorCode ErrorCodeOf(const absl::Status& status);

// The absl::Status that `error` describes (OK when code is unspecified).
absl::Status StatusFromError(const v1::Error& error);

// absl::Status <-> grpc::Status, keeping the typed error as binary details.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_STATUS_H_
