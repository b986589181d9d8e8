// The typed Client calls (Get, Set, HSet, ...): each builds its command,
// runs it through the callback-based core (Client::ExecuteAsync, in
// client.cc) and parses the reply (replies.h).
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/sdk/client.h"
#include "client/sdk/replies.h"

namespace slotcache {
namespace {

// ---- Glue from the callback-based core to the typed sync/async API.

template <typename T, typename Parse>
Client::Callback<v1::Value> Parsed(Parse parse, Client::Callback<T> done) {
  return [parse, done = std::move(done)](absl::StatusOr<v1::Value> value) {
    if (!value.ok()) {
      done(value.status());
    } else {
      done(parse(std::move(*value)));
    }
  };
}

template <typename T>
std::pair<Client::Callback<T>, std::future<absl::StatusOr<T>>> MakePromise() {
  auto promise = std::make_shared<std::promise<absl::StatusOr<T>>>();
  std::future<absl::StatusOr<T>> future = promise->get_future();
  return {[promise](absl::StatusOr<T> result) {
            promise->set_value(std::move(result));
          },
          std::move(future)};
}

template <typename T, typename Parse>
std::future<absl::StatusOr<T>> RunFuture(Client* client, v1::Command command,
                                         Parse parse,
                                         const CallOptions& options = {}) {
  auto [callback, future] = MakePromise<T>();
  client->ExecuteAsync(command, Parsed<T>(parse, std::move(callback)), options);
  return std::move(future);
}

template <typename T, typename Parse>
absl::StatusOr<T> RunSync(Client* client, v1::Command command, Parse parse) {
  return RunFuture<T>(client, std::move(command), parse).get();
}

std::string DurationSeconds(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Seconds(d));
}

// Whole seconds use the seconds form (EX/EXPIRE), anything finer the
// milliseconds form (PX/PEXPIRE).
bool IsWholeSeconds(absl::Duration d) {
  return d == absl::Seconds(absl::ToInt64Seconds(d));
}

v1::Command SetCommand(absl::string_view key, absl::string_view value,
                       const SetOptions& options) {
  v1::Command command =
      MakeCommand("SET", {std::string(key), std::string(value)});
  if (options.ttl > absl::ZeroDuration()) {
    if (IsWholeSeconds(options.ttl)) {
      command.add_args("EX");
      command.add_args(DurationSeconds(options.ttl));
    } else {
      command.add_args("PX");
      command.add_args(absl::StrCat(absl::ToInt64Milliseconds(options.ttl)));
    }
  }
  if (options.condition == SetOptions::Condition::kIfNotExists) {
    command.add_args("NX");
  } else if (options.condition == SetOptions::Condition::kIfExists) {
    command.add_args("XX");
  }
  if (options.keep_ttl) command.add_args("KEEPTTL");
  return command;
}

}  // namespace

v1::Command MakeCommand(absl::string_view name, std::vector<std::string> args) {
  v1::Command command;
  command.set_name(std::string(name));
  for (std::string& arg : args) command.add_args(std::move(arg));
  return command;
}

absl::StatusOr<v1::Value> Client::Execute(const v1::Command& command,
                                          const CallOptions& options) {
  return RunFuture<v1::Value>(this, command, ParseValue, options).get();
}

std::future<absl::StatusOr<v1::Value>> Client::ExecuteAsync(
    const v1::Command& command, const CallOptions& options) {
  return RunFuture<v1::Value>(this, command, ParseValue, options);
}

absl::StatusOr<std::optional<std::string>> Client::Get(absl::string_view key) {
  return RunSync<std::optional<std::string>>(
      this, MakeCommand("GET", {std::string(key)}), ParseOptionalString);
}

void Client::GetAsync(absl::string_view key,
                      Callback<std::optional<std::string>> done) {
  ExecuteAsync(
      MakeCommand("GET", {std::string(key)}),
      Parsed<std::optional<std::string>>(ParseOptionalString, std::move(done)));
}

std::future<absl::StatusOr<std::optional<std::string>>> Client::GetAsync(
    absl::string_view key) {
  return RunFuture<std::optional<std::string>>(
      this, MakeCommand("GET", {std::string(key)}), ParseOptionalString);
}

absl::StatusOr<bool> Client::Set(absl::string_view key, absl::string_view value,
                                 const SetOptions& options) {
  return RunSync<bool>(this, SetCommand(key, value, options), ParseSetReply);
}

void Client::SetAsync(absl::string_view key, absl::string_view value,
                      const SetOptions& options, Callback<bool> done) {
  ExecuteAsync(SetCommand(key, value, options),
               Parsed<bool>(ParseSetReply, std::move(done)));
}

std::future<absl::StatusOr<bool>> Client::SetAsync(absl::string_view key,
                                                   absl::string_view value,
                                                   const SetOptions& options) {
  return RunFuture<bool>(this, SetCommand(key, value, options), ParseSetReply);
}

absl::StatusOr<int64_t> Client::Del(absl::string_view key) {
  return RunSync<int64_t>(this, MakeCommand("DEL", {std::string(key)}),
                          ParseInteger);
}

std::future<absl::StatusOr<int64_t>> Client::DelAsync(absl::string_view key) {
  return RunFuture<int64_t>(this, MakeCommand("DEL", {std::string(key)}),
                            ParseInteger);
}

absl::StatusOr<int64_t> Client::Del(const std::vector<std::string>& keys) {
  if (keys.empty()) return 0;
  return RunSync<int64_t>(this, MakeCommand("DEL", keys), ParseInteger);
}

