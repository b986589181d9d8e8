#include "client/sdk/replies.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace slotcache {

absl::Status UnexpectedReply(absl::string_view what, const v1::Value& value) {
  return MakeError(
      v1::INTERNAL,
      absl::StrCat("expected ", what, " but the node replied ",
                   value.ShortDebugString(),
                   "; the node and the SDK may be of different versions"));
}

absl::StatusOr<std::optional<std::string>> ParseOptionalString(
    v1::Value value) {
  switch (value.kind_case()) {
    case v1::Value::kNil:
      return std::optional<std::string>();
    case v1::Value::kBulk:
      return std::optional<std::string>(std::move(*value.mutable_bulk()));
    case v1::Value::kStatus:
      return std::optional<std::string>(std::move(*value.mutable_status()));
    default:
      return UnexpectedReply("a string or nil", value);
  }
}

absl::StatusOr<int64_t> ParseInteger(v1::Value value) {
  if (value.kind_case() == v1::Value::kInteger) return value.integer();
  return UnexpectedReply("an integer", value);
}

absl::StatusOr<bool> ParseIntegerAsBool(v1::Value value) {
  if (value.kind_case() == v1::Value::kInteger) return value.integer() != 0;
  return UnexpectedReply("an integer", value);
}

absl::StatusOr<bool> ParseSetReply(v1::Value value) {
  if (value.kind_case() == v1::Value::kNil) return false;
  if (value.kind_case() == v1::Value::kStatus) return true;
  return UnexpectedReply("OK or nil", value);
}

absl::StatusOr<double> ParseDouble(v1::Value value) {
  double out = 0;
  switch (value.kind_case()) {
    case v1::Value::kInteger:
      return static_cast<double>(value.integer());
    case v1::Value::kBulk:
      if (absl::SimpleAtod(value.bulk(), &out)) return out;
      break;
    case v1::Value::kStatus:
      if (absl::SimpleAtod(value.status(), &out)) return out;
      break;
    default:
      break;
  }
  return UnexpectedReply("a number", value);
}

absl::StatusOr<std::vector<std::optional<std::string>>> ParseOptionalStrings(
    v1::Value value) {
  if (value.kind_case() != v1::Value::kArray) {
    return UnexpectedReply("an array", value);
  }
  std::vector<std::optional<std::string>> out;
  out.reserve(value.array().values_size());
  for (v1::Value& element : *value.mutable_array()->mutable_values()) {
    absl::StatusOr<std::optional<std::string>> s =
        ParseOptionalString(std::move(element));
    if (!s.ok()) return s.status();
    out.push_back(std::move(*s));
  }
  return out;
}

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ParseFieldMap(
    v1::Value value) {
  absl::flat_hash_map<std::string, std::string> out;
  if (value.kind_case() == v1::Value::kNil) return out;
  if (value.kind_case() != v1::Value::kArray ||
      value.array().values_size() % 2 != 0) {
    return UnexpectedReply("an array of field/value pairs", value);
  }
  auto* values = value.mutable_array()->mutable_values();
  for (int i = 0; i + 1 < values->size(); i += 2) {
    out[std::move(*values->Mutable(i)->mutable_bulk())] =
        std::move(*values->Mutable(i + 1)->mutable_bulk());
  }
  return out;
}

absl::StatusOr<v1::Value> ParseValue(v1::Value value) { return value; }

}  // namespace slotcache
