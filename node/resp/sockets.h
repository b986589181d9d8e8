// Socket plumbing of the RESP server (internal to node/resp): the
// listening socket and printable peer addresses.
//
// Thread-safety: pure functions (they only touch the descriptors they are
// given or create).
#ifndef SLOTCACHE_NODE_RESP_SOCKETS_H_
#define SLOTCACHE_NODE_RESP_SOCKETS_H_

#include <sys/socket.h>

#include <string>

#include "absl/status/statusor.h"

namespace slotcache::node::resp {

// A non-blocking listening socket bound to HOST:PORT (port 0 picks a free
// one; "[::1]:0" for IPv6). `*bound` gets the address actually bound.
// INVALID_ARGUMENT for a malformed address, UNAVAILABLE when it cannot
// listen, both saying what to change.
absl::StatusOr<int> Listen(const std::string& address, std::string* bound);

// "host:port" ("[host]:port" for IPv6) of a socket address.
std::string FormatAddress(const sockaddr_storage& addr);

}  // namespace slotcache::node::resp

#endif  // SLOTCACHE_NODE_RESP_SOCKETS_H_
