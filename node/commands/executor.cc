#include "node/commands/executor.h"

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/commands/command_table.h"
#include "common/numbers.h"
#include "common/status.h"

namespace slotcache::node {
namespace {

using storage::Store;

// ---- Reply values ----

v1::Value Nil() {
  v1::Value v;
  v.set_nil(true);
  return v;
}
v1::Value Int(int64_t i) {
  v1::Value v;
  v.set_integer(i);
  return v;
}
v1::Value Bulk(absl::string_view s) {
  v1::Value v;
  v.set_bulk(std::string(s));
  return v;
}
v1::Value StatusValue(absl::string_view s) {
  v1::Value v;
  v.set_status(std::string(s));
  return v;
}
v1::Value Ok() { return StatusValue("OK"); }
v1::Value OptionalBulk(const absl::optional<std::string>& s) {
  return s.has_value() ? Bulk(*s) : Nil();
}
v1::Value BulkArray(const std::vector<absl::optional<std::string>>& items) {
  v1::Value v;
  auto* array = v.mutable_array();
  for (const auto& item : items) *array->add_values() = OptionalBulk(item);
  return v;
}

// ---- Argument parsing ----

// The command's name in lower case, for error messages ("'set' command").
std::string Lower(const v1::Command& c) {
  return absl::AsciiStrToLower(c.name());
}

absl::Status SyntaxError() { return InvalidInputError("syntax error"); }

absl::Status WrongArity(const v1::Command& c) {
  return InvalidInputError(
      absl::StrCat("wrong number of arguments for '", Lower(c), "' command"));
}

absl::StatusOr<int64_t> IntArg(absl::string_view text) {
  int64_t v;
  if (!ParseInt64(text, &v)) {
    return RangeError("value is not an integer or out of range");
  }
  return v;
}

bool Is(absl::string_view arg, absl::string_view word) {
  return absl::EqualsIgnoreCase(arg, word);
}

// An expiry argument (EX/PX/EXAT/PXAT and the EXPIRE family) as an absolute
// time. `unit_ms` is 1000 for seconds; `absolute` for the *AT forms.
// `positive` refuses values <= 0 (SET/GETEX do; EXPIRE accepts them and
// deletes the key).
absl::StatusOr<absl::Time> ExpiryArg(Store* store, const v1::Command& c,
                                     absl::string_view text, int64_t unit_ms,
                                     bool absolute, bool positive) {
  absl::StatusOr<int64_t> n = IntArg(text);
  if (!n.ok()) return n.status();
  const absl::Status invalid = InvalidInputError(
      absl::StrCat("invalid expire time in '", Lower(c), "' command"));
  if (positive && *n <= 0) return invalid;
  int64_t ms;
  if (__builtin_mul_overflow(*n, unit_ms, &ms)) return invalid;
  if (!absolute) {
    if (__builtin_add_overflow(ms, absl::ToUnixMillis(store->Now()), &ms)) {
      return invalid;
    }
  }
  return absl::FromUnixMillis(ms);
}

std::vector<absl::string_view> ArgsFrom(const v1::Command& c, int first) {
  std::vector<absl::string_view> out;
  for (int i = first; i < c.args_size(); ++i) out.push_back(c.args(i));
  return out;
}

// ---- Handlers: parse, call the store, shape the reply ----

using Result = absl::StatusOr<v1::Value>;

Result CmdGet(Store* s, const v1::Command& c) {
  auto v = s->Get(c.args(0));
  if (!v.ok()) return v.status();
  return OptionalBulk(*v);
}

Result CmdSet(Store* s, const v1::Command& c) {
  storage::SetOptions opts;
  bool has_expiry_option = false;
  for (int i = 2; i < c.args_size(); ++i) {
    absl::string_view a = c.args(i);
    const bool has_next = i + 1 < c.args_size();
    if (Is(a, "NX") &&
        opts.condition == storage::SetOptions::Condition::kAlways) {
      opts.condition = storage::SetOptions::Condition::kIfAbsent;
    } else if (Is(a, "XX") &&
               opts.condition == storage::SetOptions::Condition::kAlways) {
      opts.condition = storage::SetOptions::Condition::kIfPresent;
    } else if (Is(a, "GET") && !opts.get_old_value) {
      opts.get_old_value = true;
    } else if (Is(a, "KEEPTTL") && !has_expiry_option) {
      opts.keep_ttl = true;
      has_expiry_option = true;
    } else if ((Is(a, "EX") || Is(a, "PX") || Is(a, "EXAT") || Is(a, "PXAT")) &&
               !has_expiry_option && has_next) {
      const bool seconds = Is(a, "EX") || Is(a, "EXAT");
      const bool absolute = Is(a, "EXAT") || Is(a, "PXAT");
      auto at = ExpiryArg(s, c, c.args(++i), seconds ? 1000 : 1, absolute,
                          /*positive=*/true);
      if (!at.ok()) return at.status();
      opts.expire_at = *at;
      has_expiry_option = true;
    } else {
      return SyntaxError();
    }
  }
  auto r = s->Set(c.args(0), c.args(1), opts);
  if (!r.ok()) return r.status();
  if (opts.get_old_value) return OptionalBulk(r->old_value);
  return r->written ? Ok() : Nil();
}

Result CmdGetEx(Store* s, const v1::Command& c) {
  storage::GetExOptions opts;
  bool seen = false;
  for (int i = 1; i < c.args_size(); ++i) {
    absl::string_view a = c.args(i);
    if (seen) return SyntaxError();
    seen = true;
    if (Is(a, "PERSIST")) {
      opts.persist = true;
    } else if ((Is(a, "EX") || Is(a, "PX") || Is(a, "EXAT") || Is(a, "PXAT")) &&
               i + 1 < c.args_size()) {
      const bool seconds = Is(a, "EX") || Is(a, "EXAT");
      const bool absolute = Is(a, "EXAT") || Is(a, "PXAT");
      auto at = ExpiryArg(s, c, c.args(++i), seconds ? 1000 : 1, absolute,
                          /*positive=*/true);
      if (!at.ok()) return at.status();
      opts.expire_at = *at;
    } else {
      return SyntaxError();
    }
  }
  auto v = s->GetEx(c.args(0), opts);
  if (!v.ok()) return v.status();
  return OptionalBulk(*v);
}

Result CmdGetDel(Store* s, const v1::Command& c) {
  auto v = s->GetDel(c.args(0));
  if (!v.ok()) return v.status();
  return OptionalBulk(*v);
}

Result CmdAppend(Store* s, const v1::Command& c) {
  auto n = s->Append(c.args(0), c.args(1));
  if (!n.ok()) return n.status();
  return Int(*n);
}

Result CmdStrLen(Store* s, const v1::Command& c) {
  auto n = s->StrLen(c.args(0));
  if (!n.ok()) return n.status();
  return Int(*n);
}

Result CmdMGet(Store* s, const v1::Command& c) {
  return BulkArray(s->MGet(ArgsFrom(c, 0)));
}

Result CmdMSet(Store* s, const v1::Command& c) {
  if (c.args_size() % 2 != 0) return WrongArity(c);
  std::vector<std::pair<absl::string_view, absl::string_view>> pairs;
  for (int i = 0; i + 1 < c.args_size(); i += 2) {
    pairs.emplace_back(c.args(i), c.args(i + 1));
  }
  if (absl::Status st = s->MSet(pairs); !st.ok()) return st;
  return Ok();
}

// INCR, DECR, INCRBY, DECRBY.
Result IncrByReply(Store* s, const v1::Command& c, int64_t delta) {
  auto n = s->IncrBy(c.args(0), delta);
  if (!n.ok()) return n.status();
  return Int(*n);
}
Result CmdIncr(Store* s, const v1::Command& c) { return IncrByReply(s, c, 1); }
Result CmdDecr(Store* s, const v1::Command& c) { return IncrByReply(s, c, -1); }
Result CmdIncrBy(Store* s, const v1::Command& c) {
  auto d = IntArg(c.args(1));
  if (!d.ok()) return d.status();
  return IncrByReply(s, c, *d);
}
Result CmdDecrBy(Store* s, const v1::Command& c) {
  auto d = IntArg(c.args(1));
  if (!d.ok()) return d.status();
  if (*d == std::numeric_limits<int64_t>::min()) {
    return RangeError("decrement would overflow");
  }
  return IncrByReply(s, c, -*d);
}

Result CmdIncrByFloat(Store* s, const v1::Command& c) {
  long double delta;
  if (!ParseLongDouble(c.args(1), &delta)) {
    // Redis checks the key's type before the increment (WRONGTYPE wins).
    if (s->Type(c.args(0)) == storage::ValueType::kHash) {
      return WrongTypeError();
    }
    return RangeError("value is not a valid float");
  }
  auto v = s->IncrByFloat(c.args(0), delta);
  if (!v.ok()) return v.status();
  return Bulk(*v);
}

Result CmdDel(Store* s, const v1::Command& c) {
  int64_t n = 0;
  for (const std::string& k : c.args()) n += s->Del(k) ? 1 : 0;
  return Int(n);
}

Result CmdExists(Store* s, const v1::Command& c) {
  int64_t n = 0;
  for (const std::string& k : c.args()) n += s->Exists(k) ? 1 : 0;
  return Int(n);
}

Result CmdType(Store* s, const v1::Command& c) {
  return StatusValue(storage::ValueTypeName(s->Type(c.args(0))));
}

// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT.
Result ExpireReply(Store* s, const v1::Command& c, int64_t unit_ms,
                   bool absolute) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (int i = 2; i < c.args_size(); ++i) {
    absl::string_view a = c.args(i);
    if (Is(a, "NX")) {
      nx = true;
    } else if (Is(a, "XX")) {
      xx = true;
    } else if (Is(a, "GT")) {
      gt = true;
    } else if (Is(a, "LT")) {
      lt = true;
    } else {
      return InvalidInputError(absl::StrCat("Unsupported option ", a));
    }
  }
  if (nx && (xx || gt || lt)) {
    return InvalidInputError(
        "NX and XX, GT or LT options at the same time are not compatible");
  }
  if (gt && lt) {
    return InvalidInputError(
        "GT and LT options at the same time are not compatible");
  }
  auto at = ExpiryArg(s, c, c.args(1), unit_ms, absolute, /*positive=*/false);
  if (!at.ok()) return at.status();
  storage::ExpireCondition cond = storage::ExpireCondition::kAlways;
  if (nx) cond = storage::ExpireCondition::kIfNoTtl;
  if (xx) cond = storage::ExpireCondition::kIfHasTtl;
  // GT already fails without a TTL, so XX GT is just GT.
  if (gt) cond = storage::ExpireCondition::kIfLater;
  if (lt) {
    cond = xx ? storage::ExpireCondition::kIfHasTtlAndSooner
              : storage::ExpireCondition::kIfSooner;
  }
  return Int(s->ExpireAt(c.args(0), *at, cond) ? 1 : 0);
}
Result CmdExpire(Store* s, const v1::Command& c) {
  return ExpireReply(s, c, 1000, false);
}
Result CmdPExpire(Store* s, const v1::Command& c) {
  return ExpireReply(s, c, 1, false);
}
Result CmdExpireAt(Store* s, const v1::Command& c) {
  return ExpireReply(s, c, 1000, true);
}
Result CmdPExpireAt(Store* s, const v1::Command& c) {
  return ExpireReply(s, c, 1, true);
}

Result CmdPersist(Store* s, const v1::Command& c) {
  return Int(s->Persist(c.args(0)) ? 1 : 0);
}

Result CmdTtl(Store* s, const v1::Command& c) {
  const int64_t ms = s->PTtl(c.args(0));
  if (ms < 0) return Int(ms);
  return Int((ms + 500) / 1000);  // Rounded, as Redis does.
}
Result CmdPTtl(Store* s, const v1::Command& c) {
  return Int(s->PTtl(c.args(0)));
}

Result CmdHSet(Store* s, const v1::Command& c) {
  if (c.args_size() % 2 != 1) return WrongArity(c);
  std::vector<std::pair<absl::string_view, absl::string_view>> fields;
  for (int i = 1; i + 1 < c.args_size(); i += 2) {
    fields.emplace_back(c.args(i), c.args(i + 1));
  }
  auto n = s->HSet(c.args(0), fields);
  if (!n.ok()) return n.status();
  return Int(*n);
}

Result CmdHGet(Store* s, const v1::Command& c) {
  auto v = s->HGet(c.args(0), c.args(1));
  if (!v.ok()) return v.status();
  return OptionalBulk(*v);
}

Result CmdHMGet(Store* s, const v1::Command& c) {
  auto v = s->HMGet(c.args(0), ArgsFrom(c, 1));
  if (!v.ok()) return v.status();
  return BulkArray(*v);
}

Result CmdHDel(Store* s, const v1::Command& c) {
  auto n = s->HDel(c.args(0), ArgsFrom(c, 1));
  if (!n.ok()) return n.status();
  return Int(*n);
}

Result CmdHGetAll(Store* s, const v1::Command& c) {
  auto fields = s->HGetAll(c.args(0));
  if (!fields.ok()) return fields.status();
  v1::Value v;
  auto* array = v.mutable_array();
  for (const auto& [f, val] : *fields) {
    *array->add_values() = Bulk(f);
    *array->add_values() = Bulk(val);
  }
  return v;
}

Result CmdHIncrBy(Store* s, const v1::Command& c) {
  auto d = IntArg(c.args(2));
  if (!d.ok()) return d.status();
  auto n = s->HIncrBy(c.args(0), c.args(1), *d);
  if (!n.ok()) return n.status();
  return Int(*n);
}

Result CmdHLen(Store* s, const v1::Command& c) {
  auto n = s->HLen(c.args(0));
  if (!n.ok()) return n.status();
  return Int(*n);
}

Result CmdHExists(Store* s, const v1::Command& c) {
  auto b = s->HExists(c.args(0), c.args(1));
  if (!b.ok()) return b.status();
  return Int(*b ? 1 : 0);
}

Result CmdDbSize(Store* s, const v1::Command&) { return Int(s->DbSize()); }

Result CmdFlushAll(Store* s, const v1::Command& c) {
  // ASYNC and SYNC are accepted; the flush is always synchronous.
  if (c.args_size() > 1 || (c.args_size() == 1 && !Is(c.args(0), "ASYNC") &&
                            !Is(c.args(0), "SYNC"))) {
    return SyntaxError();
  }
  s->FlushAll();
  return Ok();
}

Result CmdRandomKey(Store* s, const v1::Command&) {
  return OptionalBulk(s->RandomKey());
}

Result CmdScan(Store* s, const v1::Command& c) {
  uint64_t cursor;
  if (!absl::SimpleAtoi(c.args(0), &cursor) || c.args(0).empty() ||
      !absl::ascii_isdigit(static_cast<unsigned char>(c.args(0)[0]))) {
    return InvalidInputError(absl::StrCat(
        "invalid cursor '", c.args(0),
        "'; pass 0 to start or the cursor the previous SCAN returned"));
  }
  std::string pattern;
  size_t count = 10;
  for (int i = 1; i < c.args_size(); ++i) {
    absl::string_view a = c.args(i);
    if (i + 1 >= c.args_size()) return SyntaxError();
    if (Is(a, "MATCH")) {
      pattern = c.args(++i);
      if (pattern == "*") pattern.clear();
    } else if (Is(a, "COUNT")) {
      auto n = IntArg(c.args(++i));
      if (!n.ok()) return n.status();
      if (*n < 1) return SyntaxError();
      count = static_cast<size_t>(std::min<int64_t>(*n, 1 << 20));
    } else {
      return SyntaxError();
    }
  }
  storage::ScanResult r = s->Scan(cursor, pattern, count);
  v1::Value v;
  auto* outer = v.mutable_array();
  *outer->add_values() = Bulk(absl::StrCat(r.next_cursor));
  auto* keys = outer->add_values()->mutable_array();
  for (const std::string& k : r.keys) *keys->add_values() = Bulk(k);
  return v;
}

Result CmdPing(Store*, const v1::Command& c) {
  if (c.args_size() > 1) return WrongArity(c);
  return c.args_size() == 1 ? Bulk(c.args(0)) : StatusValue("PONG");
}

using Handler = Result (*)(Store*, const v1::Command&);

// The handler of every command of commands.def, indexed by CommandId. A
// line of commands.def whose Cmd<handler> does not exist fails to compile.
constexpr Handler kHandlers[] = {
#define SLOTCACHE_COMMAND(name, handler, ...) &Cmd##handler,
#include "common/commands/commands.def"
#undef SLOTCACHE_COMMAND
};

}  // namespace

CommandExecutor::CommandExecutor(storage::Store* store) : store_(store) {}

void CommandExecutor::Execute(const CommandSpec& spec,
                              const v1::Command& command, v1::Reply* reply) {
  reply->Clear();
  Result result = kHandlers[static_cast<size_t>(spec.id)](store_, command);
  if (result.ok()) {
    *reply->mutable_value() = std::move(*result);
  } else {
    *reply->mutable_error() = ErrorOf(result.status());
  }
}

void CommandExecutor::Execute(const v1::Command& command, v1::Reply* reply) {
  absl::StatusOr<const CommandSpec*> spec = ResolveCommand(command);
  if (!spec.ok()) {
    reply->Clear();
    *reply->mutable_error() = ErrorOf(spec.status());
    return;
  }
  Execute(**spec, command, reply);
}

}  // namespace slotcache::node
