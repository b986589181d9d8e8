#!/usr/bin/env bash
# Installs everything slotcache needs from Debian's package registry (only
# what is missing; quiet when all is there), then optionally builds.
#
#   deploy/setup.sh            install only
#   deploy/setup.sh build      install, then bazel build //... (debug)
#   deploy/setup.sh build-opt  install, then the optimised binaries
#
# Runs as root (or with sudo available) on Debian 12.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap          # Bazel 4.2.3, offline
  g++
  libgrpc++-dev            # gRPC C++ (+ reflection, health)
  protobuf-compiler-grpc   # grpc_cpp_plugin
  protobuf-compiler        # protoc
  libprotobuf-dev
  librocksdb-dev           # snapshots, durability log, coordinator state
  libabsl-dev              # Abseil
  libgtest-dev             # GoogleTest + GoogleMock
  libbenchmark-dev         # Google Benchmark
  redis-server             # performance anchor for benchmarks
  redis-tools              # redis-benchmark, redis-cli
  nodejs                   # ioredis client test (tests/resp_cluster_test)
  clang                    # --config=clang (thread-safety analysis)
  libclang-rt-14-dev       # sanitizer runtimes for clang
  iproute2                 # network namespaces for chaos tests
  procps                   # pgrep/ps for the local cluster scripts
  prometheus-cpp-dev       # /metrics endpoints (core + pull)
  prometheus               # real Prometheus + promtool for tests/metrics_test
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  pkg="${pkg%%#*}"
  pkg="${pkg// /}"
  [ -z "$pkg" ] && continue
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

# npm installs ioredis into ~/.cache/slotcache-npm for the client test.
# Debian ships it as its own package; a nodejs from elsewhere (e.g.
# NodeSource) bundles it and conflicts with Debian's, so only ask for the
# package when the command is missing.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: packages installed"
fi

cd "$(dirname "$0")/.."
case "${1:-}" in
  build)
    echo "setup: building (bazel build //...)"
    bazel build //... ;;
  build-opt)
    echo "setup: building optimised binaries"
    bazel build --config=opt //node:slotcache-node \
      //coordinator:slotcache-coordinator //client:slotctl ;;
  "") ;;
  *) echo "setup: unknown argument '$1' (use build or build-opt)" >&2; exit 2 ;;
esac
