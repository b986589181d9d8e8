// Mutex and MutexLock: absl::Mutex that ThreadSanitizer can see.
//
// Debian's Abseil shared libraries are not built with -fsanitize=thread, so
// TSAN never sees absl::Mutex::Lock/Unlock and reports every access it
// guards as a race. This wrapper tells TSAN about each lock and unlock
// through its mutex annotation interface (a no-op in other builds) and
// otherwise is exactly an absl::Mutex, with the same thread-safety
// annotations for clang's -Wthread-safety.
//
// Use it for locks on hot paths that tests exercise from many threads
// under --config=tsan. Waiting on conditions (Await, CondVar) is not
// offered: TSAN could not follow the hidden unlock/relock.
//
// Thread-safety: it is a mutex.
#ifndef SLOTCACHE_COMMON_MUTEX_H_
#define SLOTCACHE_COMMON_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#if defined(__SANITIZE_THREAD__)
#define SLOTCACHE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SLOTCACHE_TSAN 1
#endif
#endif

#ifdef SLOTCACHE_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace slotcache {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() {
#ifdef SLOTCACHE_TSAN
    __tsan_mutex_create(this, 0);
#endif
  }
  ~Mutex() {
#ifdef SLOTCACHE_TSAN
    __tsan_mutex_destroy(this, 0);
#endif
  }
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
#ifdef SLOTCACHE_TSAN
    __tsan_mutex_pre_lock(this, 0);
#endif
    mu_.Lock();
#ifdef SLOTCACHE_TSAN
    __tsan_mutex_post_lock(this, 0, 0);
#endif
  }

  void Unlock() ABSL_UNLOCK_FUNCTION() {
#ifdef SLOTCACHE_TSAN
    __tsan_mutex_pre_unlock(this, 0);
#endif
    mu_.Unlock();
#ifdef SLOTCACHE_TSAN
    __tsan_mutex_post_unlock(this, 0);
#endif
  }

  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() { mu_.AssertHeld(); }

 private:
  absl::Mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace slotcache

#endif  // SLOTCACHE_COMMON_MUTEX_H_
