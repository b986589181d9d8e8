// Mailbox: an event loop's inbox (internal to node/resp's server). Other
// loops hand it accepted connections; replica-acknowledgement callbacks
// post tasks to it; an eventfd wakes the loop's epoll_wait.
//
// Thread-safety: Post, Adopt, Wake and Close may be called from any
// thread; Take only from the owning loop's thread.
#ifndef SLOTCACHE_NODE_RESP_MAILBOX_H_
#define SLOTCACHE_NODE_RESP_MAILBOX_H_

#include <unistd.h>

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace slotcache::node::resp {

class EventLoop;

// A loop's inbox, shared with whoever posts to it (other loops, replica
// acknowledgement callbacks). It outlives the loop when a callback still
// holds it: posts after the loop ended are dropped.
class Mailbox {
 public:
  using Task = std::function<void(EventLoop*)>;

  explicit Mailbox(int eventfd) : eventfd_(eventfd) {}
  ~Mailbox() { close(eventfd_); }

  int eventfd() const { return eventfd_; }

  // False (and `task` dropped) once closed.
  bool Post(Task task) {
    {
      MutexLock lock(&mu_);
      if (closed_) return false;
      tasks_.push_back(std::move(task));
    }
    Wake();
    return true;
  }
  // A connection accepted by another loop. Closed (the socket) when the
  // mailbox is closed.
  void Adopt(int fd) {
    {
      MutexLock lock(&mu_);
      if (!closed_) {
        fds_.push_back(fd);
        fd = -1;
      }
    }
    if (fd >= 0) {
      close(fd);
      return;
    }
    Wake();
  }
  void Take(std::vector<Task>* tasks, std::vector<int>* fds) {
    uint64_t count;
    while (read(eventfd_, &count, sizeof(count)) > 0) {
    }
    MutexLock lock(&mu_);
    tasks->swap(tasks_);
    fds->swap(fds_);
  }
  void Close() {
    std::vector<int> fds;
    {
      MutexLock lock(&mu_);
      closed_ = true;
      tasks_.clear();
      fds.swap(fds_);
    }
    for (int fd : fds) close(fd);
  }
  void Wake() {
    const uint64_t one = 1;
    // EAGAIN means the counter is already non-zero: the loop will wake.
    (void)!write(eventfd_, &one, sizeof(one));
  }

 private:
  const int eventfd_;
  Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Task> tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace slotcache::node::resp

#endif  // SLOTCACHE_NODE_RESP_MAILBOX_H_
