#include "common/node_id.h"

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace slotcache {

std::string NewNodeId() {
  absl::BitGen gen;
  return absl::StrFormat("%010x", absl::Uniform<uint64_t>(gen, 0, 1ull << 40));
}

bool IsValidNodeId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_') {
      return false;
    }
  }
  return true;
}

}  // namespace slotcache
