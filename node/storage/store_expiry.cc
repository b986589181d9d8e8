// Store: active expiry, Redis-style: an adaptive cycle over the keys with a
// TTL, run by a background loop (or synchronously by tests).
#include <algorithm>
#include <string>
#include <vector>

#include "node/storage/store_impl.h"

namespace slotcache::node::storage {
namespace {

// Stop a cycle early once fewer than this fraction of the keys with a TTL
// examined were expired (Redis: 10%), after at least kMinStripesPerCycle
// stripes.
constexpr double kAcceptableStale = 0.10;
constexpr uint32_t kMinStripesPerCycle = 16;

}  // namespace

int64_t Store::Impl::RunActiveExpireCycle(absl::Duration budget) {
  if (replica_.load(std::memory_order_relaxed)) return 0;
  const absl::Time deadline = absl::Now() + budget;
  const int64_t now_ms = NowMs();
  int64_t removed = 0;
  for (uint32_t done = 0; done < kNumStripes; ++done) {
    const uint32_t s =
        expire_cursor_.fetch_add(1, std::memory_order_relaxed) % kNumStripes;
    Stripe& st = stripes_[s];
    int64_t sampled = 0;
    int64_t expired = 0;
    if (st.volatile_keys.load(std::memory_order_relaxed) > 0) {
      for (uint32_t ti = 0; ti < kSlotsPerStripe; ++ti) {
        Loc loc = LocateSlot(SlotOf(s, ti), 0);
        MutexLock lock(&loc.stripe->mu);
        if (Table(loc).volatile_count() == 0) continue;
        std::vector<std::string> victims;
        Table(loc).ForEach([&](Entry* e) {
          if (!e->has_expiry()) return;
          ++sampled;
          if (e->expiry_ms() <= now_ms) victims.emplace_back(e->key());
        });
        for (const std::string& key : victims) {
          loc.hash = KeyTable::Hash(key);
          const size_t i = Table(loc).Find(key, loc.hash);
          if (i == KeyTable::kNotFound) continue;
          RemoveAt(loc, i, ChangeCause::kExpired);
          ++expired;
        }
      }
    }
    removed += expired;
    // Adaptive: keep going while many sampled keys were stale and time
    // remains; otherwise stop after the minimum share of the keyspace.
    if (absl::Now() >= deadline) break;
    if (done + 1 >= kMinStripesPerCycle &&
        (sampled == 0 ||
         static_cast<double>(expired) / sampled < kAcceptableStale)) {
      break;
    }
  }
  return removed;
}

void Store::Impl::StartActiveExpiry() {
  MutexLock lock(&thread_mu_);
  if (loop_thread_.joinable()) return;
  loop_stop_.Reset();
  loop_thread_ = std::thread([this] { ActiveExpiryLoop(); });
}

void Store::Impl::StopActiveExpiry() {
  MutexLock lock(&thread_mu_);
  if (!loop_thread_.joinable()) return;
  loop_stop_.Stop();
  loop_thread_.join();
}

void Store::Impl::ActiveExpiryLoop() {
  const absl::Duration interval = options_.active_expire_interval;
  const absl::Duration budget =
      interval * std::clamp(options_.active_expire_cpu_fraction, 0.01, 1.0);
  do {
    RunActiveExpireCycle(budget);
    // Also converge after maxmemory was lowered or racing writes
    // overshot it. An OOM here just means nothing is evictable.
    (void)MakeRoomForWrite();
  } while (loop_stop_.SleepFor(interval));
}

void Store::StartActiveExpiry() { impl_->StartActiveExpiry(); }
void Store::StopActiveExpiry() { impl_->StopActiveExpiry(); }
int64_t Store::RunActiveExpireCycle(absl::Duration budget) {
  return impl_->RunActiveExpireCycle(budget);
}

}  // namespace slotcache::node::storage
