#include "node/resp/resp_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/mutex.h"
#include "common/status.h"
#include "node/resp/mailbox.h"
#include "node/resp/sockets.h"

namespace slotcache::node::resp {
namespace {

// epoll data tags of the two non-connection descriptors (client ids start
// at 1 and never get near these).
constexpr uint64_t kListenTag = ~0ull;
constexpr uint64_t kWakeTag = ~0ull - 1;

// How much one recv asks for: large enough that a pipelined burst of small
// commands arrives in one round, small enough to keep loops fair.
constexpr size_t kReadChunkBytes = 64 * 1024;
// Inside a large bulk a recv may ask for more, up to this: the buffer
// grows with the bytes that actually arrive, so a header that merely
// claims 512 MiB costs nothing (Redis preallocates the whole bulk).
constexpr size_t kMaxReadChunkBytes = 1 << 20;
// Output left over after a partial send is compacted once this much of
// the buffer is already sent, and a buffer that grew past this is freed
// once empty, so idle connections hold little memory.
constexpr size_t kCompactBytes = 1 << 20;
// A partial request this small left in a read chunk is moved to a buffer
// of its own size, so a connection that stopped half way (or a slow
// writer) holds its bytes, not a whole read chunk: 10,000 of them would
// otherwise pin 640 MiB.
constexpr size_t kSmallLeftoverBytes = 4096;
// Idle-timeout sweep interval.
constexpr absl::Duration kSweepInterval = absl::Seconds(1);
constexpr int kMaxEvents = 256;
// Connections accepted per readiness round of the listener.
constexpr int kMaxAcceptsPerRound = 64;

constexpr absl::string_view kMaxClientsError =
    "-ERR max number of clients reached\r\n";

// A byte buffer that is appended at the end and consumed at the front,
// without zero-filling what recv will overwrite (std::string::resize
// would).
class InputBuffer {
 public:
  absl::string_view readable() const {
    return absl::string_view(data_.get() + start_, end_ - start_);
  }
  size_t size() const { return end_ - start_; }
  void Consume(size_t n) {
    start_ += n;
    if (start_ == end_) start_ = end_ = 0;
  }
  // At least `n` writable bytes at the end. Moves the unconsumed bytes to
  // the front first (RequestParser keeps offsets, so moving is fine).
  char* Reserve(size_t n) {
    if (capacity_ - end_ >= n) return data_.get() + end_;
    if (start_ > 0) {
      std::memmove(data_.get(), data_.get() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
      if (capacity_ - end_ >= n) return data_.get() + end_;
    }
    const size_t capacity = std::max(capacity_ * 2, end_ + n);
    std::unique_ptr<char[]> bigger(new char[capacity]);
    if (end_ > 0) std::memcpy(bigger.get(), data_.get(), end_);
    data_ = std::move(bigger);
    capacity_ = capacity;
    return data_.get() + end_;
  }
  void Commit(size_t n) { end_ += n; }
  size_t capacity() const { return capacity_; }
  // Moves the unconsumed bytes to an allocation of just their size.
  void ShrinkToFit() {
    const size_t n = size();
    std::unique_ptr<char[]> exact(n > 0 ? new char[n] : nullptr);
    if (n > 0) std::memcpy(exact.get(), data_.get() + start_, n);
    data_ = std::move(exact);
    capacity_ = end_ = n;
    start_ = 0;
  }
  // Frees a large buffer once it is empty.
  void MaybeRelease() {
    if (end_ == 0 && capacity_ > kCompactBytes) {
      data_.reset();
      capacity_ = 0;
    }
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t start_ = 0;
  size_t end_ = 0;
};

struct Connection {
  Connection(int fd_in, const RequestParser::Limits& limits)
      : fd(fd_in), parser(limits) {}

  const int fd;
  Session session;
  RequestParser parser;
  InputBuffer in;
  std::string out;
  size_t out_sent = 0;
  // The epoll events registered for fd.
  uint32_t events = 0;
  // WAIT in progress: no input is read or parsed until it ends.
  bool blocked = false;
  // QUIT, or a protocol error: close once the output is sent.
  bool closing = false;
  absl::Time last_active;

  size_t pending_output() const { return out.size() - out_sent; }
};

}  // namespace

// One event loop thread and its connections. Everything but the mailbox
// is touched only by the loop's thread.
class EventLoop {
 public:
  EventLoop(RespServer* server, int index)
      : server_(server),
        index_(index),
        round_(server->handler_options_.cluster) {}
  ~EventLoop() {
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }

