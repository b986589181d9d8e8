#include "tests/bench/failover_probe/resp.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace slotcache::bench {
namespace {

// Replies nest only a few levels (CLUSTER SLOTS: 3); more is garbage.
constexpr int kMaxDepth = 8;

absl::StatusOr<size_t> Parse(absl::string_view in, int depth, RespValue* out) {
  if (depth > kMaxDepth) {
    return absl::InvalidArgumentError("RESP reply nested too deeply");
  }
  const size_t eol = in.find("\r\n");
  if (eol == absl::string_view::npos) return 0;
  if (eol == 0) return absl::InvalidArgumentError("empty RESP line");
  const absl::string_view line = in.substr(1, eol - 1);
  const size_t header = eol + 2;
  switch (in[0]) {
    case '+':
      out->type = RespValue::Type::kSimpleString;
      out->text = std::string(line);
      return header;
    case '-':
      out->type = RespValue::Type::kError;
      out->text = std::string(line);
      return header;
    case ':':
      out->type = RespValue::Type::kInteger;
      if (!absl::SimpleAtoi(line, &out->integer)) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad RESP integer '", line, "'"));
      }
      return header;
    case '$': {
      int64_t length = 0;
      if (!absl::SimpleAtoi(line, &length) || length < -1) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad RESP bulk length '", line, "'"));
      }
      if (length == -1) {
        out->type = RespValue::Type::kNull;
        return header;
      }
      const size_t size = static_cast<size_t>(length);
      if (in.size() < header + size + 2) return 0;
      out->type = RespValue::Type::kBulk;
      out->text = std::string(in.substr(header, size));
      return header + size + 2;
    }
    case '*': {
      int64_t count = 0;
      if (!absl::SimpleAtoi(line, &count) || count < -1) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad RESP array length '", line, "'"));
      }
      if (count == -1) {
        out->type = RespValue::Type::kNull;
        return header;
      }
      out->type = RespValue::Type::kArray;
      out->elements.clear();
      size_t used = header;
      for (int64_t i = 0; i < count; ++i) {
        RespValue element;
        absl::StatusOr<size_t> n = Parse(in.substr(used), depth + 1, &element);
        if (!n.ok() || *n == 0) return n;
        used += *n;
        out->elements.push_back(std::move(element));
      }
      return used;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown RESP type byte 0x",
                       absl::Hex(static_cast<unsigned char>(in[0]))));
  }
}

}  // namespace

std::string EncodeCommand(const std::vector<std::string>& words) {
  std::string out = absl::StrCat("*", words.size(), "\r\n");
  for (const std::string& word : words) {
    absl::StrAppend(&out, "$", word.size(), "\r\n", word, "\r\n");
  }
  return out;
}

absl::StatusOr<size_t> ParseReply(absl::string_view in, RespValue* out) {
  return Parse(in, 0, out);
}

std::optional<Redirect> ParseRedirect(absl::string_view error) {
  std::vector<absl::string_view> parts = absl::StrSplit(error, ' ');
  if (parts.size() != 3 || (parts[0] != "MOVED" && parts[0] != "ASK")) {
    return std::nullopt;
  }
  Redirect redirect;
  redirect.ask = parts[0] == "ASK";
  if (!absl::SimpleAtoi(parts[1], &redirect.slot) || redirect.slot >= 16384 ||
      parts[2].find(':') == absl::string_view::npos) {
    return std::nullopt;
  }
  redirect.address = std::string(parts[2]);
  return redirect;
}

absl::StatusOr<std::vector<SlotOwner>> ParseClusterSlots(
    const RespValue& reply) {
  if (reply.type != RespValue::Type::kArray) {
    return absl::InvalidArgumentError(
        "CLUSTER SLOTS did not answer with an array");
  }
  std::vector<SlotOwner> owners;
  for (const RespValue& row : reply.elements) {
    // [first, last, [host, port, id, ...], replicas...]
    if (row.type != RespValue::Type::kArray || row.elements.size() < 3 ||
        row.elements[0].type != RespValue::Type::kInteger ||
        row.elements[1].type != RespValue::Type::kInteger ||
        row.elements[2].type != RespValue::Type::kArray ||
        row.elements[2].elements.size() < 2 ||
        row.elements[2].elements[1].type != RespValue::Type::kInteger) {
      return absl::InvalidArgumentError("malformed CLUSTER SLOTS row");
    }
    const int64_t first = row.elements[0].integer;
    const int64_t last = row.elements[1].integer;
    if (first < 0 || last < first || last >= 16384) {
      return absl::InvalidArgumentError(
          absl::StrCat("CLUSTER SLOTS row with bad range ", first, "-", last));
    }
    SlotOwner owner;
    owner.first = static_cast<uint32_t>(first);
    owner.last = static_cast<uint32_t>(last);
    owner.primary = absl::StrCat(row.elements[2].elements[0].text, ":",
                                 row.elements[2].elements[1].integer);
    owners.push_back(std::move(owner));
  }
  return owners;
}

}  // namespace slotcache::bench
