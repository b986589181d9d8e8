// memory_benchmark: loads N string keys into a Store and prints what they
// cost per key, measured from the process (allocator statistics and RSS)
// next to the store's own accounting.
//
//   bazel run -c opt //node/storage:memory_benchmark -- --keys=1000000
//
// The key and value bytes follow tests/bench/memory_compare.sh, which loads
// the same data into redis-server for comparison.
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "common/process.h"
#include "node/storage/store.h"

ABSL_FLAG(int64_t, keys, 1000000, "Number of keys to load.");
ABSL_FLAG(int, key_size, 16, "Bytes per key (>= 13).");
ABSL_FLAG(int, value_size, 32, "Bytes per value (>= 13).");
ABSL_FLAG(int64_t, ttl_seconds, 0, "Give every key this TTL; 0 = no TTL.");
ABSL_FLAG(int, hash_fields, 0,
          "If > 0, every key is a hash of this many fields (\"field:N\" -> "
          "value) instead of a string: checks the accounting of hashes.");

namespace {

// "key:" / "val:" + the index, zero-padded to `size` bytes.
std::string Padded(const char* prefix, int64_t i, int size) {
  std::string s = absl::StrFormat("%s%0*d", prefix, size - 4, i);
  s.resize(size, '0');
  return s;
}

int64_t HeapInUse() { return static_cast<int64_t>(mallinfo2().uordblks); }

int64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * sysconf(_SC_PAGESIZE);
}

}  // namespace

int main(int argc, char** argv) {
  slotcache::ParseFlags(argc, argv,
                        "memory_benchmark: bytes per key of the storage "
                        "engine.\n\nUsage: memory_benchmark [--keys=N] "
                        "[--key_size=B] [--value_size=B] [--ttl_seconds=S]");
  const int64_t n = absl::GetFlag(FLAGS_keys);
  const int key_size = absl::GetFlag(FLAGS_key_size);
  const int value_size = absl::GetFlag(FLAGS_value_size);
  const int64_t ttl = absl::GetFlag(FLAGS_ttl_seconds);
  const int hash_fields = absl::GetFlag(FLAGS_hash_fields);
  if (n <= 0 || key_size < 13 || value_size < 13) {
    std::fprintf(stderr,
                 "memory_benchmark: need --keys > 0, --key_size >= 13 and "
                 "--value_size >= 13\n");
    return 2;
  }
  // Baselines before the store exists: its fixed tables count too.
  const int64_t heap0 = HeapInUse();
  const int64_t rss0 = RssBytes();
  auto* store = new slotcache::node::storage::Store();
  slotcache::node::storage::SetOptions options;
  std::string key, value;
  for (int64_t i = 0; i < n; ++i) {
    key = Padded("key:", i, key_size);
    value = Padded("val:", i, value_size);
    if (ttl > 0) options.expire_at = store->Now() + absl::Seconds(ttl);
    absl::Status status;
    if (hash_fields > 0) {
      std::vector<std::string> names;
      std::vector<std::pair<absl::string_view, absl::string_view>> fields;
      for (int f = 0; f < hash_fields; ++f) {
        names.push_back(absl::StrFormat("field:%d", f));
      }
      for (const std::string& name : names) fields.emplace_back(name, value);
      status = store->HSet(key, fields).status();
      if (status.ok() && ttl > 0) store->ExpireAt(key, *options.expire_at);
    } else {
      status = store->Set(key, value, options).status();
    }
    if (!status.ok()) {
      std::fprintf(stderr, "memory_benchmark: SET failed at key %lld\n",
                   static_cast<long long>(i));
      return 1;
    }
  }
  key.clear();
  key.shrink_to_fit();
  value.clear();
  value.shrink_to_fit();
  const int64_t heap = HeapInUse() - heap0;
  const int64_t rss = RssBytes() - rss0;
  const int64_t accounted = store->UsedMemory();
  std::printf(
      "slotcache keys=%lld key_size=%d value_size=%d ttl=%s hash_fields=%d "
      "heap_bytes_per_key=%.1f rss_bytes_per_key=%.1f "
      "accounted_bytes_per_key=%.1f\n",
      static_cast<long long>(store->DbSize()), key_size, value_size,
      ttl > 0 ? "yes" : "no", hash_fields, static_cast<double>(heap) / n,
      static_cast<double>(rss) / n, static_cast<double>(accounted) / n);
  delete store;
  return 0;
}