  absl::Status Init();
  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  // Asks the loop to end; Join waits for it.
  void RequestStop() {
    mailbox_->Post([](EventLoop* loop) { loop->running_ = false; });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  Mailbox* mailbox() { return mailbox_.get(); }

 private:
  void Run();
  void Register(uint64_t tag, int fd, uint32_t events);
  void AcceptAll();
  void AddConnection(int fd);
  void OnEvents(Connection* c, uint32_t events);
  void OnReadable(Connection* c);
  // After a read round: c keeps no read chunk it does not need.
  void ReleaseInput(Connection* c);
  // Stores c's buffer sizes for CLIENT LIST.
  void PublishBuffers(Connection* c);
  // Parses and runs what c's input holds; false when c was closed.
  bool Process(Connection* c);
  void StartWait(Connection* c, const CommandHandler::WaitRequest& wait);
  void OnWaitDone(uint64_t id, int acked);
  // Sends pending output; false when c was closed.
  bool Flush(Connection* c);
  void UpdateEvents(Connection* c);
  void Close(Connection* c, absl::string_view why);
  void CloseAll();
  void SweepIdle();

  RespServer* const server_;
  const int index_;
  int epoll_fd_ = -1;
  std::shared_ptr<Mailbox> mailbox_;
  std::thread thread_;

  // Loop thread only.
  bool running_ = true;
  RoundContext round_;
  // One read chunk lent to the connection being read, so connections
  // without a partial request hold no input buffer (ReleaseInput).
  InputBuffer spare_input_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_loop_ = 0;  // Round-robin target of the next accept.
  absl::Time last_sweep_ = absl::InfinitePast();
};

absl::Status EventLoop::Init() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    return absl::InternalError(
        absl::StrCat("epoll_create1: ", std::strerror(errno)));
  }
  const int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  mailbox_ = std::make_shared<Mailbox>(efd);
  Register(kWakeTag, efd, EPOLLIN);
  if (index_ == 0) Register(kListenTag, server_->listen_fd_, EPOLLIN);
  return absl::OkStatus();
}

void EventLoop::Register(uint64_t tag, int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void EventLoop::Run() {
  epoll_event events[kMaxEvents];
  std::vector<Mailbox::Task> tasks;
  std::vector<int> fds;
  const bool sweep = server_->options_.idle_timeout > absl::ZeroDuration();
  while (running_) {
    const int timeout_ms =
        sweep ? static_cast<int>(absl::ToInt64Milliseconds(kSweepInterval))
              : -1;
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    if (n < 0 && errno != EINTR) {
      SC_LOG(ERROR, "resp loop %d: epoll_wait: %s", index_,
             std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        AcceptAll();
      } else if (tag == kWakeTag) {
        mailbox_->Take(&tasks, &fds);
        for (int fd : fds) AddConnection(fd);
        for (auto& task : tasks) task(this);
        tasks.clear();
        fds.clear();
      } else {
        auto it = connections_.find(tag);
        if (it != connections_.end())
          OnEvents(it->second.get(), events[i].events);
      }
    }
    if (sweep) SweepIdle();
  }
  mailbox_->Close();
  CloseAll();
}

void EventLoop::AcceptAll() {
  RespServer* s = server_;
  for (int i = 0; i < kMaxAcceptsPerRound; ++i) {
    const int fd =
        accept4(s->listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
          errno != ECONNABORTED) {
        SC_LOG(WARNING, "resp: accept: %s", std::strerror(errno));
      }
      return;
    }
    s->clients_.CountConnection();
    if (s->open_connections_.load() >= s->options_.max_clients) {
      // Best effort, like Redis: the socket is new, its buffer is empty.
      (void)!send(fd, kMaxClientsError.data(), kMaxClientsError.size(),
                  MSG_NOSIGNAL | MSG_DONTWAIT);
      close(fd);
      s->clients_.CountRejected();
      continue;
    }
    s->open_connections_.fetch_add(1);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    EventLoop* target = s->loops_[next_loop_++ % s->loops_.size()].get();
    if (target == this) {
      AddConnection(fd);
    } else {
      target->mailbox()->Adopt(fd);
    }
  }
}

void EventLoop::AddConnection(int fd) {
  RespServer* s = server_;
  auto c = std::make_unique<Connection>(fd, s->options_.parser);
  ClientSummary& client = c->session.client;
  client.id = s->clients_.NextId();
  client.fd = fd;
  client.buffers = std::make_shared<ClientBuffers>();
  client.connected_at = absl::Now();
  c->last_active = client.connected_at;
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    client.address = FormatAddress(addr);
  }
  len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    client.local_address = FormatAddress(addr);
  }
  const uint64_t id = client.id;
  std::weak_ptr<Mailbox> mailbox = mailbox_;
  s->clients_.Add(client, [mailbox, id] {
    if (auto m = mailbox.lock()) {
      m->Post([id](EventLoop* loop) {
        auto it = loop->connections_.find(id);
        if (it != loop->connections_.end()) {
          loop->Close(it->second.get(), "CLIENT KILL");
        }
      });
    }
  });
  c->events = EPOLLIN;
  Register(id, fd, EPOLLIN);
  connections_.emplace(id, std::move(c));
}

