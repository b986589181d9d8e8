#include "node/storage/store.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/slot.h"
#include "common/status.h"
#include "gtest/gtest.h"

namespace slotcache::node::storage {
namespace {

// Records what the store removed on its own.
class RecordingListener : public RemovalListener {
 public:
  void OnKeyRemoved(uint32_t slot, absl::string_view key,
                    RemovalCause cause) override {
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(slot, KeySlot(key));
    (cause == RemovalCause::kExpired ? expired_ : evicted_).emplace_back(key);
  }
  std::vector<std::string> expired() {
    absl::MutexLock lock(&mu_);
    return expired_;
  }
  std::vector<std::string> evicted() {
    absl::MutexLock lock(&mu_);
    return evicted_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> expired_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> evicted_ ABSL_GUARDED_BY(mu_);
};

class StoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.clock = &clock_;
    o.listener = &listener_;
    return o;
  }
  FakeClock clock_;
  RecordingListener listener_;
};

std::string Key(int i) { return absl::StrCat("key:", i); }

TEST_F(StoreTest, GetSetDelRoundTrip) {
  Store store(Options());
  EXPECT_FALSE(store.Get("k")->has_value());
  ASSERT_TRUE(store.Set("k", "v").ok());
  EXPECT_EQ(**store.Get("k"), "v");
  EXPECT_TRUE(store.Exists("k"));
  EXPECT_EQ(store.DbSize(), 1);
  EXPECT_TRUE(store.Del("k"));
  EXPECT_FALSE(store.Del("k"));
  EXPECT_EQ(store.DbSize(), 0);
}

TEST_F(StoreTest, MemoryAccountingReturnsToZero) {
  Store store(Options());
  EXPECT_EQ(store.UsedMemory(), 0);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(store.Set(Key(i), std::string(i % 100, 'v')).ok());
    ASSERT_TRUE(
        store
            .HSet(absl::StrCat("h", i), {{"field", std::string(i % 50, 'x')},
                                         {"a-longer-field-name-than-sso", "y"}})
            .ok());
  }
  ASSERT_TRUE(store.ExpireAt(Key(1), clock_.Now() + absl::Hours(1)));
  ASSERT_TRUE(store.Append(Key(2), std::string(300, 'a')).ok());
  ASSERT_TRUE(store.IncrBy("counter", 5).ok());
  ASSERT_TRUE(store.HIncrBy("h1", "n", 7).ok());
  ASSERT_TRUE(store.HDel("h2", {"field"}).ok());
  EXPECT_GT(store.UsedMemory(), 2000 * 64);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(store.Del(Key(i)));
    ASSERT_TRUE(store.Del(absl::StrCat("h", i)));
  }
  for (int i = 1000; i < 2000; ++i) {
    ASSERT_TRUE(store.Set(Key(i), "replaced").ok());
    ASSERT_TRUE(store.Set(absl::StrCat("h", i), "now a string").ok());
  }
  store.FlushAll();
  EXPECT_EQ(store.UsedMemory(), 0);
  EXPECT_EQ(store.DbSize(), 0);
}

TEST_F(StoreTest, WrongTypeChangesNothing) {
  Store store(Options());
  ASSERT_TRUE(store.HSet("h", {{"f", "v"}}).ok());
  const int64_t used = store.UsedMemory();
  EXPECT_EQ(ErrorCodeOf(store.Get("h").status()), v1::WRONGTYPE);
  EXPECT_EQ(ErrorCodeOf(store.Append("h", "x").status()), v1::WRONGTYPE);
  EXPECT_EQ(ErrorCodeOf(store.IncrBy("h", 1).status()), v1::WRONGTYPE);
  EXPECT_EQ(ErrorCodeOf(store.IncrByFloat("h", 1).status()), v1::WRONGTYPE);
  SetOptions get;
  get.get_old_value = true;
  EXPECT_EQ(ErrorCodeOf(store.Set("h", "x", get).status()), v1::WRONGTYPE);
  EXPECT_EQ(store.UsedMemory(), used);
  EXPECT_EQ(**store.HGet("h", "f"), "v");
  EXPECT_EQ(store.Type("h"), ValueType::kHash);
}

TEST_F(StoreTest, KeysAreCountedAndDroppedPerSlot) {
  Store store(Options());
  // Hash tags put these three in one slot.
  ASSERT_TRUE(store.Set("{user1}.a", "1").ok());
  ASSERT_TRUE(store.Set("{user1}.b", "2").ok());
  ASSERT_TRUE(store.HSet("{user1}.c", {{"f", "v"}}).ok());
  ASSERT_TRUE(store.Set("other", "3").ok());
  const uint32_t slot = KeySlot("{user1}");
  EXPECT_EQ(store.SlotKeyCount(slot), 3);
  EXPECT_EQ(store.SlotKeyCount(KeySlot("other")), 1);
  EXPECT_EQ(store.DropSlot(slot), 3);
  EXPECT_EQ(store.SlotKeyCount(slot), 0);
  EXPECT_EQ(store.DbSize(), 1);
  EXPECT_TRUE(store.Exists("other"));
  EXPECT_EQ(store.SlotKeyCount(kNumSlots), 0);
}

TEST_F(StoreTest, ScanSlotReturnsRecordsThatRestoreElsewhere) {
  Store source(Options());
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(source.Set(absl::StrCat("{tag}", i), absl::StrCat(i)).ok());
  }
  ASSERT_TRUE(source.HSet("{tag}h", {{"a", "1"}, {"b", "2"}}).ok());
  ASSERT_TRUE(source.ExpireAt("{tag}1", clock_.Now() + absl::Seconds(30)));
  Store target(Options());
  uint64_t cursor = 0;
  int batches = 0;
  do {
    std::vector<KeyRecord> batch;
    cursor = source.ScanSlot(KeySlot("{tag}"), cursor, 50,
                             [&](const KeyRecord& r) { batch.push_back(r); });
    for (const KeyRecord& r : batch) ASSERT_TRUE(target.Restore(r).ok());
    ++batches;
  } while (cursor != 0);
  EXPECT_GE(batches, 6);
  EXPECT_EQ(target.DbSize(), 301);
  EXPECT_EQ(**target.Get("{tag}77"), "77");
  EXPECT_EQ(**target.HGet("{tag}h", "b"), "2");
  EXPECT_EQ(target.PTtl("{tag}1"), 30000);
  EXPECT_EQ(target.PTtl("{tag}2"), kTtlNone);
}

TEST_F(StoreTest, ParsesEvictionPolicies) {
  for (const char* name :
       {"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}) {
    absl::StatusOr<EvictionPolicy> p = ParseEvictionPolicy(name);
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_EQ(EvictionPolicyName(*p), name);
  }
  EXPECT_EQ(*ParseEvictionPolicy("AllKeys-LRU"), EvictionPolicy::kAllKeysLru);
  EXPECT_EQ(ErrorCodeOf(ParseEvictionPolicy("lru").status()),
            v1::INVALID_ARGUMENT);
}

TEST_F(StoreTest, LazyExpiryReportsToTheListener) {
  Store store(Options());
  SetOptions ttl;
  ttl.expire_at = clock_.Now() + absl::Seconds(1);
  ASSERT_TRUE(store.Set("k", "v", ttl).ok());
  clock_.Advance(absl::Seconds(2));
  EXPECT_FALSE(store.Get("k")->has_value());
  EXPECT_EQ(listener_.expired(), std::vector<std::string>{"k"});
  EXPECT_EQ(store.Stats().expired_keys, 1);
  EXPECT_EQ(store.UsedMemory(), 0);
}

}  // namespace
}  // namespace slotcache::node::storage
