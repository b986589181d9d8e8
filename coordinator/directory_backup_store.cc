// The directory backend of BackupStore (file://PATH), and the checks of a
// stored shard snapshot (the same rules as node/persistence/manifest.h,
// which the coordinator does not link: it reads the files itself).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "coordinator/backup_store.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "rocksdb/file_checksum.h"

namespace slotcache::coordinator {
namespace fs = std::filesystem;
namespace {

constexpr char kSnapshotFormat[] = "slotcache-snapshot";
constexpr uint32_t kSnapshotFormatVersion = 1;
constexpr char kSnapshotManifestName[] = "manifest.json";
constexpr char kRemoveAdvice[] =
    "the backup cannot be restored: restore another one (`slotctl backup "
    "list`) and delete this one with `slotctl backup delete`";

std::unique_ptr<rocksdb::FileChecksumGenerator> NewCrc32c() {
  return rocksdb::GetFileChecksumGenCrc32cFactory()
      ->CreateFileChecksumGenerator(rocksdb::FileChecksumGenContext());
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `data` to `path` via a synced temporary file and a rename, then
// syncs the folder.
absl::Status WriteAtomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create ", tmp, ": ",
                                            std::strerror(errno),
                                            "; check the backup location"));
  }
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return absl::InternalError(
          absl::StrCat("cannot write ", tmp, ": ", why, "; is the disk full?"));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot sync and rename ", tmp,
                                            " to ", path, ": ",
                                            std::strerror(errno)));
  }
  const std::string dir = fs::path(path).parent_path().string();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FileCrc32c(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::unique_ptr<rocksdb::FileChecksumGenerator> crc = NewCrc32c();
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), buffer.size());
    if (in.gcount() > 0) crc->Update(buffer.data(), in.gcount());
  }
  crc->Finalize();
  return absl::BytesToHexString(crc->GetChecksum());
}

class DirectoryBackupStore final : public BackupStore {
 public:
  DirectoryBackupStore(std::string location, std::string root)
      : location_(std::move(location)), root_(std::move(root)) {}

  std::string Location() const override { return location_; }
  std::string BackupLocation(const std::string& name) const override {
    return absl::StrCat("file://", Dir(name));
  }

  absl::StatusOr<std::vector<v1::BackupInfo>> List() override {
    std::vector<v1::BackupInfo> out;
    std::error_code error;
    for (const fs::directory_entry& entry :
         fs::directory_iterator(root_, error)) {
      if (!entry.is_directory()) continue;
      const std::string name = entry.path().filename().string();
      if (!ValidateBackupName(name).ok()) continue;
      absl::StatusOr<v1::BackupInfo> info = ReadManifest(name);
      if (info.ok()) out.push_back(*std::move(info));
    }
    if (error) {
      return absl::InternalError(absl::StrCat(
          "cannot list the backup location ", root_, ": ", error.message()));
    }
    std::sort(out.begin(), out.end(),
              [](const v1::BackupInfo& a, const v1::BackupInfo& b) {
                return std::make_pair(a.created_unix_ms(), a.name()) <
                       std::make_pair(b.created_unix_ms(), b.name());
              });
    return out;
  }

  bool Exists(const std::string& name) override {
    std::error_code error;
    return fs::exists(Dir(name), error);
  }

  absl::StatusOr<v1::BackupInfo> ReadManifest(
      const std::string& name) override {
    if (absl::Status s = ValidateBackupName(name); !s.ok()) return s;
    const std::string path = absl::StrCat(Dir(name), "/", kBackupManifestName);
    absl::StatusOr<std::string> text = ReadWholeFile(path);
    if (!text.ok()) {
      return absl::NotFoundError(absl::StrCat(
          "no complete backup named '", name, "' in ", location_, " (", path,
          " is missing); see the backups with `slotctl backup list`"));
    }
    v1::BackupInfo info;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (auto s =
            google::protobuf::util::JsonStringToMessage(*text, &info, options);
        !s.ok()) {
      return absl::DataLossError(absl::StrCat("backup manifest ", path,
                                              " is not valid: ", s.ToString(),
                                              "; ", kRemoveAdvice));
    }
    return info;
  }

