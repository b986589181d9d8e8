#include "node/persistence/manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "node/persistence/snapshot_format.h"

namespace slotcache::node::persistence {
namespace {

namespace fs = std::filesystem;

std::string JoinPath(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

// What an operator does about any corrupt or partial snapshot.
constexpr char kCorruptAdvice[] =
    "the snapshot cannot be used: restore another copy of it or take a new "
    "one";

absl::Status WriteSynced(const std::string& path, const std::string& data) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create ", path, ": ",
                                            std::strerror(errno),
                                            "; check the directory is "
                                            "writable"));
  }
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return absl::InternalError(absl::StrCat("cannot write ", path, ": ", why,
                                              " (is the disk full?)"));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const std::string why = synced ? "" : std::strerror(errno);
  ::close(fd);
  if (!synced) {
    return absl::InternalError(absl::StrCat("cannot sync ", path, ": ", why));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ManifestChecksum(const v1::SnapshotManifest& manifest) {
  v1::SnapshotManifest copy = manifest;
  copy.clear_manifest_crc32c();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  return Crc32cHex(bytes);
}

absl::StatusOr<std::vector<v1::SnapshotFile>> ListDatabaseFiles(
    const std::string& snapshot_dir, bool sync) {
  const std::string db_dir = JoinPath(snapshot_dir, kDatabaseDirName);
  std::vector<v1::SnapshotFile> files;
  std::error_code error;
  for (fs::directory_iterator it(db_dir, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!it->is_regular_file() || IsVolatileDatabaseFile(name)) continue;
    absl::StatusOr<FileDigest> digest = DigestFile(it->path().string(), sync);
    if (!digest.ok()) return digest.status();
    v1::SnapshotFile& file = files.emplace_back();
    file.set_name(absl::StrCat(kDatabaseDirName, "/", name));
    file.set_size_bytes(digest->size_bytes);
    file.set_crc32c(digest->crc32c);
  }
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot list ", db_dir, ": ", error.message()));
  }
  std::sort(files.begin(), files.end(),
            [](const v1::SnapshotFile& a, const v1::SnapshotFile& b) {
              return a.name() < b.name();
            });
  if (sync) {
    if (absl::Status s = SyncDirectory(db_dir); !s.ok()) return s;
  }
  return files;
}

absl::Status WriteManifest(const std::string& snapshot_dir,
                           v1::SnapshotManifest manifest) {
  manifest.set_format(kSnapshotFormatName);
  manifest.set_manifest_crc32c(ManifestChecksum(manifest));
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  if (auto s =
          google::protobuf::util::MessageToJsonString(manifest, &json, options);
      !s.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot encode the snapshot manifest: ", s.ToString()));
  }
  const std::string path = JoinPath(snapshot_dir, kManifestFileName);
  const std::string tmp = absl::StrCat(path, ".tmp");
  if (absl::Status s = WriteSynced(tmp, json); !s.ok()) return s;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path,
                                            ": ", std::strerror(errno)));
  }
  return SyncDirectory(snapshot_dir);
}

absl::StatusOr<v1::SnapshotManifest> ReadManifest(
    const std::string& snapshot_dir) {
  const std::string path = JoinPath(snapshot_dir, kManifestFileName);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(
        "'", snapshot_dir, "' is not a complete snapshot: it has no ",
        kManifestFileName,
        " (the snapshot was never finished or the file was removed); ",
        kCorruptAdvice));
  }
  std::stringstream text;
  text << in.rdbuf();
  v1::SnapshotManifest manifest;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto s = google::protobuf::util::JsonStringToMessage(text.str(),
                                                           &manifest, options);
      !s.ok()) {
    return absl::DataLossError(absl::StrCat("snapshot manifest ", path,
                                            " is not valid: ", s.ToString(),
                                            "; ", kCorruptAdvice));
  }
  if (manifest.format() != kSnapshotFormatName) {
    return absl::DataLossError(absl::StrCat(
        path, " is not a slotcache snapshot manifest (format '",
        manifest.format(), "', expected '", kSnapshotFormatName, "')"));
  }
  if (manifest.format_version() != kSnapshotFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot ", snapshot_dir, " has format version ",
        manifest.format_version(), " (", path,
        "); this build reads only "
        "version ",
        kSnapshotFormatVersion,
        ": load it with a slotcache release that knows that version"));
  }
  const std::string crc = ManifestChecksum(manifest);
  if (crc != manifest.manifest_crc32c()) {
    return absl::DataLossError(
        absl::StrCat("snapshot manifest ", path,
                     " was changed after it was written (its "
                     "checksum is ",
                     crc, ", it records ", manifest.manifest_crc32c(), "); ",
                     kCorruptAdvice));
  }
  return manifest;
}

absl::StatusOr<v1::SnapshotManifest> VerifySnapshot(
    const std::string& snapshot_dir) {
  absl::StatusOr<v1::SnapshotManifest> manifest = ReadManifest(snapshot_dir);
  if (!manifest.ok()) return manifest.status();
  for (const v1::SnapshotFile& file : manifest->files()) {
    const std::string path = JoinPath(snapshot_dir, file.name());
    std::error_code error;
    const uintmax_t size = fs::file_size(path, error);
    if (error) {
      return absl::DataLossError(
          absl::StrCat("snapshot ", snapshot_dir, " is incomplete: file ",
                       file.name(), " listed in its manifest is missing (",
                       error.message(), "); ", kCorruptAdvice));
    }
    if (size != file.size_bytes()) {
      return absl::DataLossError(absl::StrCat(
          "snapshot ", snapshot_dir, " is corrupt: file ", file.name(), " has ",
          size, " bytes, its manifest says ", file.size_bytes(),
          " (truncated or overwritten); ", kCorruptAdvice));
    }
    absl::StatusOr<FileDigest> digest = DigestFile(path, /*sync=*/false);
    if (!digest.ok()) return digest.status();
    if (digest->crc32c != file.crc32c()) {
      return absl::DataLossError(absl::StrCat(
          "snapshot ", snapshot_dir, " is corrupt: file ", file.name(),
          " has CRC32C ", digest->crc32c, ", its manifest says ", file.crc32c(),
          "; ", kCorruptAdvice));
    }
  }
  return manifest;
}

}  // namespace slotcache::node::persistence
