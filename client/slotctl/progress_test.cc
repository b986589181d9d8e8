#include "client/slotctl/progress.h"

#include "gtest/gtest.h"

namespace slotcache::slotctl {
namespace {

v1::Operation Migration(uint32_t done, uint32_t total, uint64_t keys,
                        uint64_t keys_total, uint64_t bytes,
                        const std::string& step) {
  v1::Operation op;
  op.set_id("op-7");
  op.set_kind("migrate_slots");
  op.set_state(v1::Operation::RUNNING);
  op.add_moves()->set_from_shard_id("shard-1");
  v1::MigrationProgress* m = op.mutable_migration();
  m->set_slots_done(done);
  m->set_slots_total(total);
  m->set_keys_copied(keys);
  m->set_keys_total(keys_total);
  m->set_bytes_copied(bytes);
  m->set_step(step);
  return op;
}

TEST(ProgressTest, NumbersAndBar) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000), "1,000");
  EXPECT_EQ(FormatCount(230000), "230,000");
  EXPECT_EQ(FormatCount(1234567890), "1,234,567,890");
  EXPECT_EQ(FormatMegabytes(14200000), "14.2 MB");
  EXPECT_EQ(FormatMegabytes(0), "0.0 MB");
  EXPECT_EQ(ProgressBar(52, 100, 10), "[#####.....]");
  EXPECT_EQ(ProgressBar(0, 0, 4), "[....]");
  EXPECT_EQ(ProgressBar(7, 5, 4), "[####]") << "clamped";
  EXPECT_EQ(FormatEta(std::nullopt), "-");
  EXPECT_EQ(FormatEta(absl::Milliseconds(2100)), "3s");
  EXPECT_EQ(FormatEta(absl::Seconds(65)), "1m05s");
  EXPECT_EQ(FormatEta(absl::Seconds(7380)), "2h03m");
}

TEST(ProgressTest, LiveLineOfAMigration) {
  v1::Operation op =
      Migration(52, 100, 120000, 230000, 14200000, "catching up");
  EXPECT_EQ(FormatProgressLine(op, absl::Seconds(3), absl::Seconds(5)),
            "[#####.....] 52/100 slots  120,000/230,000 keys  14.2 MB  ETA 3s  "
            "step: catching up");
  op.add_moves();
  op.mutable_migration()->set_current_move(1);
  op.set_cancel_requested(true);
  EXPECT_EQ(FormatProgressLine(op, std::nullopt, absl::Seconds(5)),
            "[#####.....] 52/100 slots  120,000/230,000 keys  14.2 MB  ETA -  "
            "move 2/2  step: catching up (cancel requested)");
}

TEST(ProgressTest, OperationsWithoutSlotsShowTheirProgressText) {
  v1::Operation op;
  op.set_id("op-3");
  op.set_kind("failover");
  op.set_progress("waiting for n5 to apply offset 1234");
  EXPECT_EQ(FormatProgressLine(op, std::nullopt, absl::Milliseconds(1200)),
            "op-3 failover  1.2s  waiting for n5 to apply offset 1234");
  op.set_state(v1::Operation::SUCCEEDED);
  op.set_created_unix_ms(1000);
  op.set_finished_unix_ms(2500);
  EXPECT_EQ(FormatSummary(op),
            "op-3 failover SUCCEEDED in 1.5s: waiting for n5 to apply offset "
            "1234");
}

TEST(ProgressTest, SummaryHasStateDurationAndMaxPause) {
  v1::Operation op = Migration(100, 100, 230000, 230000, 14200000, "");
  op.set_state(v1::Operation::FAILED);
  op.set_created_unix_ms(10000);
  op.set_finished_unix_ms(22300);
  op.mutable_migration()->set_max_pause_ms(35);
  op.set_message("shard-2 failed over; rolled back");
  EXPECT_EQ(FormatSummary(op),
            "op-7 migrate_slots FAILED in 12.3s: 100/100 slots, 230,000 keys, "
            "14.2 MB copied, max write pause 35 ms\n"
            "  shard-2 failed over; rolled back");
}

TEST(ProgressTest, EtaFromSlotRateThenKeyRate) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  ProgressRate rate;
  EXPECT_EQ(rate.Eta(), std::nullopt);
  rate.Observe(Migration(0, 100, 0, 1000, 0, "snapshot").migration(), t0);
  EXPECT_EQ(rate.Eta(), std::nullopt) << "nothing advanced yet";
  // No slot committed yet: 250 keys in 1s, 750 left -> 3s.
  rate.Observe(Migration(0, 100, 250, 1000, 0, "snapshot").migration(),
               t0 + absl::Seconds(1));
  EXPECT_EQ(rate.Eta(), absl::Seconds(3));
  // 20 slots in 4s, 80 left -> 16s.
  rate.Observe(Migration(20, 100, 1000, 5000, 0, "snapshot").migration(),
               t0 + absl::Seconds(4));
  EXPECT_EQ(rate.Eta(), absl::Seconds(16));
  rate.Observe(Migration(100, 100, 5000, 5000, 0, "").migration(),
               t0 + absl::Seconds(9));
  EXPECT_EQ(rate.Eta(), absl::ZeroDuration());
}

}  // namespace
}  // namespace slotcache::slotctl