  absl::Status WriteManifest(const v1::BackupInfo& info) override {
    if (absl::Status s = ValidateBackupName(info.name()); !s.ok()) return s;
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    if (auto s =
            google::protobuf::util::MessageToJsonString(info, &json, options);
        !s.ok()) {
      return absl::InternalError(
          absl::StrCat("cannot encode the manifest of backup ", info.name(),
                       ": ", s.ToString()));
    }
    return WriteAtomically(
        absl::StrCat(Dir(info.name()), "/", kBackupManifestName), json);
  }

  absl::Status Delete(const std::string& name) override {
    if (absl::Status s = ValidateBackupName(name); !s.ok()) return s;
    std::error_code error;
    if (!fs::exists(Dir(name), error)) {
      return absl::NotFoundError(
          absl::StrCat("no backup named '", name, "' in ", location_,
                       "; see the backups with `slotctl backup list`"));
    }
    // The manifest first: a delete cut short leaves an unlisted leftover,
    // never a listed backup with missing parts.
    fs::remove(absl::StrCat(Dir(name), "/", kBackupManifestName), error);
    fs::remove_all(Dir(name), error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot delete ", Dir(name), ": ", error.message()));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> PrepareShardDirectory(
      const std::string& name, const std::string& shard_id) override {
    if (absl::Status s = ValidateBackupName(name); !s.ok()) return s;
    std::error_code error;
    fs::create_directories(Dir(name), error);
    const std::string dir = absl::StrCat(Dir(name), "/", shard_id);
    fs::remove_all(dir, error);
    if (error) {
      return absl::InternalError(absl::StrCat(
          "cannot prepare ", dir, " for a shard snapshot: ", error.message(),
          "; check that the backup location is writable"));
    }
    return dir;
  }

  std::string ShardDirectory(const std::string& name,
                             const v1::ShardBackup& shard) const override {
    return absl::StrCat(Dir(name), "/", shard.directory());
  }

  absl::StatusOr<v1::SnapshotManifest> VerifyShard(const std::string& name,
                                                   const v1::ShardBackup& shard,
                                                   bool full) override {
    if (shard.directory().empty() ||
        absl::StrContains(shard.directory(), "..") ||
        absl::StartsWith(shard.directory(), "/")) {
      return absl::DataLossError(
          absl::StrCat("backup ", name, ": shard ", shard.shard_id(),
                       " has directory '", shard.directory(),
                       "', which is not inside the backup; ", kRemoveAdvice));
    }
    const std::string dir = ShardDirectory(name, shard);
    const std::string path = absl::StrCat(dir, "/", kSnapshotManifestName);
    absl::StatusOr<std::string> text = ReadWholeFile(path);
    if (!text.ok()) {
      return absl::NotFoundError(absl::StrCat(
          "backup ", name, " is incomplete: shard ", shard.shard_id(),
          " has no snapshot (", path, " is missing); ", kRemoveAdvice));
    }
    v1::SnapshotManifest manifest;
    google::protobuf::util::JsonParseOptions options;
    if (auto s = google::protobuf::util::JsonStringToMessage(*text, &manifest,
                                                             options);
        !s.ok()) {
      return absl::DataLossError(absl::StrCat("backup ", name, ": ", path,
                                              " is not valid: ", s.ToString(),
                                              "; ", kRemoveAdvice));
    }
    if (manifest.format() != kSnapshotFormat) {
      return absl::DataLossError(absl::StrCat(
          "backup ", name, ": ", path, " is not a slotcache snapshot manifest",
          " (format '", manifest.format(), "'); ", kRemoveAdvice));
    }
    if (manifest.format_version() > kSnapshotFormatVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "backup ", name, ": shard ", shard.shard_id(),
          "'s snapshot has format version ", manifest.format_version(),
          "; this build reads only version ", kSnapshotFormatVersion,
          ": restore it with a slotcache release that knows that version"));
    }
    if (SnapshotManifestChecksum(manifest) != manifest.manifest_crc32c()) {
      return absl::DataLossError(absl::StrCat(
          "backup ", name, ": ", path,
          " does not match its own checksum (changed or damaged); ",
          kRemoveAdvice));
    }
    if (manifest.shard_id() != shard.shard_id() ||
        manifest.replication_offset() != shard.replication_offset() ||
        manifest.key_count() != shard.key_count()) {
      return absl::DataLossError(absl::StrCat(
          "backup ", name, ": the snapshot in ", dir, " (shard ",
          manifest.shard_id(), ", offset ", manifest.replication_offset(), ", ",
          manifest.key_count(),
          " keys) is not the one backup.json lists"
          " (shard ",
          shard.shard_id(), ", offset ", shard.replication_offset(), ", ",
          shard.key_count(), " keys): it was replaced; ", kRemoveAdvice));
    }
    for (const v1::SnapshotFile& file : manifest.files()) {
      const std::string file_path = absl::StrCat(dir, "/", file.name());
      std::error_code error;
      const uintmax_t size = fs::file_size(file_path, error);
      if (error) {
        return absl::DataLossError(
            absl::StrCat("backup ", name, " is incomplete: ", file_path,
                         " (listed in shard ", shard.shard_id(),
                         "'s snapshot) is missing; ", kRemoveAdvice));
      }
      if (size != file.size_bytes()) {
        return absl::DataLossError(
            absl::StrCat("backup ", name, " is corrupt: ", file_path, " has ",
                         size, " bytes, its snapshot manifest says ",
                         file.size_bytes(), "; ", kRemoveAdvice));
      }
      if (!full) continue;
      absl::StatusOr<std::string> crc = FileCrc32c(file_path);
      if (!crc.ok()) return crc.status();
      if (*crc != file.crc32c()) {
        return absl::DataLossError(
            absl::StrCat("backup ", name, " is corrupt: ", file_path,
                         " has CRC32C ", *crc, ", its snapshot manifest says ",
                         file.crc32c(), "; ", kRemoveAdvice));
      }
    }
    return manifest;
  }

 private:
  std::string Dir(const std::string& name) const {
    return absl::StrCat(root_, "/", name);
  }

  const std::string location_;
  const std::string root_;
};

}  // namespace

