#include "node/migration/slot_dropper.h"

#include <utility>

#include "common/logging.h"

namespace slotcache::node::migration {

SlotDropper::SlotDropper(storage::Store* store, ClusterState* cluster)
    : store_(store), cluster_(cluster), thread_([this] { Loop(); }) {}

SlotDropper::~SlotDropper() { Stop(); }

void SlotDropper::Drop(std::vector<uint32_t> slots) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued_.insert(slots.begin(), slots.end());
  }
  wake_.notify_all();
}

void SlotDropper::Sweep(std::function<uint64_t()> sweep) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    sweep_ = std::move(sweep);
  }
  wake_.notify_all();
}

void SlotDropper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

bool SlotDropper::idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_.empty() && !sweep_ && !busy_;
}

void SlotDropper::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    busy_ = false;
    wake_.wait(lock, [this] {
      return stopping_ || !queued_.empty() || sweep_ != nullptr;
    });
    if (stopping_) return;
    if (sweep_ != nullptr) {
      std::function<uint64_t()> sweep = std::move(sweep_);
      sweep_ = nullptr;
      busy_ = true;
      lock.unlock();
      dropped_ += sweep();
      lock.lock();
      continue;
    }
    const uint32_t slot = *queued_.begin();
    queued_.erase(queued_.begin());
    busy_ = true;
    lock.unlock();
    int64_t slot_dropped = 0;
    for (;;) {
      // Re-check before every batch: a map that gave the slot back must
      // stop the drop at once.
      if (cluster_->table()->LocalShardOwns(slot)) break;
      const int64_t n = store_->DropSlotKeys(slot, kBatchKeys);
      if (n == 0) break;
      slot_dropped += n;
      dropped_ += static_cast<uint64_t>(n);
      std::lock_guard<std::mutex> check(mu_);
      if (stopping_) break;
    }
    if (slot_dropped > 0) {
      SC_LOG(INFO, "dropped %d keys of slot %d (no longer this shard's)",
             slot_dropped, slot);
    }
    lock.lock();
  }
}

}  // namespace slotcache::node::migration
