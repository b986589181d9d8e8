#!/usr/bin/env bash
# Starts a local slotcache cluster as processes on loopback.
#
#   deploy/local-cluster.sh up     set up (install, build), start, print seed
#   deploy/local-cluster.sh down   stop everything started by `up`
#   deploy/local-cluster.sh status show what runs
#
# Data and logs live under .local-cluster/ (or $SLOTCACHE_HOME).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
HOME_DIR="${SLOTCACHE_HOME:-$ROOT/.local-cluster}"
BIN="$ROOT/bazel-bin"

pids() { cat "$HOME_DIR"/*.pid 2>/dev/null || true; }

down() {
  local any=0
  for pid in $(pids); do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; any=1; fi
  done
  for pid in $(pids); do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -f "$HOME_DIR"/*.pid
  [ "$any" = 1 ] && echo "local-cluster: stopped" || echo "local-cluster: nothing was running"
}

# start NAME BINARY ARGS...: runs BINARY in the background, waits for its address.
start() {
  local name="$1" binary="$2"; shift 2
  rm -f "$HOME_DIR/$name.addr"
  "$binary" --listen=127.0.0.1:0 --address_file="$HOME_DIR/$name.addr" "$@" \
    >"$HOME_DIR/$name.log" 2>&1 &
  echo $! >"$HOME_DIR/$name.pid"
  for _ in $(seq 300); do
    [ -s "$HOME_DIR/$name.addr" ] && { cat "$HOME_DIR/$name.addr"; return 0; }
    kill -0 "$(cat "$HOME_DIR/$name.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "local-cluster: $name did not start; its log ($HOME_DIR/$name.log) says:" >&2
  tail -20 "$HOME_DIR/$name.log" >&2
  return 1
}

up() {
  deploy/setup.sh build-opt
  mkdir -p "$HOME_DIR"
  if [ -n "$(pids)" ]; then down >/dev/null; fi
  echo "local-cluster: starting in $HOME_DIR"
  coordinator=$(start coordinator "$BIN/coordinator/slotcache-coordinator")
  echo "  coordinator  $coordinator"
  node=$(start node-1 "$BIN/node/slotcache-node")
  echo "  node-1       $node"
  "$BIN/client/slotctl" --target="$node" ping
  cat <<MSG

local-cluster: up. Seed address: $node
  check:  $BIN/client/slotctl --target=$node ping
  stop:   deploy/local-cluster.sh down
MSG
}

status() {
  for f in "$HOME_DIR"/*.pid; do
    [ -e "$f" ] || { echo "local-cluster: nothing running"; return 0; }
    name="$(basename "$f" .pid)"
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then state=running; else state=dead; fi
    echo "$name pid=$pid $state $(cat "$HOME_DIR/$name.addr" 2>/dev/null)"
  done
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