void EventLoop::OnEvents(Connection* c, uint32_t events) {
  if ((events & EPOLLOUT) != 0) {
    if (!Flush(c)) return;
    PublishBuffers(c);
  }
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) OnReadable(c);
}

void EventLoop::OnReadable(Connection* c) {
  if (c->blocked || c->closing) {
    // Only EPOLLHUP/EPOLLERR get here while input is paused.
    Close(c, "connection error while paused");
    return;
  }
  const size_t wanted = c->parser.wanted_input_bytes();
  const size_t chunk = wanted > c->in.size()
                           ? std::clamp(wanted - c->in.size(), kReadChunkBytes,
                                        kMaxReadChunkBytes)
                           : kReadChunkBytes;
  if (c->in.capacity() == 0) std::swap(c->in, spare_input_);
  char* buf = c->in.Reserve(chunk);
  const ssize_t n = recv(c->fd, buf, chunk, 0);
  if (n == 0) {
    Close(c, "");
    return;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    Close(c, "");
    return;
  }
  c->in.Commit(static_cast<size_t>(n));
  if (server_->options_.idle_timeout > absl::ZeroDuration()) {
    c->last_active = absl::Now();
  }
  if (!Process(c)) return;
  if (c->in.size() > server_->options_.max_query_buffer_bytes) {
    Close(c,
          absl::StrCat("its unparsed input passed the query buffer limit of ",
                       server_->options_.max_query_buffer_bytes, " bytes"));
    return;
  }
  ReleaseInput(c);
  if (Flush(c)) PublishBuffers(c);
}

void EventLoop::PublishBuffers(Connection* c) {
  ClientBuffers* b = c->session.client.buffers.get();
  const size_t pending = c->pending_output();
  b->qbuf.store(static_cast<int64_t>(c->in.size()), std::memory_order_relaxed);
  b->qbuf_free.store(static_cast<int64_t>(c->in.capacity() - c->in.size()),
                     std::memory_order_relaxed);
  b->obl.store(static_cast<int64_t>(pending), std::memory_order_relaxed);
  b->omem.store(pending > 0 ? static_cast<int64_t>(c->out.capacity()) : 0,
                std::memory_order_relaxed);
}

void EventLoop::ReleaseInput(Connection* c) {
  c->in.MaybeRelease();
  if (c->in.size() == 0) {
    if (spare_input_.capacity() == 0) std::swap(c->in, spare_input_);
    c->in = InputBuffer();
  } else if (c->in.size() <= kSmallLeftoverBytes &&
             c->in.capacity() > kSmallLeftoverBytes) {
    c->in.ShrinkToFit();
  }
}

bool EventLoop::Process(Connection* c) {
  round_.BeginRound();
  // Whatever way this returns, the round's RoutingView is let go.
  struct EndRound {
    RoundContext* round;
    ~EndRound() { round->EndRound(); }
  } end_round{&round_};
  uint64_t commands = 0;
  CommandHandler::WaitRequest wait;
  while (!c->blocked && !c->closing) {
    size_t consumed = 0;
    const RequestParser::Result r =
        c->parser.Parse(c->in.readable(), &consumed);
    if (r == RequestParser::Result::kNeedMore) break;
    ReplyWriter out(&c->out, c->session.client.protocol);
    if (r == RequestParser::Result::kError) {
      // As Redis: reply the protocol error, then close.
      out.Error(absl::StrCat("ERR ", c->parser.error()));
      c->closing = true;
      break;
    }
    ++commands;
    const CommandHandler::Outcome outcome = server_->handler_.Handle(
        c->parser.args(), &c->session, &round_, &out, &wait);
    c->in.Consume(consumed);
    if (outcome == CommandHandler::Outcome::kClose) c->closing = true;
    if (outcome == CommandHandler::Outcome::kWait) StartWait(c, wait);
    if (c->pending_output() > server_->options_.max_output_buffer_bytes) {
      server_->clients_.CountCommands(commands);
      Close(c, absl::StrCat("its unread replies passed the output buffer "
                            "limit of ",
                            server_->options_.max_output_buffer_bytes,
                            " bytes (a client must read its replies)"));
      return false;
    }
  }
  server_->clients_.CountCommands(commands);
  return true;
}

void EventLoop::StartWait(Connection* c,
                          const CommandHandler::WaitRequest& wait) {
  c->blocked = true;
  server_->clients_.CountBlocked(1);
  const uint64_t id = c->session.client.id;
  std::weak_ptr<Mailbox> mailbox = mailbox_;
  // The callback may run at once on this thread or later on another; it
  // only posts, so the connection is resumed by this loop either way.
  server_->handler_options_.acks->WaitForReplicas(
      wait.replicas, wait.timeout, [mailbox, id](int acked) {
        if (auto m = mailbox.lock()) {
          m->Post(
              [id, acked](EventLoop* loop) { loop->OnWaitDone(id, acked); });
        }
      });
}

