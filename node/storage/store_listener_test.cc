// The ChangeListener contract: one call per changing operation, with the
// key's new state, none for reads, no-op writes and failures; FLUSHALL
// ordered against concurrent keyed writes.
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/slot.h"
#include "gtest/gtest.h"
#include "node/storage/store.h"

namespace slotcache::node::storage {
namespace {

// One listener call, copied out of the view.
struct Change {
  bool flush = false;
  std::string key;
  bool deleted = false;
  ValueType type = ValueType::kNone;
  std::string value;
  std::map<std::string, std::string> fields;
  absl::optional<absl::Time> expire_at;
  ChangeCause cause = ChangeCause::kWrite;
};

class RecordingListener : public ChangeListener {
 public:
  void OnKeyChanged(uint32_t slot, absl::string_view key, const KeyView* state,
                    ChangeCause cause) override {
    EXPECT_EQ(slot, KeySlot(key));
    Change c;
    c.key = std::string(key);
    c.cause = cause;
    c.deleted = state == nullptr;
    if (state != nullptr) {
      EXPECT_EQ(state->key(), key);
      c.type = state->type();
      if (c.type == ValueType::kString) {
        c.value = std::string(state->string_value());
      } else {
        state->ForEachField([&](absl::string_view f, absl::string_view v) {
          c.fields[std::string(f)] = std::string(v);
        });
        EXPECT_EQ(state->field_count(), c.fields.size());
      }
      c.expire_at = state->expire_at();
    }
    MutexLock lock(&mu_);
    changes_.push_back(std::move(c));
  }
  void OnFlushAll() override {
    Change c;
    c.flush = true;
    MutexLock lock(&mu_);
    changes_.push_back(std::move(c));
  }
  // The calls since the last Take.
  std::vector<Change> Take() {
    MutexLock lock(&mu_);
    std::vector<Change> out;
    out.swap(changes_);
    return out;
  }

 private:
  Mutex mu_;  // TSAN-visible: the store calls from many threads.
  std::vector<Change> changes_ ABSL_GUARDED_BY(mu_);
};

class StoreListenerTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.clock = &clock_;
    o.listener = &listener_;
    return o;
  }
  // Exactly one call since the last check, about `key`.
  Change One(absl::string_view key) {
    std::vector<Change> c = listener_.Take();
    EXPECT_EQ(c.size(), 1u) << "for " << key;
    if (c.size() != 1) return Change();
    EXPECT_EQ(c[0].key, key);
    return c[0];
  }
  void ExpectNone(absl::string_view what) {
    EXPECT_TRUE(listener_.Take().empty()) << what;
  }

  FakeClock clock_;
  RecordingListener listener_;
  Store store_{Options()};
};

TEST_F(StoreListenerTest, StringWritesReportTheNewValueOnce) {
  ASSERT_TRUE(store_.Set("k", "v1").ok());
  Change c = One("k");
  EXPECT_EQ(c.type, ValueType::kString);
  EXPECT_EQ(c.value, "v1");
  EXPECT_FALSE(c.expire_at.has_value());
  EXPECT_EQ(c.cause, ChangeCause::kWrite);

  ASSERT_TRUE(store_.Append("k", "+").ok());
  EXPECT_EQ(One("k").value, "v1+");
  ASSERT_TRUE(store_.Set("n", "1").ok());
  listener_.Take();
  ASSERT_TRUE(store_.IncrBy("n", 4).ok());
  EXPECT_EQ(One("n").value, "5");
  ASSERT_TRUE(store_.IncrByFloat("n", 0.5).ok());
  EXPECT_EQ(One("n").value, "5.5");
  ASSERT_TRUE(store_.MSet({{"{m}a", "1"}, {"{m}b", "2"}}).ok());
  std::vector<Change> mset = listener_.Take();
  ASSERT_EQ(mset.size(), 2u);
  EXPECT_EQ(mset[0].key, "{m}a");
  EXPECT_EQ(mset[1].value, "2");
}

