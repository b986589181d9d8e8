// RespServer: the node's Redis protocol port (RESP2, RESP3, inline), on
// epoll event loops.
//
// Thread model. `threads` event loops (default: one per core), each a
// thread with its own epoll set and its own connections; a connection
// lives on one loop for its whole life, so its buffers and session need
// no lock. Loop 0 also owns the listening socket and hands accepted
// connections round-robin to the loops (through each loop's mailbox: a
// locked task queue plus an eventfd that wakes it). Commands run inline on
// the loop thread: a cache command takes microseconds, and the store and
// dispatcher are thread-safe, so N loops use N cores.
//
// Per readiness round of a connection (level-triggered): one recv into the
// connection's read buffer, then every complete request in it is parsed in
// place (RequestParser, no copies) and executed in order, the replies are
// appended to the connection's output buffer, and the whole buffer goes
// out in one send. What the socket does not take waits for EPOLLOUT.
//
// Limits against hostile or broken clients (RespServerOptions): request
// shape (multibulk length, bulk length, inline length -> Redis' protocol
// error, then close), query buffer (unparsed input), output buffer (a
// client that sends but never reads is disconnected once its pending
// replies pass the limit), maxclients (Redis' "-ERR max number of clients
// reached"), idle timeout.
//
// Thread-safety: Start and Stop from one thread; address() after Start.
#ifndef SLOTCACHE_NODE_RESP_RESP_SERVER_H_
#define SLOTCACHE_NODE_RESP_RESP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "node/resp/client_registry.h"
#include "node/resp/command_handler.h"
#include "node/resp/request_parser.h"

namespace slotcache::node::resp {

struct RespServerOptions {
  // HOST:PORT; port 0 picks a free port.
  std::string listen_address;
  // Event loop threads; 0 means one per core.
  int threads = 0;
  RequestParser::Limits parser;
  // Unparsed input a client may have buffered (Redis
  // client-query-buffer-limit, 1 GiB).
  size_t max_query_buffer_bytes = 1ull << 30;
  // Replies a client may leave unread before it is disconnected.
  size_t max_output_buffer_bytes = 256ull << 20;
  // Connections at once (Redis maxclients).
  int max_clients = 10000;
  // Close connections idle this long; zero: never (Redis timeout 0).
  absl::Duration idle_timeout = absl::ZeroDuration();
};

class EventLoop;

class RespServer {
 public:
  // `handler` says where commands go; its `clients` and `max_clients` are
  // filled in by the server.
  RespServer(RespServerOptions options, HandlerOptions handler);
  // Stops the server.
  ~RespServer();

  RespServer(const RespServer&) = delete;
  RespServer& operator=(const RespServer&) = delete;

  // Binds and starts the loops. INVALID_ARGUMENT for a malformed address,
  // UNAVAILABLE when it cannot be bound.
  absl::Status Start();
  // The bound HOST:PORT.
  const std::string& address() const { return address_; }
  // Closes the listener and every connection, joins the loops. Idempotent.
  void Stop();

  const ClientRegistry& clients() const { return clients_; }

 private:
  friend class EventLoop;

  // Constant after construction.
  const RespServerOptions options_;
  ClientRegistry clients_;
  const HandlerOptions handler_options_;
  CommandHandler handler_;

  // Set by Start.
  std::string address_;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<EventLoop>> loops_;
  // Connections open on all loops (for maxclients).
  std::atomic<int> open_connections_{0};
};

}  // namespace slotcache::node::resp

#endif  // SLOTCACHE_NODE_RESP_RESP_SERVER_H_
