#include "common/commands/command_table.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace slotcache {
namespace {

// clang-format off
constexpr CommandSpec kCommands[] = {
#define SLOTCACHE_COMMAND(name, handler, arity, flags, first_key, last_key, \
                          key_step, split)                                  \
  {CommandId::k##name, #name, arity, flags, first_key, last_key, key_step,  \
   SplitMerge::split},
#include "common/commands/commands.def"
#undef SLOTCACHE_COMMAND
};
// clang-format on

// Client bytes quoted in an error, as Redis quotes them (at most
// `max_bytes`, CR and LF as spaces), with any other non-printable byte as \xNN
// so the text stays valid UTF-8 for gRPC's string field.
std::string Quoted(absl::string_view text, size_t max_bytes) {
  std::string out;
  for (unsigned char ch : text.substr(0, max_bytes)) {
    if (ch == '\r' || ch == '\n') {
      out += ' ';
    } else if (ch >= 0x20 && ch < 0x7f) {
      out += static_cast<char>(ch);
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(ch, absl::kZeroPad2));
    }
  }
  return out;
}

const absl::flat_hash_map<std::string, const CommandSpec*>& Index() {
  static const auto* const index = [] {
    auto* m = new absl::flat_hash_map<std::string, const CommandSpec*>();
    for (const CommandSpec& spec : kCommands) {
      (*m)[std::string(spec.name)] = &spec;
    }
    return m;
  }();
  return *index;
}

}  // namespace

KeyPositions KeyPositionsOf(const CommandSpec& spec, int argc) {
  KeyPositions keys;
  if (spec.first_key < 0 || spec.key_step <= 0) return keys;
  keys.first = spec.first_key;
  keys.last = spec.last_key >= 0 ? spec.last_key : argc + spec.last_key;
  if (keys.last > argc - 1) keys.last = argc - 1;
  keys.step = spec.key_step;
  return keys;
}

const CommandSpec* FindCommand(absl::string_view name) {
  // Command names are short; a stack copy avoids an allocation per lookup.
  char upper[32];
  if (name.empty() || name.size() > sizeof(upper)) return nullptr;
  for (size_t i = 0; i < name.size(); ++i) {
    upper[i] = absl::ascii_toupper(static_cast<unsigned char>(name[i]));
  }
  const auto& index = Index();
  auto it = index.find(absl::string_view(upper, name.size()));
  return it == index.end() ? nullptr : it->second;
}

absl::StatusOr<const CommandSpec*> ResolveCommand(const v1::Command& command) {
  const CommandSpec* spec = FindCommand(command.name());
  // Redis' exact texts (clients and tests match them); the error code
  // (INVALID_ARGUMENT) is what gRPC callers branch on.
  if (spec == nullptr) {
    // Like Redis: the first arguments, up to 128 bytes in all.
    constexpr size_t kMaxQuoted = 128;
    std::string args;
    for (int i = 0; i < command.args_size() && args.size() < kMaxQuoted; ++i) {
      absl::StrAppend(&args, "'",
                      Quoted(command.args(i), kMaxQuoted - args.size()), "' ");
    }
    return InvalidInputError(absl::StrCat(
        "ERR unknown command '", Quoted(command.name(), kMaxQuoted),
        "', with args beginning with: ", args));
  }
  if (!HasValidArity(*spec, command)) {
    return InvalidInputError(absl::StrCat("ERR wrong number of arguments for '",
                                          absl::AsciiStrToLower(spec->name),
                                          "' command"));
  }
  return spec;
}

absl::Span<const CommandSpec> AllCommands() { return kCommands; }

bool HasValidArity(const CommandSpec& spec, const v1::Command& command) {
  const int words = command.args_size() + 1;
  return spec.arity >= 0 ? words == spec.arity : words >= -spec.arity;
}

std::vector<absl::string_view> CommandKeys(const CommandSpec& spec,
                                           const v1::Command& command) {
  const KeyPositions positions = KeyPositionsOf(spec, command.args_size());
  std::vector<absl::string_view> keys;
  keys.reserve(positions.size());
  for (int i = positions.first; i <= positions.last; i += positions.step) {
    keys.push_back(command.args(i));
  }
  return keys;
}

}  // namespace slotcache
