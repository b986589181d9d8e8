#include "node/storage/key_table.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace slotcache::node::storage {
namespace {

class KeyTableTest : public ::testing::Test {
 protected:
  ~KeyTableTest() override {
    table_.ForEach([](Entry* e) { Entry::Free(e); });
  }
  void Add(const std::string& key) {
    table_.Insert(Entry::CreateString(key, "v", false), KeyTable::Hash(key));
  }
  bool Has(const std::string& key) {
    return table_.Find(key, KeyTable::Hash(key)) != KeyTable::kNotFound;
  }
  bool Remove(const std::string& key) {
    const size_t i = table_.Find(key, KeyTable::Hash(key));
    if (i == KeyTable::kNotFound) return false;
    Entry::Free(table_.EraseAt(i));
    return true;
  }
  KeyTable table_;
};

TEST_F(KeyTableTest, EmptyTableFindsNothing) {
  EXPECT_FALSE(Has("x"));
  EXPECT_EQ(table_.size(), 0u);
  EXPECT_EQ(table_.AllocatedBytes(), 0u);
  EXPECT_EQ(table_.NextOccupied(3), KeyTable::kNotFound);
}

TEST_F(KeyTableTest, InsertFindEraseMatchAReferenceSet) {
  absl::flat_hash_set<std::string> reference;
  absl::BitGen rng;
  for (int step = 0; step < 20000; ++step) {
    const std::string key = "k" + std::to_string(absl::Uniform(rng, 0, 3000));
    if (absl::Bernoulli(rng, 0.6)) {
      if (reference.insert(key).second) Add(key);
    } else {
      EXPECT_EQ(Remove(key), reference.erase(key) == 1) << key;
    }
    ASSERT_EQ(table_.size(), reference.size());
  }
  for (int i = 0; i < 3000; ++i) {
    const std::string key = "k" + std::to_string(i);
    EXPECT_EQ(Has(key), reference.count(key) == 1) << key;
  }
  size_t visited = 0;
  table_.ForEach([&](Entry* e) {
    ++visited;
    EXPECT_EQ(reference.count(std::string(e->key())), 1u);
  });
  EXPECT_EQ(visited, reference.size());
}

TEST_F(KeyTableTest, StaysBetweenHalfAndEightyPercentFullWhileGrowing) {
  for (int i = 0; i < 5000; ++i) {
    Add("key" + std::to_string(i));
    const double load = static_cast<double>(table_.size()) / table_.capacity();
    ASSERT_LE(load, 0.8);
    if (table_.size() > 10) {
      ASSERT_GE(load, 0.5);
    }
  }
}

TEST_F(KeyTableTest, ShrinksAndFreesWhenEmptied) {
  for (int i = 0; i < 1000; ++i) Add("key" + std::to_string(i));
  const size_t full = table_.AllocatedBytes();
  for (int i = 0; i < 990; ++i) ASSERT_TRUE(Remove("key" + std::to_string(i)));
  EXPECT_LT(table_.AllocatedBytes(), full / 10);
  for (int i = 990; i < 1000; ++i) ASSERT_TRUE(Has("key" + std::to_string(i)));
  for (int i = 990; i < 1000; ++i)
    ASSERT_TRUE(Remove("key" + std::to_string(i)));
  EXPECT_EQ(table_.AllocatedBytes(), 0u);
}

TEST_F(KeyTableTest, ReplaceKeepsTheKeyFindable) {
  Add("a");
  const size_t i = table_.Find("a", KeyTable::Hash("a"));
  Entry* old = table_.At(i);
  table_.Replace(i, Entry::CreateString("a", "new value", false));
  Entry::Free(old);
  const size_t j = table_.Find("a", KeyTable::Hash("a"));
  ASSERT_NE(j, KeyTable::kNotFound);
  EXPECT_EQ(table_.At(j)->value(), "new value");
}

TEST(EntryTest, NarrowAndWideLayoutsRoundTrip) {
  for (size_t key_len : {0u, 1u, 16u, 255u, 256u, 1000u}) {
    for (size_t value_len : {0u, 32u, 70000u}) {
      for (bool ttl : {false, true}) {
        const std::string key(key_len, 'k');
        const std::string value(value_len, 'v');
        Entry* e = Entry::CreateString(key, value, ttl);
        if (ttl) e->set_expiry_ms(123456789012345);
        e->set_access(0xabcdef);
        EXPECT_EQ(e->key(), key);
        EXPECT_EQ(e->value(), value);
        EXPECT_EQ(e->has_expiry(), ttl);
        if (ttl) {
          EXPECT_EQ(e->expiry_ms(), 123456789012345);
        }
        EXPECT_EQ(e->access(), 0xabcdefu);
        EXPECT_EQ(e->type(), EntryType::kString);
        Entry* r = Entry::Resize(e, value_len + 5, !ttl);
        EXPECT_EQ(r->key(), key);
        EXPECT_EQ(r->value().substr(0, value_len), value);
        EXPECT_EQ(r->has_expiry(), !ttl);
        EXPECT_EQ(r->access(), 0xabcdefu);
        Entry::Free(e);
        Entry::Free(r);
      }
    }
  }
}

TEST(EntryTest, ValuesOf16MiBAndMoreUseTheWideHeader) {
  const std::string value((1u << 24) + 1, 'v');
  Entry* e = Entry::CreateString("k", value, false);
  EXPECT_EQ(e->key(), "k");
  EXPECT_EQ(e->value().size(), value.size());
  EXPECT_EQ(e->value().back(), 'v');
  Entry::Free(e);
}

TEST(EntryTest, SmallStringIsOneSixtyFourByteChunk) {
  // 16-byte key + 32-byte value: the headline memory case.
  Entry* e =
      Entry::CreateString(std::string(16, 'k'), std::string(32, 'v'), false);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  EXPECT_EQ(e->AllocatedBytes(), 64u);
#endif
  Entry::Free(e);
}

}  // namespace
}  // namespace slotcache::node::storage