TEST_F(StoreListenerTest, ExpiryChangesReportTheAbsoluteTime) {
  const absl::Time at = clock_.Now() + absl::Seconds(100);
  SetOptions ttl;
  ttl.expire_at = at;
  ASSERT_TRUE(store_.Set("k", "v", ttl).ok());
  EXPECT_EQ(One("k").expire_at, at);
  ASSERT_TRUE(store_.Persist("k"));
  EXPECT_FALSE(One("k").expire_at.has_value());
  ASSERT_TRUE(store_.ExpireAt("k", at + absl::Seconds(1)));
  EXPECT_EQ(One("k").expire_at, at + absl::Seconds(1));
  GetExOptions getex;
  getex.persist = true;
  ASSERT_TRUE(store_.GetEx("k", getex).ok());
  EXPECT_FALSE(One("k").expire_at.has_value());
  // An expiry time already past deletes the key, reported as a write.
  ASSERT_TRUE(store_.ExpireAt("k", clock_.Now() - absl::Seconds(1)));
  Change gone = One("k");
  EXPECT_TRUE(gone.deleted);
  EXPECT_EQ(gone.cause, ChangeCause::kWrite);
}

TEST_F(StoreListenerTest, HashWritesReportAllFields) {
  ASSERT_TRUE(store_.HSet("h", {{"a", "1"}, {"b", "2"}}).ok());
  Change c = One("h");
  EXPECT_EQ(c.type, ValueType::kHash);
  EXPECT_EQ(c.fields,
            (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));
  ASSERT_TRUE(store_.HIncrBy("h", "a", 2).ok());
  EXPECT_EQ(One("h").fields.at("a"), "3");
  ASSERT_TRUE(store_.HDel("h", {"a"}).ok());
  EXPECT_EQ(One("h").fields.size(), 1u);
  ASSERT_TRUE(store_.HDel("h", {"b"}).ok());
  EXPECT_TRUE(One("h").deleted);  // The last field took the key with it.
}

TEST_F(StoreListenerTest, DeletesReportTheKeyGone) {
  ASSERT_TRUE(store_.Set("a", "1").ok());
  ASSERT_TRUE(store_.Set("b", "2").ok());
  listener_.Take();
  EXPECT_TRUE(store_.Del("a"));
  EXPECT_TRUE(One("a").deleted);
  ASSERT_TRUE(store_.GetDel("b").ok());
  EXPECT_TRUE(One("b").deleted);
}

TEST_F(StoreListenerTest, RestoreReportsTheFinalStateOnce) {
  ASSERT_TRUE(store_.Set("k", "old").ok());
  listener_.Take();
  KeyRecord r;
  r.key = "k";
  r.type = ValueType::kHash;
  r.fields = {{"f", "v"}};
  ASSERT_TRUE(store_.Restore(r).ok());
  Change c = One("k");
  EXPECT_EQ(c.type, ValueType::kHash);
  EXPECT_EQ(c.fields.at("f"), "v");
}

TEST_F(StoreListenerTest, ReadsNoOpWritesAndFailuresReportNothing) {
  ASSERT_TRUE(store_.Set("k", "v").ok());
  ASSERT_TRUE(store_.HSet("h", {{"f", "v"}}).ok());
  listener_.Take();
  ASSERT_TRUE(store_.Get("k").ok());
  EXPECT_TRUE(store_.Exists("k"));
  ASSERT_TRUE(store_.HGetAll("h").ok());
  (void)store_.MGet({"k", "h"});
  ExpectNone("reads");

  SetOptions nx;
  nx.condition = SetOptions::Condition::kIfAbsent;
  ASSERT_FALSE(store_.Set("k", "other", nx)->written);
  SetOptions xx;
  xx.condition = SetOptions::Condition::kIfPresent;
  ASSERT_FALSE(store_.Set("missing", "v", xx)->written);
  EXPECT_FALSE(store_.Persist("k"));  // No TTL to remove.
  EXPECT_FALSE(store_.ExpireAt("k", clock_.Now() + absl::Seconds(5),
                               ExpireCondition::kIfHasTtl));
  EXPECT_FALSE(store_.Del("missing"));
  EXPECT_EQ(*store_.HDel("h", {"absent"}), 0);
  ASSERT_TRUE(store_.GetEx("k", GetExOptions()).ok());  // No TTL change.
  ExpectNone("writes that changed nothing");

  EXPECT_FALSE(store_.IncrBy("h", 1).ok());  // WRONGTYPE.
  EXPECT_FALSE(store_.HSet("k", {{"f", "v"}}).ok());
  EXPECT_FALSE(store_.IncrBy("k", 1).ok());  // Not an integer.
  ExpectNone("failed writes");
}