absl::Status ValidateBackupName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.';
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                c == '_' || c == '.');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "backup name '", name,
      "' is not 1-64 letters, digits, '-', '_' or '.' (not starting with "
      "'.'); pick another --name"));
}

std::string Crc32cHexOf(const std::string& bytes) {
  std::unique_ptr<rocksdb::FileChecksumGenerator> crc = NewCrc32c();
  crc->Update(bytes.data(), bytes.size());
  crc->Finalize();
  return absl::BytesToHexString(crc->GetChecksum());
}

std::string SnapshotManifestChecksum(const v1::SnapshotManifest& manifest) {
  v1::SnapshotManifest copy = manifest;
  copy.clear_manifest_crc32c();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  return Crc32cHexOf(bytes);
}

absl::StatusOr<std::unique_ptr<BackupStore>> OpenBackupStore(
    const std::string& location) {
  absl::string_view path = location;
  if (!absl::ConsumePrefix(&path, "file://") || !absl::StartsWith(path, "/")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "backup location '", location,
        "' is not file:///ABSOLUTE/PATH (the only backend so far); fix "
        "--backup_location"));
  }
  std::string root(path);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::error_code error;
  fs::create_directories(root, error);
  if (error || !fs::is_directory(root)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot create the backup folder ", root, ": ", error.message(),
        "; fix --backup_location or its permissions"));
  }
  return std::make_unique<DirectoryBackupStore>(location, root);
}

}  // namespace slotcache::coordinator