void EventLoop::OnWaitDone(uint64_t id, int acked) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;  // Closed meanwhile.
  Connection* c = it->second.get();
  c->blocked = false;
  server_->clients_.CountBlocked(-1);
  ReplyWriter(&c->out, c->session.client.protocol).Integer(acked);
  // Requests that arrived behind the WAIT run now, in order.
  if (!Process(c)) return;
  if (Flush(c)) PublishBuffers(c);
}

bool EventLoop::Flush(Connection* c) {
  while (c->pending_output() > 0) {
    const ssize_t n = send(c->fd, c->out.data() + c->out_sent,
                           c->pending_output(), MSG_NOSIGNAL);
    if (n > 0) {
      c->out_sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    Close(c, "");
    return false;
  }
  if (c->pending_output() == 0) {
    if (c->out.capacity() > kCompactBytes) {
      std::string().swap(c->out);
    } else {
      c->out.clear();
    }
    c->out_sent = 0;
    if (c->closing) {
      Close(c, "");
      return false;
    }
  } else if (c->out_sent >= kCompactBytes) {
    c->out.erase(0, c->out_sent);
    c->out_sent = 0;
  }
  UpdateEvents(c);
  return true;
}

void EventLoop::UpdateEvents(Connection* c) {
  uint32_t want = 0;
  if (!c->blocked && !c->closing) want |= EPOLLIN;
  if (c->pending_output() > 0) want |= EPOLLOUT;
  if (want == c->events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c->session.client.id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
  c->events = want;
}

void EventLoop::Close(Connection* c, absl::string_view why) {
  if (!why.empty()) {
    SC_LOG(INFO, "resp: closing client id=%d addr=%s: %s", c->session.client.id,
           c->session.client.address, why);
  }
  const uint64_t id = c->session.client.id;
  if (c->blocked) server_->clients_.CountBlocked(-1);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  server_->clients_.Remove(id);
  server_->open_connections_.fetch_sub(1);
  connections_.erase(id);  // Deletes c.
}

void EventLoop::CloseAll() {
  std::vector<Connection*> all;
  for (auto& [id, c] : connections_) all.push_back(c.get());
  for (Connection* c : all) {
    // Best effort: replies already produced go out before the close.
    if (c->pending_output() > 0) {
      (void)!send(c->fd, c->out.data() + c->out_sent, c->pending_output(),
                  MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    Close(c, "");
  }
}

void EventLoop::SweepIdle() {
  const absl::Time now = absl::Now();
  if (now - last_sweep_ < kSweepInterval) return;
  last_sweep_ = now;
  const absl::Duration idle = server_->options_.idle_timeout;
  std::vector<Connection*> expired;
  for (auto& [id, c] : connections_) {
    if (!c->blocked && now - c->last_active > idle) expired.push_back(c.get());
  }
  for (Connection* c : expired) {
    Close(c, absl::StrCat("idle for more than ", absl::FormatDuration(idle)));
  }
}

namespace {

HandlerOptions WithServer(HandlerOptions handler, ClientRegistry* clients,
                          int max_clients) {
  handler.clients = clients;
  handler.max_clients = max_clients;
  return handler;
}

}  // namespace

RespServer::RespServer(RespServerOptions options, HandlerOptions handler)
    : options_(std::move(options)),
      handler_options_(WithServer(handler, &clients_, options_.max_clients)),
      handler_(handler_options_) {}

RespServer::~RespServer() { Stop(); }

absl::Status RespServer::Start() {
  absl::StatusOr<int> fd = Listen(options_.listen_address, &address_);
  if (!fd.ok()) return fd.status();
  listen_fd_ = *fd;
  handler_.SetLocalAddress(address_);
  int threads = options_.threads;
  if (threads <= 0)
    threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  for (int i = 0; i < threads; ++i) {
    auto loop = std::make_unique<EventLoop>(this, i);
    if (absl::Status s = loop->Init(); !s.ok()) {
      loops_.clear();
      close(listen_fd_);
      listen_fd_ = -1;
      return s;
    }
    loops_.push_back(std::move(loop));
  }
  for (auto& loop : loops_) loop->Start();
  SC_LOG(INFO, "serving the Redis protocol on %s with %d event loops", address_,
         threads);
  return absl::OkStatus();
}

void RespServer::Stop() {
  for (auto& loop : loops_) loop->RequestStop();
  for (auto& loop : loops_) loop->Join();
  loops_.clear();
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
}

}  // namespace slotcache::node::resp