absl::StatusOr<int64_t> Client::Exists(const std::vector<std::string>& keys) {
  if (keys.empty()) return 0;
  return RunSync<int64_t>(this, MakeCommand("EXISTS", keys), ParseInteger);
}

absl::StatusOr<bool> Client::Expire(absl::string_view key, absl::Duration ttl) {
  v1::Command command =
      IsWholeSeconds(ttl)
          ? MakeCommand("EXPIRE", {std::string(key), DurationSeconds(ttl)})
          : MakeCommand("PEXPIRE",
                        {std::string(key),
                         absl::StrCat(absl::ToInt64Milliseconds(ttl))});
  return RunSync<bool>(this, std::move(command), ParseIntegerAsBool);
}

absl::StatusOr<int64_t> Client::Ttl(absl::string_view key) {
  return RunSync<int64_t>(this, MakeCommand("TTL", {std::string(key)}),
                          ParseInteger);
}

absl::StatusOr<std::vector<std::optional<std::string>>> Client::MGet(
    const std::vector<std::string>& keys) {
  if (keys.empty()) return std::vector<std::optional<std::string>>();
  return RunSync<std::vector<std::optional<std::string>>>(
      this, MakeCommand("MGET", keys), ParseOptionalStrings);
}

absl::Status Client::MSet(
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  if (pairs.empty()) return absl::OkStatus();
  std::vector<std::string> args;
  args.reserve(2 * pairs.size());
  for (const auto& [key, value] : pairs) {
    args.push_back(key);
    args.push_back(value);
  }
  return RunSync<v1::Value>(this, MakeCommand("MSET", std::move(args)),
                            ParseValue)
      .status();
}

absl::StatusOr<int64_t> Client::Incr(absl::string_view key) {
  return RunSync<int64_t>(this, MakeCommand("INCR", {std::string(key)}),
                          ParseInteger);
}

absl::StatusOr<int64_t> Client::IncrBy(absl::string_view key, int64_t delta) {
  return RunSync<int64_t>(
      this, MakeCommand("INCRBY", {std::string(key), absl::StrCat(delta)}),
      ParseInteger);
}

std::future<absl::StatusOr<int64_t>> Client::IncrByAsync(absl::string_view key,
                                                         int64_t delta) {
  return RunFuture<int64_t>(
      this, MakeCommand("INCRBY", {std::string(key), absl::StrCat(delta)}),
      ParseInteger);
}

absl::StatusOr<int64_t> Client::DecrBy(absl::string_view key, int64_t delta) {
  return RunSync<int64_t>(
      this, MakeCommand("DECRBY", {std::string(key), absl::StrCat(delta)}),
      ParseInteger);
}

absl::StatusOr<double> Client::IncrByFloat(absl::string_view key,
                                           double delta) {
  return RunSync<double>(
      this, MakeCommand("INCRBYFLOAT", {std::string(key), absl::StrCat(delta)}),
      ParseDouble);
}

absl::StatusOr<int64_t> Client::HSet(absl::string_view key,
                                     absl::string_view field,
                                     absl::string_view value) {
  return RunSync<int64_t>(
      this,
      MakeCommand("HSET",
                  {std::string(key), std::string(field), std::string(value)}),
      ParseInteger);
}

absl::StatusOr<int64_t> Client::HSet(
    absl::string_view key,
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<std::string> args = {std::string(key)};
  for (const auto& [field, value] : fields) {
    args.push_back(field);
    args.push_back(value);
  }
  return RunSync<int64_t>(this, MakeCommand("HSET", std::move(args)),
                          ParseInteger);
}

absl::StatusOr<std::optional<std::string>> Client::HGet(
    absl::string_view key, absl::string_view field) {
  return RunSync<std::optional<std::string>>(
      this, MakeCommand("HGET", {std::string(key), std::string(field)}),
      ParseOptionalString);
}

std::future<absl::StatusOr<std::optional<std::string>>> Client::HGetAsync(
    absl::string_view key, absl::string_view field) {
  return RunFuture<std::optional<std::string>>(
      this, MakeCommand("HGET", {std::string(key), std::string(field)}),
      ParseOptionalString);
}

absl::StatusOr<std::vector<std::optional<std::string>>> Client::HMGet(
    absl::string_view key, const std::vector<std::string>& fields) {
  std::vector<std::string> args = {std::string(key)};
  args.insert(args.end(), fields.begin(), fields.end());
  return RunSync<std::vector<std::optional<std::string>>>(
      this, MakeCommand("HMGET", std::move(args)), ParseOptionalStrings);
}

absl::StatusOr<int64_t> Client::HDel(absl::string_view key,
                                     const std::vector<std::string>& fields) {
  std::vector<std::string> args = {std::string(key)};
  args.insert(args.end(), fields.begin(), fields.end());
  return RunSync<int64_t>(this, MakeCommand("HDEL", std::move(args)),
                          ParseInteger);
}

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> Client::HGetAll(
    absl::string_view key) {
  return RunSync<absl::flat_hash_map<std::string, std::string>>(
      this, MakeCommand("HGETALL", {std::string(key)}), ParseFieldMap);
}

absl::StatusOr<int64_t> Client::HIncrBy(absl::string_view key,
                                        absl::string_view field,
                                        int64_t delta) {
  return RunSync<int64_t>(
      this,
      MakeCommand("HINCRBY",
                  {std::string(key), std::string(field), absl::StrCat(delta)}),
      ParseInteger);
}

absl::StatusOr<int64_t> Client::HLen(absl::string_view key) {
  return RunSync<int64_t>(this, MakeCommand("HLEN", {std::string(key)}),
                          ParseInteger);
}

}  // namespace slotcache
