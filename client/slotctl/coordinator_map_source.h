// Forwarding header: CoordinatorMapSource moved into the SDK
// (client/sdk/coordinator_map_source.h), where it also watches the map.
// slotctl and the cluster tests still name it slotctl::CoordinatorMapSource;
// new code includes the SDK header and uses slotcache::CoordinatorMapSource.
#ifndef SLOTCACHE_CLIENT_SLOTCTL_COORDINATOR_MAP_SOURCE_H_
#define SLOTCACHE_CLIENT_SLOTCTL_COORDINATOR_MAP_SOURCE_H_

#include "client/sdk/coordinator_map_source.h"

namespace slotcache::slotctl {

using ::slotcache::CoordinatorMapSource;

}  // namespace slotcache::slotctl

#endif  // SLOTCACHE_CLIENT_SLOTCTL_COORDINATOR_MAP_SOURCE_H_
