#include "node/persistence/snapshot_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/slot.h"
#include "rocksdb/env.h"
#include "rocksdb/file_checksum.h"

namespace slotcache::node::persistence {
namespace {

// Discards RocksDB's info log: a log file in the database directory would
// change after the manifest listed the files (a read-only open appends to
// it), and the snapshot code reports every error itself.
class DiscardLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
  void Logv(const rocksdb::InfoLogLevel /*level*/, const char* /*format*/,
            va_list /*ap*/) override {}
};

std::unique_ptr<rocksdb::FileChecksumGenerator> NewCrc32c() {
  return rocksdb::GetFileChecksumGenCrc32cFactory()
      ->CreateFileChecksumGenerator(rocksdb::FileChecksumGenContext());
}

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

std::string SlotPrefix(uint32_t slot) {
  std::string prefix(kSlotPrefixBytes, '\0');
  prefix[0] = static_cast<char>((slot >> 8) & 0xff);
  prefix[1] = static_cast<char>(slot & 0xff);
  return prefix;
}

std::string EncodeDatabaseKey(uint32_t slot, absl::string_view key) {
  std::string out = SlotPrefix(slot);
  out.append(key.data(), key.size());
  return out;
}

absl::optional<DecodedKey> DecodeDatabaseKey(absl::string_view db_key) {
  if (db_key.size() < kSlotPrefixBytes) return absl::nullopt;
  const uint32_t slot =
      (static_cast<uint8_t>(db_key[0]) << 8) | static_cast<uint8_t>(db_key[1]);
  if (slot >= kNumSlots) return absl::nullopt;
  return DecodedKey{slot, db_key.substr(kSlotPrefixBytes)};
}

absl::StatusOr<SlotSet> SlotSetOf(
    const google::protobuf::RepeatedPtrField<v1::SlotRange>& ranges) {
  static_assert(kNumSlots == 16384, "SlotSet is sized for 16384 slots");
  SlotSet set;
  if (ranges.empty()) return set.set();
  for (const v1::SlotRange& range : ranges) {
    if (range.start() > range.end() || range.end() >= kNumSlots) {
      return absl::InvalidArgumentError(
          absl::StrCat("slot range ", range.start(), "-", range.end(),
                       " is not valid; use start <= end <= ", kNumSlots - 1));
    }
    for (uint32_t slot = range.start(); slot <= range.end(); ++slot) {
      set.set(slot);
    }
  }
  return set;
}

std::string Crc32cHex(absl::string_view bytes) {
  std::unique_ptr<rocksdb::FileChecksumGenerator> crc = NewCrc32c();
  crc->Update(bytes.data(), bytes.size());
  crc->Finalize();
  return absl::BytesToHexString(crc->GetChecksum());
}

absl::StatusOr<FileDigest> DigestFile(const std::string& path, bool sync) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open snapshot file ", path, ": ", ErrnoText()));
  }
  std::unique_ptr<rocksdb::FileChecksumGenerator> crc = NewCrc32c();
  std::vector<char> buffer(1 << 20);
  FileDigest digest;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = ErrnoText();
      ::close(fd);
      return absl::DataLossError(
          absl::StrCat("cannot read snapshot file ", path, ": ", why));
    }
    if (n == 0) break;
    crc->Update(buffer.data(), static_cast<size_t>(n));
    digest.size_bytes += static_cast<uint64_t>(n);
  }
  if (sync && ::fsync(fd) != 0) {
    const std::string why = ErrnoText();
    ::close(fd);
    return absl::InternalError(absl::StrCat("cannot sync snapshot file ", path,
                                            ": ", why, " (is the disk full?)"));
  }
  ::close(fd);
  crc->Finalize();
  digest.crc32c = absl::BytesToHexString(crc->GetChecksum());
  return digest;
}

bool IsVolatileDatabaseFile(absl::string_view name) {
  return name == "LOCK" || name == "LOG" || absl::StartsWith(name, "LOG.old");
}

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", status.ToString()));
}

void ApplyCommonOptions(rocksdb::Options* options) {
  options->info_log = std::make_shared<DiscardLogger>();
  // Statistics dumps and stats persistence would only go to the log.
  options->stats_dump_period_sec = 0;
  options->stats_persist_period_sec = 0;
}

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot open directory ", dir, ": ", ErrnoText()));
  }
  const int rc = ::fsync(fd);
  const std::string why = rc == 0 ? "" : ErrnoText();
  ::close(fd);
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("cannot sync directory ", dir, ": ", why));
  }
  return absl::OkStatus();
}

}  // namespace slotcache::node::persistence
