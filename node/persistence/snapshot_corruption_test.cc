// Damaged snapshots are refused before anything is loaded, with an error
// that names the file: a flipped byte in an SST file, a truncated file, a
// missing file, an unknown format version, an edited or missing manifest.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "node/persistence/manifest.h"
#include "node/persistence/snapshot_format.h"
#include "node/persistence/snapshot_reader.h"
#include "node/persistence/snapshot_writer.h"
#include "node/replication/replication_log.h"
#include "node/storage/store.h"

namespace slotcache::node::persistence {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const fs::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

class SnapshotCorruptionTest : public testing::Test {
 protected:
  // One good snapshot, shared by the tests (each damages its own copy).
  static void SetUpTestSuite() {
    original_ = new std::string(
        (fs::path(testing::TempDir()) / "corruption_original").string());
    fs::remove_all(*original_);
    ReplicationLog log({64 << 20, Clock::Real()});
    storage::StoreOptions options;
    options.listener = &log;
    storage::Store store(options);
    for (int i = 0; i < 20000; ++i) {
      ASSERT_TRUE(
          store.Set(absl::StrCat("key", i), std::string(100, 'v')).ok());
    }
    SnapshotTarget target;
    target.directory = *original_;
    absl::StatusOr<v1::SnapshotManifest> manifest =
        WriteSnapshot(&store, &log, target);
    ASSERT_TRUE(manifest.ok()) << manifest.status();
  }
  static void TearDownTestSuite() { delete original_; }

  // A fresh copy of the good snapshot, for this test to damage.
  void SetUp() override {
    copy_ = fs::path(testing::TempDir()) /
            testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(copy_);
    fs::copy(*original_, copy_, fs::copy_options::recursive);
    absl::StatusOr<v1::SnapshotManifest> manifest =
        ReadManifest(copy_.string());
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    manifest_ = *manifest;
  }

  // The first listed file whose name ends with `suffix`.
  std::string ListedFile(const std::string& suffix) {
    for (const v1::SnapshotFile& file : manifest_.files()) {
      if (absl::EndsWith(file.name(), suffix)) return file.name();
    }
    ADD_FAILURE() << "the snapshot lists no " << suffix << " file";
    return "";
  }

  // Loading the copy fails with `code`, mentions `text`, loads nothing.
  void ExpectRefused(absl::StatusCode code, const std::string& text) {
    storage::Store store;
    absl::StatusOr<LoadResult> result = LoadSnapshot(copy_.string(), &store);
    ASSERT_FALSE(result.ok()) << "a damaged snapshot was loaded";
    EXPECT_EQ(result.status().code(), code) << result.status();
    EXPECT_NE(result.status().message().find(text), std::string::npos)
        << result.status();
    EXPECT_EQ(store.DbSize(), 0);
  }

  static std::string* original_;
  fs::path copy_;
  v1::SnapshotManifest manifest_;
};

std::string* SnapshotCorruptionTest::original_ = nullptr;

TEST_F(SnapshotCorruptionTest, IntactCopyLoads) {
  storage::Store store;
  absl::StatusOr<LoadResult> result = LoadSnapshot(copy_.string(), &store);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->keys_loaded, 20000u);
}

TEST_F(SnapshotCorruptionTest, FlippedByteInAnSstFileIsRefused) {
  const std::string sst = ListedFile(".sst");
  std::string data = ReadAll(copy_ / sst);
  ASSERT_GT(data.size(), 100u);
  data[data.size() / 2] ^= 0x01;
  WriteAll(copy_ / sst, data);
  ExpectRefused(absl::StatusCode::kDataLoss,
                absl::StrCat("file ", sst, " has CRC32C"));
}

TEST_F(SnapshotCorruptionTest, TruncatedFileIsRefused) {
  const std::string sst = ListedFile(".sst");
  fs::resize_file(copy_ / sst, fs::file_size(copy_ / sst) - 1);
  ExpectRefused(absl::StatusCode::kDataLoss,
                absl::StrCat("file ", sst, " has "));
}

TEST_F(SnapshotCorruptionTest, MissingSstFileIsRefused) {
  const std::string sst = ListedFile(".sst");
  fs::remove(copy_ / sst);
  ExpectRefused(
      absl::StatusCode::kDataLoss,
      absl::StrCat("file ", sst, " listed in its manifest is missing"));
}

TEST_F(SnapshotCorruptionTest, MissingRocksDbManifestIsRefused) {
  const std::string current = ListedFile("/CURRENT");
  fs::remove(copy_ / current);
  ExpectRefused(absl::StatusCode::kDataLoss, "db/CURRENT");
}

TEST_F(SnapshotCorruptionTest, UnknownFormatVersionIsRefused) {
  const fs::path path = copy_ / kManifestFileName;
  const std::string json = ReadAll(path);
  const std::string edited = absl::StrReplaceAll(
      json, {{"\"format_version\": 1", "\"format_version\": 2"}});
  ASSERT_NE(json, edited);
  WriteAll(path, edited);
  ExpectRefused(absl::StatusCode::kFailedPrecondition, "has format version 2");
}

TEST_F(SnapshotCorruptionTest, EditedManifestIsRefused) {
  const fs::path path = copy_ / kManifestFileName;
  const std::string json = ReadAll(path);
  const std::string edited = absl::StrReplaceAll(
      json, {{"\"key_count\": \"20000\"", "\"key_count\": \"20001\""}});
  ASSERT_NE(json, edited);
  WriteAll(path, edited);
  ExpectRefused(absl::StatusCode::kDataLoss,
                "manifest.json was changed after it was written");
}

TEST_F(SnapshotCorruptionTest, GarbledManifestIsRefused) {
  const fs::path path = copy_ / kManifestFileName;
  WriteAll(path, ReadAll(path).substr(0, 40));
  ExpectRefused(absl::StatusCode::kDataLoss, "manifest.json is not valid");
}

TEST_F(SnapshotCorruptionTest, MissingManifestIsRefused) {
  fs::remove(copy_ / kManifestFileName);
  ExpectRefused(absl::StatusCode::kNotFound,
                "is not a complete snapshot: it has no manifest.json");
}

}  // namespace
}  // namespace slotcache::node::persistence
