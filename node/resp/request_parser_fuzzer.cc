// libFuzzer target for RequestParser: any byte sequence, delivered in
// reads of fuzzer-chosen sizes, must parse to commands, "need more" or a
// protocol error, never crash, and give the same commands however the
// input is split. Build and run (clang, see BUILD):
//   bazel build --config=fuzz //node/resp:request_parser_fuzzer
//   bazel-bin/node/resp/request_parser_fuzzer -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "node/resp/request_parser.h"

namespace {

using slotcache::node::resp::RequestParser;

// Small limits so the fuzzer reaches them.
RequestParser::Limits FuzzLimits() {
  RequestParser::Limits limits;
  limits.max_multibulk_length = 64;
  limits.max_bulk_bytes = 512;
  limits.max_inline_bytes = 256;
  return limits;
}

// Parses `input` fed `chunk` bytes at a time; returns the commands, each
// joined with '\0' between words, and a trailing "!error" on error.
std::vector<std::string> Run(const std::string& input, size_t chunk) {
  RequestParser parser(FuzzLimits());
  std::vector<std::string> out;
  std::string buffer;
  size_t offset = 0;
  while (true) {
    bool progressed = false;
    while (true) {
      size_t consumed = 0;
      const RequestParser::Result r = parser.Parse(buffer, &consumed);
      if (r == RequestParser::Result::kError) {
        out.push_back("!" + parser.error());
        return out;
      }
      if (r == RequestParser::Result::kNeedMore) break;
      if (consumed == 0 || consumed > buffer.size()) abort();
      std::string joined;
      for (auto a : parser.args())
        joined.append(a.data(), a.size()).push_back('\0');
      out.push_back(joined);
      buffer.erase(0, consumed);
      progressed = true;
    }
    if (offset >= input.size()) {
      if (!progressed) return out;
      continue;
    }
    buffer += input.substr(offset, chunk);
    offset += chunk;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 17;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (Run(input, chunk) != Run(input, input.size() + 1)) abort();
  return 0;
}
