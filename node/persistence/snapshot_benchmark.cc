// snapshot_benchmark: how fast a shard snapshot is written and loaded.
//
// Fills a store with --keys string keys of --key_bytes bytes and values of
// --value_bytes (not timed), then:
//  1. writes a snapshot (WriteSnapshot, without compaction, then again
//     with --compact's setting of CompactRange at the end);
//  2. verifies it alone (every file's CRC32C);
//  3. loads it into a fresh store (LoadSnapshot: verification + Restore).
// Reports MB/s of keys + values and keys/s for each, and the database size.
//
// Usage: bazel run -c opt //node/persistence:snapshot_benchmark --
//            --keys=1000000 --dir=/tmp/snapbench
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/process.h"
#include "node/persistence/manifest.h"
#include "node/persistence/snapshot_reader.h"
#include "node/persistence/snapshot_writer.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"

ABSL_FLAG(int64_t, keys, 1000000, "String keys in the store.");
ABSL_FLAG(int64_t, key_bytes, 16, "Bytes per key.");
ABSL_FLAG(int64_t, value_bytes, 100, "Bytes per value.");
ABSL_FLAG(std::string, dir, "",
          "Directory for the snapshots (created; removed at the end). "
          "Empty: a new one under $TMPDIR or /tmp.");

namespace slotcache::node::persistence {
namespace {

namespace fs = std::filesystem;

void Report(const char* what, absl::Duration took, uint64_t keys,
            uint64_t bytes) {
  const double seconds = absl::ToDoubleSeconds(took);
  std::printf("%-34s %8.3f s %9.1f MB/s %11.0f keys/s\n", what, seconds,
              bytes / 1e6 / seconds, keys / seconds);
}

int Run() {
  const int64_t keys = absl::GetFlag(FLAGS_keys);
  const int64_t key_bytes = absl::GetFlag(FLAGS_key_bytes);
  const std::string value(absl::GetFlag(FLAGS_value_bytes), 'v');
  std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        (fs::path(tmp != nullptr ? tmp : "/tmp") / "snapbench.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::fprintf(stderr, "cannot create a directory from %s\n",
                   pattern.c_str());
      return 1;
    }
    dir = pattern;
  }
  fs::create_directories(dir);

  ReplicationLog log({64ull << 20, Clock::Real()});
  storage::StoreOptions store_options;
  store_options.listener = &log;
  storage::Store store(store_options);
  for (int64_t i = 0; i < keys; ++i) {
    std::string key = absl::StrFormat("%0*d", key_bytes, i);
    key.resize(key_bytes, 'k');
    if (!store.Set(key, value).ok()) {
      std::fprintf(stderr, "cannot fill the store\n");
      return 1;
    }
  }
  const uint64_t bytes = keys * (key_bytes + value.size());
  std::printf("%d keys of %d B with %d B values: %.1f MB of keys+values\n",
              static_cast<int>(keys), static_cast<int>(key_bytes),
              static_cast<int>(value.size()), bytes / 1e6);

  std::string loaded_from;
  for (bool compact : {false, true}) {
    SnapshotTarget target;
    target.directory =
        (fs::path(dir) / (compact ? "compacted" : "plain")).string();
    SnapshotWriterOptions options;
    options.compact = compact;
    const absl::Time start = absl::Now();
    absl::StatusOr<v1::SnapshotManifest> manifest =
        WriteSnapshot(&store, &log, target, options);
    const absl::Duration took = absl::Now() - start;
    if (!manifest.ok()) {
      std::fprintf(stderr, "snapshot failed: %s\n",
                   manifest.status().ToString().c_str());
      return 1;
    }
    Report(
        compact ? "write (CompactRange at the end)" : "write (no compaction)",
        took, manifest->key_count(), bytes);
    std::printf("  database: %.1f MB in %d files\n",
                manifest->total_bytes() / 1e6, manifest->files_size());
    if (!compact) loaded_from = target.directory;
  }

  absl::Time start = absl::Now();
  absl::StatusOr<v1::SnapshotManifest> verified = VerifySnapshot(loaded_from);
  if (!verified.ok()) {
    std::fprintf(stderr, "verify failed: %s\n",
                 verified.status().ToString().c_str());
    return 1;
  }
  Report("verify (CRC32C of every file)", absl::Now() - start,
         verified->key_count(), verified->total_bytes());

  for (const char* name : {"plain", "compacted"}) {
    storage::Store fresh;
    start = absl::Now();
    absl::StatusOr<LoadResult> result =
        LoadSnapshot((fs::path(dir) / name).string(), &fresh);
    const absl::Duration took = absl::Now() - start;
    if (!result.ok()) {
      std::fprintf(stderr, "load failed: %s\n",
                   result.status().ToString().c_str());
      return 1;
    }
    Report(absl::StrFormat("load %s (verify + Restore)", name).c_str(), took,
           result->keys_loaded, bytes);
  }
  fs::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace slotcache::node::persistence

int main(int argc, char** argv) {
  slotcache::ParseFlags(argc, argv,
                        "snapshot_benchmark: snapshot write and load speed");
  return slotcache::node::persistence::Run();
}