TEST_F(StoreListenerTest, ExpiryReportsItsCause) {
  SetOptions ttl;
  ttl.expire_at = clock_.Now() + absl::Seconds(1);
  ASSERT_TRUE(store_.Set("lazy", "v", ttl).ok());
  ASSERT_TRUE(store_.Set("active", "v", ttl).ok());
  listener_.Take();
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(store_.Get("lazy").ok());
  Change lazy = One("lazy");
  EXPECT_TRUE(lazy.deleted);
  EXPECT_EQ(lazy.cause, ChangeCause::kExpired);
  // A cycle may stop after a share of the stripes; a few cover them all.
  int64_t removed = 0;
  for (int i = 0; i < 64 && removed == 0; ++i) {
    removed += store_.RunActiveExpireCycle(absl::Seconds(1));
  }
  EXPECT_EQ(removed, 1);
  EXPECT_EQ(One("active").cause, ChangeCause::kExpired);
}

TEST(StoreListenerEvictionTest, EvictionReportsItsCause) {
  RecordingListener listener;
  StoreOptions o;
  o.listener = &listener;
  o.maxmemory_bytes = 64 << 10;
  o.eviction_policy = EvictionPolicy::kAllKeysRandom;
  Store store(o);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(store.Set(absl::StrCat("k", i), std::string(50, 'v')).ok());
  }
  int evicted = 0;
  for (const Change& c : listener.Take()) {
    if (c.cause == ChangeCause::kEvicted) {
      EXPECT_TRUE(c.deleted);
      ++evicted;
    }
  }
  EXPECT_EQ(evicted, store.Stats().evicted_keys);
  EXPECT_GT(evicted, 0);
}

// Writers and FLUSHALLs race; replaying the listener's calls in the order
// they were made must give exactly the store's final content, which holds
// only if no keyed change was reported out of order with a flush.
TEST(StoreListenerFlushTest, FlushAllIsOrderedAgainstConcurrentWrites) {
  RecordingListener listener;
  StoreOptions o;
  o.listener = &listener;
  Store store(o);
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        (void)store.Set(absl::StrCat("k", t, ":", i % 500), "v");
      }
    });
  }
  for (int f = 0; f < 20; ++f) {
    // Wait for some writes between flushes (poll, no fixed sleep).
    while (store.DbSize() < 100) std::this_thread::yield();
    store.FlushAll();
  }
  stop = true;
  for (auto& w : writers) w.join();

  std::map<std::string, std::string> replayed;
  int flushes = 0;
  for (const Change& c : listener.Take()) {
    if (c.flush) {
      replayed.clear();
      ++flushes;
    } else if (c.deleted) {
      replayed.erase(c.key);
    } else {
      replayed[c.key] = c.value;
    }
  }
  EXPECT_EQ(flushes, 20);
  std::map<std::string, std::string> actual;
  uint64_t cursor = 0;
  do {
    ScanResult r = store.Scan(cursor, "", 1000);
    for (const std::string& k : r.keys) actual[k] = **store.Get(k);
    cursor = r.next_cursor;
  } while (cursor != 0);
  EXPECT_EQ(replayed, actual);
}

}  // namespace
}  // namespace slotcache::node::storage
