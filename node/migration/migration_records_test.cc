#include "node/migration/migration_records.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/slot.h"
#include "gtest/gtest.h"

namespace slotcache::node::migration {
namespace {

storage::KeyRecord StringRecord(std::string key, std::string value) {
  storage::KeyRecord r;
  r.key = std::move(key);
  r.type = storage::ValueType::kString;
  r.value = std::move(value);
  r.expire_at = absl::FromUnixMillis(1'900'000'000'000);
  return r;
}

storage::KeyRecord HashRecord(std::string key, int fields) {
  storage::KeyRecord r;
  r.key = std::move(key);
  r.type = storage::ValueType::kHash;
  for (int i = 0; i < fields; ++i) {
    r.fields.emplace_back(absl::StrCat("field", i), std::string(100, 'v'));
  }
  return r;
}

// Builds chunks of `chunk_bytes` from `records` and returns them.
std::vector<v1::MigrationChunk> Chunk(
    uint64_t chunk_bytes, const std::vector<storage::KeyRecord>& records) {
  std::vector<v1::MigrationChunk> chunks;
  ChunkBuilder builder(chunk_bytes, [&](v1::MigrationChunk* chunk) {
    chunks.push_back(*chunk);
    return true;
  });
  for (const storage::KeyRecord& r : records) EXPECT_TRUE(builder.Add(r));
  EXPECT_TRUE(builder.Flush());
  return chunks;
}

// Feeds every piece of `chunks` to an assembler; returns the whole records.
std::vector<storage::KeyRecord> Assemble(
    const std::vector<v1::MigrationChunk>& chunks) {
  std::vector<storage::KeyRecord> out;
  RecordAssembler assembler;
  for (const v1::MigrationChunk& chunk : chunks) {
    for (const v1::MigrationRecord& piece : chunk.records()) {
      auto done = assembler.Add(piece);
      EXPECT_TRUE(done.ok()) << done.status();
      if (done.ok() && done->has_value()) out.push_back(**done);
    }
  }
  EXPECT_FALSE(assembler.pending());
  return out;
}

void ExpectSame(const storage::KeyRecord& a, const storage::KeyRecord& b) {
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.fields, b.fields);
  EXPECT_EQ(a.expire_at, b.expire_at);
}

TEST(SlotSetTest, ParsesRangesAndRefusesBadOnes) {
  v1::SlotRange range;
  range.set_start(3);
  range.set_end(5);
  google::protobuf::RepeatedPtrField<v1::SlotRange> ranges;
  *ranges.Add() = range;
  auto slots = SlotSetFromRanges(ranges);
  ASSERT_TRUE(slots.ok());
  EXPECT_EQ(SlotList(*slots), (std::vector<uint32_t>{3, 4, 5}));
  EXPECT_EQ(SlotSetString(*slots), "3-5");
  ranges.Mutable(0)->set_end(kNumSlots);
  EXPECT_FALSE(SlotSetFromRanges(ranges).ok());
  EXPECT_FALSE(SlotSetFromRanges({}).ok()) << "no slots";
}

TEST(ChunkBuilderTest, PacksSmallRecordsIntoChunksOfAboutTheLimit) {
  std::vector<storage::KeyRecord> records;
  for (int i = 0; i < 100; ++i) {
    records.push_back(StringRecord(absl::StrCat("k", i), std::string(90, 'x')));
  }
  std::vector<v1::MigrationChunk> chunks = Chunk(1024, records);
  EXPECT_GT(chunks.size(), 5u);
  for (const v1::MigrationChunk& chunk : chunks) {
    EXPECT_LE(chunk.ByteSizeLong(), 1024u + 200u);
    for (const v1::MigrationRecord& piece : chunk.records()) {
      EXPECT_FALSE(piece.continuation());
      EXPECT_FALSE(piece.more_follows());
    }
  }
  std::vector<storage::KeyRecord> back = Assemble(chunks);
  ASSERT_EQ(back.size(), records.size());
  for (size_t i = 0; i < back.size(); ++i) ExpectSame(back[i], records[i]);
}

TEST(ChunkBuilderTest, SplitsABigStringIntoPiecesThatReassemble) {
  std::string big;
  for (int i = 0; i < 10000; ++i) big += static_cast<char>('a' + i % 26);
  std::vector<storage::KeyRecord> records = {StringRecord("before", "1"),
                                             StringRecord("big", big),
                                             StringRecord("after", "2")};
  std::vector<v1::MigrationChunk> chunks = Chunk(1024, records);
  int pieces = 0;
  for (const v1::MigrationChunk& chunk : chunks) {
    EXPECT_LE(chunk.ByteSizeLong(), 1024u + 200u);
    for (const v1::MigrationRecord& piece : chunk.records()) {
      if (piece.record().key() != "big") continue;
      EXPECT_EQ(piece.continuation(), pieces > 0);
      // Only the first piece carries the expiry.
      EXPECT_EQ(piece.record().expire_at_unix_ms() != 0, pieces == 0);
      ++pieces;
    }
  }
  EXPECT_GE(pieces, 10);
  std::vector<storage::KeyRecord> back = Assemble(chunks);
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < back.size(); ++i) ExpectSame(back[i], records[i]);
}

