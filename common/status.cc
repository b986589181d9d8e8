#include "common/status.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace slotcache {
namespace {

absl::StatusCode AbslCodeFor(v1::ErrorCode code) {
  switch (code) {
    case v1::INVALID_ARGUMENT:
    case v1::CROSSSLOT:
      return absl::StatusCode::kInvalidArgument;
    case v1::WRONGTYPE:
    case v1::MOVED:
    case v1::ASK:
    case v1::READONLY:
      return absl::StatusCode::kFailedPrecondition;
    case v1::OOM:
      return absl::StatusCode::kResourceExhausted;
    case v1::TRYAGAIN:
    case v1::CLUSTERDOWN:
    case v1::UNAVAILABLE:
      return absl::StatusCode::kUnavailable;
    case v1::NOAUTH:
      return absl::StatusCode::kUnauthenticated;
    case v1::OUT_OF_RANGE:
      return absl::StatusCode::kOutOfRange;
    case v1::NO_SUCH_KEY:
      return absl::StatusCode::kNotFound;
    case v1::NOT_ENOUGH_REPLICA_ACKS:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return absl::StatusCode::kInternal;
  }
}

// The kind of a status that carries no payload (e.g. from a library).
v1::ErrorCode KindForAbslCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return v1::ERROR_CODE_UNSPECIFIED;
    case absl::StatusCode::kInvalidArgument:
      return v1::INVALID_ARGUMENT;
    case absl::StatusCode::kResourceExhausted:
      return v1::OOM;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
      return v1::UNAVAILABLE;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return v1::NOAUTH;
    case absl::StatusCode::kOutOfRange:
      return v1::OUT_OF_RANGE;
    case absl::StatusCode::kNotFound:
      return v1::NO_SUCH_KEY;
    default:
      return v1::INTERNAL;
  }
}

absl::Status StatusWithPayload(const v1::Error& error) {
  absl::Status status(AbslCodeFor(error.code()), error.message());
  status.SetPayload(kErrorPayloadUrl, absl::Cord(error.SerializeAsString()));
  return status;
}

absl::Status RedirectError(v1::ErrorCode code, absl::string_view label,
                           uint32_t slot, absl::string_view address,
                           absl::string_view node_id, uint64_t config_epoch) {
  v1::Error error;
  error.set_code(code);
  // Redis-compatible text: "MOVED 3999 127.0.0.1:6381".
  error.set_message(absl::StrCat(label, " ", slot, " ", address));
  v1::Redirect* redirect = error.mutable_redirect();
  redirect->set_slot(slot);
  redirect->set_address(std::string(address));
  redirect->set_node_id(std::string(node_id));
  redirect->set_config_epoch(config_epoch);
  return StatusWithPayload(error);
}

}  // namespace

absl::Status MakeError(v1::ErrorCode code, absl::string_view message) {
  v1::Error error;
  error.set_code(code);
  error.set_message(std::string(message));
  return StatusWithPayload(error);
}

absl::Status InvalidInputError(absl::string_view message) {
  return MakeError(v1::INVALID_ARGUMENT, message);
}

absl::Status WrongTypeError() {
  return MakeError(
      v1::WRONGTYPE,
      "WRONGTYPE Operation against a key holding the wrong kind of value");
}

absl::Status OomError(absl::string_view message) {
  return MakeError(v1::OOM, message);
}

absl::Status RangeError(absl::string_view message) {
  return MakeError(v1::OUT_OF_RANGE, message);
}

absl::Status MovedError(uint32_t slot, absl::string_view address,
                        absl::string_view node_id, uint64_t config_epoch) {
  return RedirectError(v1::MOVED, "MOVED", slot, address, node_id,
                       config_epoch);
}

absl::Status AskError(uint32_t slot, absl::string_view address,
                      absl::string_view node_id, uint64_t config_epoch) {
  return RedirectError(v1::ASK, "ASK", slot, address, node_id, config_epoch);
}

absl::Status ReadOnlyError(absl::string_view primary_address) {
  v1::Error error;
  error.set_code(v1::READONLY);
  error.set_message(absl::StrCat(
      "READONLY You can't write against a read only replica; the primary is ",
      primary_address));
  error.mutable_redirect()->set_address(std::string(primary_address));
  return StatusWithPayload(error);
}

absl::Status TryAgainError(absl::string_view message, uint32_t retry_after_ms) {
  v1::Error error;
  error.set_code(v1::TRYAGAIN);
  error.set_message(std::string(message));
  error.set_retry_after_ms(retry_after_ms);
  return StatusWithPayload(error);
}

absl::Status ClusterDownError(absl::string_view message) {
  return MakeError(v1::CLUSTERDOWN, message);
}

absl::Status NoAuthError(absl::string_view message) {
  return MakeError(v1::NOAUTH, message);
}

absl::Status CrossSlotError(absl::string_view message) {
  return MakeError(v1::CROSSSLOT, message);
}

v1::Error ErrorOf(const absl::Status& status) {
  v1::Error error;
  if (status.ok()) return error;
  absl::optional<absl::Cord> payload = status.GetPayload(kErrorPayloadUrl);
  if (payload.has_value() && error.ParseFromString(std::string(*payload))) {
    return error;
  }
  error.Clear();
  error.set_code(KindForAbslCode(status.code()));
  error.set_message(std::string(status.message()));
  return error;
}

v1::ErrorCode ErrorCodeOf(const absl::Status& status) {
  return ErrorOf(status).code();
}

absl::Status StatusFromError(const v1::Error& error) {
  if (error.code() == v1::ERROR_CODE_UNSPECIFIED) return absl::OkStatus();
  return StatusWithPayload(error);
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()),
                      ErrorOf(status).SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  v1::Error error;
  if (!status.error_details().empty() &&
      error.ParseFromString(status.error_details()) &&
      error.code() != v1::ERROR_CODE_UNSPECIFIED) {
    return StatusWithPayload(error);
  }
  // A transport-level failure (unreachable, deadline): no typed details.
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace slotcache
