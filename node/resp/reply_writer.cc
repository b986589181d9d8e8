#include "node/resp/reply_writer.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace slotcache::node::resp {
namespace {

constexpr absl::string_view kCrlf = "\r\n";

// `message` without a leading Redis error code that the node may already
// have put there (the dispatcher writes "ERR unknown command ..."), so the
// line does not say "ERR ERR ...".
absl::string_view WithoutPrefix(absl::string_view message,
                                absl::string_view prefix) {
  if (absl::StartsWith(message, prefix) && message.size() > prefix.size() &&
      message[prefix.size()] == ' ') {
    message.remove_prefix(prefix.size() + 1);
  }
  return message;
}

}  // namespace

void ReplyWriter::Header(char type, size_t n) {
  out_->push_back(type);
  absl::StrAppend(out_, n);
  out_->append(kCrlf.data(), kCrlf.size());
}

void ReplyWriter::Status(absl::string_view text) {
  out_->push_back('+');
  out_->append(text.data(), text.size());
  out_->append(kCrlf.data(), kCrlf.size());
}

void ReplyWriter::Error(absl::string_view line) {
  out_->push_back('-');
  const size_t start = out_->size();
  out_->append(line.data(), line.size());
  for (size_t i = start; i < out_->size(); ++i) {
    if ((*out_)[i] == '\r' || (*out_)[i] == '\n') (*out_)[i] = ' ';
  }
  out_->append(kCrlf.data(), kCrlf.size());
}

void ReplyWriter::Integer(int64_t value) {
  out_->push_back(':');
  absl::StrAppend(out_, value);
  out_->append(kCrlf.data(), kCrlf.size());
}

void ReplyWriter::Bulk(absl::string_view bytes) {
  Header('$', bytes.size());
  out_->append(bytes.data(), bytes.size());
  out_->append(kCrlf.data(), kCrlf.size());
}

void ReplyWriter::Null() {
  if (protocol_ >= 3) {
    out_->append("_\r\n");
  } else {
    out_->append("$-1\r\n");
  }
}

void ReplyWriter::ArrayHeader(size_t n) { Header('*', n); }

void ReplyWriter::MapHeader(size_t n) {
  if (protocol_ >= 3) {
    Header('%', n);
  } else {
    Header('*', 2 * n);
  }
}

void ReplyWriter::SetHeader(size_t n) { Header(protocol_ >= 3 ? '~' : '*', n); }

void ReplyWriter::Double(double value) {
  // Redis' own spelling: inf, -inf, nan, otherwise %.17g.
  std::string text;
  if (std::isinf(value)) {
    text = value > 0 ? "inf" : "-inf";
  } else if (std::isnan(value)) {
    text = "nan";
  } else {
    text = absl::StrFormat("%.17g", value);
  }
  if (protocol_ >= 3) {
    out_->push_back(',');
    out_->append(text);
    out_->append(kCrlf.data(), kCrlf.size());
  } else {
    Bulk(text);
  }
}

void ReplyWriter::Boolean(bool value) {
  if (protocol_ >= 3) {
    out_->append(value ? "#t\r\n" : "#f\r\n");
  } else {
    Integer(value ? 1 : 0);
  }
}

void ReplyWriter::Verbatim(absl::string_view text) {
  if (protocol_ < 3) {
    Bulk(text);
    return;
  }
  Header('=', text.size() + 4);
  out_->append("txt:");
  out_->append(text.data(), text.size());
  out_->append(kCrlf.data(), kCrlf.size());
}

void ReplyWriter::Value(const v1::Value& value, bool as_map) {
  switch (value.kind_case()) {
    case v1::Value::kNil:
      Null();
      return;
    case v1::Value::kInteger:
      Integer(value.integer());
      return;
    case v1::Value::kBulk:
      Bulk(value.bulk());
      return;
    case v1::Value::kStatus:
      Status(value.status());
      return;
    case v1::Value::kArray: {
      const auto& values = value.array().values();
      if (as_map && values.size() % 2 == 0) {
        MapHeader(values.size() / 2);
      } else {
        ArrayHeader(values.size());
      }
      for (const v1::Value& v : values) Value(v);
      return;
    }
    case v1::Value::KIND_NOT_SET:
      Null();
      return;
  }
  Null();
}

std::string RedisErrorLine(const v1::Error& error,
                           absl::string_view redirect_address) {
  const absl::string_view address =
      redirect_address.empty() ? error.redirect().address() : redirect_address;
  const absl::string_view message = error.message();
  switch (static_cast<int>(error.code())) {
    case v1::MOVED:
      return absl::StrCat("MOVED ", error.redirect().slot(), " ", address);
    case v1::ASK:
      return absl::StrCat("ASK ", error.redirect().slot(), " ", address);
    case v1::TRYAGAIN:
      return absl::StrCat("TRYAGAIN ", WithoutPrefix(message, "TRYAGAIN"));
    case v1::CLUSTERDOWN:
      return absl::StrCat("CLUSTERDOWN ",
                          WithoutPrefix(message, "CLUSTERDOWN"));
    case v1::CROSSSLOT:
      return "CROSSSLOT Keys in request don't hash to the same slot";
    case v1::READONLY:
      return "READONLY You can't write against a read only replica.";
    case v1::WRONGTYPE:
      return "WRONGTYPE Operation against a key holding the wrong kind of "
             "value";
    case v1::OOM:
      return "OOM command not allowed when used memory > 'maxmemory'.";
    case v1::NOAUTH:
      return "NOAUTH Authentication required.";
    default:
      // INVALID_ARGUMENT, OUT_OF_RANGE ("ERR value is not an integer or
      // out of range..."), NO_SUCH_KEY, INTERNAL, UNAVAILABLE: Redis
      // reports all of these as ERR with a text.
      return absl::StrCat("ERR ", WithoutPrefix(message, "ERR"));
  }
}

}  // namespace slotcache::node::resp