TEST(ChunkBuilderTest, SplitsABigHashByFields) {
  std::vector<storage::KeyRecord> records = {HashRecord("h", 500)};
  std::vector<v1::MigrationChunk> chunks = Chunk(4096, records);
  EXPECT_GT(chunks.size(), 10u);
  const v1::MigrationRecord& last =
      chunks.back().records(chunks.back().records_size() - 1);
  EXPECT_TRUE(last.continuation());
  EXPECT_FALSE(last.more_follows());
  std::vector<storage::KeyRecord> back = Assemble(chunks);
  ASSERT_EQ(back.size(), 1u);
  ExpectSame(back[0], records[0]);
}

TEST(ChunkBuilderTest, StopsWhenTheStreamBreaks) {
  int emitted = 0;
  ChunkBuilder builder(256, [&](v1::MigrationChunk*) {
    ++emitted;
    return false;
  });
  EXPECT_FALSE(builder.Add(StringRecord("big", std::string(5000, 'x'))));
  EXPECT_EQ(emitted, 1);
}

TEST(RecordAssemblerTest, RefusesPiecesOutOfOrder) {
  RecordAssembler assembler;
  v1::MigrationRecord orphan;
  orphan.mutable_record()->set_key("k");
  orphan.mutable_record()->set_type(v1::STRING);
  orphan.set_continuation(true);
  EXPECT_FALSE(assembler.Add(orphan).ok()) << "no first piece";

  v1::MigrationRecord first = orphan;
  first.set_continuation(false);
  first.set_more_follows(true);
  ASSERT_TRUE(assembler.Add(first).ok());
  EXPECT_TRUE(assembler.pending());
  v1::MigrationRecord other = first;
  other.mutable_record()->set_key("other");
  EXPECT_FALSE(assembler.Add(other).ok()) << "a new key mid-assembly";
  other.set_continuation(true);
  EXPECT_FALSE(assembler.Add(other).ok()) << "a piece of another key";
}

TEST(FilterEntriesTest, KeepsOnlyTheSlotsEntriesAndFlushAll) {
  SlotSet slots;
  slots.set(KeySlot("mine"));
  v1::LogEntries in;
  v1::LogEntry* set = in.add_entries();
  set->set_offset(1);
  set->mutable_set()->set_key("mine");
  v1::LogEntry* other = in.add_entries();
  other->set_offset(2);
  other->mutable_set()->set_key("not-mine");
  ASSERT_FALSE(slots.test(KeySlot("not-mine")));
  v1::LogEntry* del = in.add_entries();
  del->set_offset(3);
  del->set_deleted_key("mine");
  v1::LogEntry* flush = in.add_entries();
  flush->set_offset(4);
  flush->mutable_flush_all();
  v1::LogEntries out;
  FilterEntries(in, slots, &out);
  ASSERT_EQ(out.entries_size(), 3);
  EXPECT_EQ(out.entries(0).offset(), 1u);
  EXPECT_EQ(out.entries(1).offset(), 3u);
  EXPECT_EQ(out.entries(2).offset(), 4u);
}

}  // namespace
}  // namespace slotcache::node::migration
