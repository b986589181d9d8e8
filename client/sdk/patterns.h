// The patterns applications build on a cache, as ready helpers over
// slotcache::Client:
//
// - CacheAside::GetOrLoad: read the cache; on a miss load from the system
//   of record and fill the cache with a TTL. Single-flight: concurrent
//   misses on one key (in this process) call the loader once and all get
//   its result; a loader error goes to every waiter and is never cached.
// - WriteThrough::Put: write the system of record first, then the cache.
//   Failure rule:
//     * the store write fails  -> the cache is not touched; the store's
//       error is returned;
//     * the store succeeds but the cache write fails -> the key is deleted
//       from the cache (best effort, so readers reload the new value from
//       the store instead of serving the old one) and the cache error is
//       returned, saying the store already has the value.
// - SessionStore: one hash per session ("<prefix>{<id>}", so a session
//   lives in one slot) with a sliding TTL: every access refreshes it.
//
// Thread-safety: all helpers are safe from any number of threads; the
// Client they use must outlive them.
#ifndef SLOTCACHE_CLIENT_SDK_PATTERNS_H_
#define SLOTCACHE_CLIENT_SDK_PATTERNS_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/sdk/client.h"
#include "client/sdk/single_flight.h"

namespace slotcache {

class CacheAside {
 public:
  // Loads the value of a key from the system of record.
  using Loader = std::function<absl::StatusOr<std::string>()>;

  explicit CacheAside(Client* client) : client_(client) {}

  // The cached value of `key`, or the loader's (then cached for `ttl`).
  // A cache that cannot be read does not fail the call: the value is
  // loaded (single-flight) and the cache fill is attempted; the fill is
  // best effort in every case.
  absl::StatusOr<std::string> GetOrLoad(absl::string_view key,
                                        const Loader& loader,
                                        absl::Duration ttl);

  // Times the loader actually ran (for tests and stats).
  uint64_t loads() const;

 private:
  Client* const client_;
  SingleFlight<std::string> flights_;
  mutable absl::Mutex mu_;
  uint64_t loads_ ABSL_GUARDED_BY(mu_) = 0;
};

class WriteThrough {
 public:
  // Writes the value to the system of record.
  using StoreWriter = std::function<absl::Status()>;

  explicit WriteThrough(Client* client) : client_(client) {}

  // See the failure rule in the file comment. `ttl` zero: no expiry.
  absl::Status Put(absl::string_view key, absl::string_view value,
                   const StoreWriter& store_writer, absl::Duration ttl);

 private:
  Client* const client_;
};

class SessionStore {
 public:
  using Fields = absl::flat_hash_map<std::string, std::string>;

  // Sessions expire `idle_ttl` after their last access.
  SessionStore(Client* client, absl::Duration idle_ttl,
               std::string key_prefix = "session:")
      : client_(client), idle_ttl_(idle_ttl), prefix_(std::move(key_prefix)) {}

  // Creates (or replaces) session `id` with `fields`.
  absl::Status Create(absl::string_view id, const Fields& fields);
  // All fields, refreshing the TTL; nullopt when the session does not
  // exist or expired.
  absl::StatusOr<std::optional<Fields>> Get(absl::string_view id);
  // One field, refreshing the TTL; nullopt when absent.
  absl::StatusOr<std::optional<std::string>> GetField(absl::string_view id,
                                                      absl::string_view field);
  // Sets one field, refreshing the TTL. NO_SUCH_KEY when the session does
  // not exist (a field write never resurrects an expired session).
  absl::Status Set(absl::string_view id, absl::string_view field,
                   absl::string_view value);
  // Refreshes the TTL; false when the session does not exist.
  absl::StatusOr<bool> Touch(absl::string_view id);
  // Removes the session; false when it did not exist.
  absl::StatusOr<bool> Destroy(absl::string_view id);

  // The cache key of session `id`.
  std::string KeyOf(absl::string_view id) const;

 private:
  Client* const client_;
  const absl::Duration idle_ttl_;
  const std::string prefix_;
};

}  // namespace slotcache

#endif  // SLOTCACHE_CLIENT_SDK_PATTERNS_H_
