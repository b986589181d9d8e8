// Many threads on one Store at once: run under --config=tsan and
// --config=asan to catch races and memory errors.
#include <atomic>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/slot.h"
#include "gtest/gtest.h"
#include "node/storage/store.h"

namespace slotcache::node::storage {
namespace {

constexpr int kThreads = 4;

class CountingListener : public ChangeListener {
 public:
  void OnKeyChanged(uint32_t, absl::string_view, const KeyView*,
                    ChangeCause cause) override {
    if (cause == ChangeCause::kWrite) return;
    (cause == ChangeCause::kExpired ? expired : evicted)
        .fetch_add(1, std::memory_order_relaxed);
  }
  void OnFlushAll() override {}
  std::atomic<int64_t> expired{0};
  std::atomic<int64_t> evicted{0};
};

// Random mixed commands, eviction, active expiry, scans and slot drops, all
// at once. Afterwards the counters must agree with a full recount.
TEST(StoreStressTest, MixedOperationsFromManyThreadsKeepTheStoreConsistent) {
  CountingListener listener;
  StoreOptions o;
  o.maxmemory_bytes = 512 * 1024;
  o.eviction_policy = EvictionPolicy::kAllKeysLru;
  o.listener = &listener;
  o.active_expire_interval = absl::Milliseconds(2);
  Store store(o);
  store.StartActiveExpiry();

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      // Seeded explicitly: absl::BitGen's shared seed pool is invisible
      // to TSAN (Debian's Abseil is not instrumented).
      std::mt19937_64 rng(t + 1);
      for (int i = 0; i < 4000; ++i) {
        const std::string key =
            absl::StrCat(absl::Uniform(rng, 0, 4) == 0 ? "{hot}" : "k",
                         absl::Uniform(rng, 0, 3000));
        switch (absl::Uniform(rng, 0, 14)) {
          case 0: {
            SetOptions ttl;
            ttl.expire_at =
                absl::Now() + absl::Milliseconds(absl::Uniform(rng, 1, 50));
            (void)store.Set(key, std::string(absl::Uniform(rng, 0, 200), 'x'),
                            ttl);
            break;
          }
          case 1:
            (void)store.Set(key, "value");
            break;
          case 2:
            (void)store.Get(key);
            break;
          case 3:
            (void)store.Append(key, "tail");
            break;
          case 4:
            (void)store.IncrBy(key, 3);
            break;
          case 5:
            (void)store.HSet(key, {{absl::StrCat("f", i % 7), "v"}});
            break;
          case 6:
            (void)store.HDel(key, {absl::StrCat("f", i % 7)});
            break;
          case 7:
            store.Del(key);
            break;
          case 8:
            store.ExpireAt(key, absl::Now() + absl::Milliseconds(10));
            break;
          case 9:
            (void)store.MSet({{key, "a"}, {absl::StrCat(key, "x"), "b"}});
            break;
          case 10:
            (void)store.MGet({key, "k1", "{hot}1"});
            break;
          case 11:
            (void)store.Scan(absl::Uniform<uint64_t>(rng), "k1*", 20);
            break;
          case 12:
            if (i % 500 == 0) store.DropSlot(KeySlot(key));
            (void)store.RandomKey();
            break;
          case 13:
            store.ScanSlot(KeySlot("{hot}"), 0, 30, [](const KeyRecord&) {});
            break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  store.StopActiveExpiry();
  EXPECT_EQ(store.UsedMemory(), store.ComputeUsedMemorySlow());
  // Keys counted per slot add up to the total.
  int64_t per_slot = 0;
  for (uint32_t s = 0; s < kNumSlots; ++s) per_slot += store.SlotKeyCount(s);
  EXPECT_EQ(per_slot, store.DbSize());
  EXPECT_GT(listener.evicted.load() + listener.expired.load(), 0);
  store.FlushAll();
  EXPECT_EQ(store.UsedMemory(), 0);
}

// A migration-style pass over one slot while other threads write to the
// same slot (growing and shrinking its table): every key that exists for
// the whole pass is visited.
TEST(StoreStressTest, SlotIterationUnderConcurrentWritesSkipsNoStableKey) {
  Store store;
  std::set<std::string> stable;
  for (int i = 0; i < 3000; ++i) {
    const std::string k = absl::StrCat("{slot}stable", i);
    stable.insert(k);
    ASSERT_TRUE(store.Set(k, "v").ok());
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&store, &stop, t] {
      int i = 0;
      while (!stop.load()) {
        const std::string k = absl::StrCat("{slot}churn", t, "-", i % 5000);
        if ((i / 5000) % 2 == 0) {
          (void)store.Set(k, "v");
        } else {
          store.Del(k);
        }
        ++i;
      }
    });
  }
  std::set<std::string> seen;
  for (int pass = 0; pass < 2; ++pass) {
    seen.clear();
    uint64_t cursor = 0;
    do {
      cursor = store.ScanSlot(KeySlot("{slot}"), cursor, 64,
                              [&](const KeyRecord& r) { seen.insert(r.key); });
    } while (cursor != 0);
    for (const std::string& k : stable) ASSERT_EQ(seen.count(k), 1u) << k;
  }
  stop.store(true);
  for (auto& w : writers) w.join();
}

}  // namespace
}  // namespace slotcache::node::storage
