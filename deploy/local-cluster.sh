#!/usr/bin/env bash
# Starts a local slotcache cluster as processes on loopback: one coordinator
# and SHARDS x (1 + REPLICAS) nodes spread over the simulated AZs az-a,
# az-b and az-c, then creates the cluster and waits until
# `slotctl cluster check` passes.
#
#   deploy/local-cluster.sh up [--shards=3] [--replicas=2] [--port=6999] [--foreground] [--restore=NAME]
#   deploy/local-cluster.sh add-nodes N   start N more nodes for the running cluster
#   deploy/local-cluster.sh down      stop everything started by `up` and `add-nodes`
#   deploy/local-cluster.sh status    show what runs, then `slotctl cluster status`
#
# `up` starts from scratch (it is a cache: a new cluster starts empty). With
# --foreground it stays attached and Ctrl-C stops the cluster; without, the
# processes keep running until `down`. Ctrl-C during `up` stops what it
# started. The coordinator listens on 127.0.0.1:PORT (default 6999, slotctl's
# default), nodes on free ports: each node a gRPC port and a Redis protocol
# (RESP) port, so `redis-cli -c -p <any node's RESP port>` works at once.
#
# `add-nodes N` starts N more nodes registered with the running
# coordinator (AZs continue round-robin), in no shard yet; then
# `slotctl shard add --replicas=R` forms a shard from them and
# `slotctl rebalance` moves slots to it (docs/RESHARDING.md).
#
# `up --restore=NAME` starts the nodes, then restores backup NAME into them
# (`slotctl backup restore NAME --shards --replicas`) instead of creating an
# empty cluster. Backups (`slotctl backup create`) live in
# $HOME_DIR/backups, which `up` keeps (docs/PERSISTENCE.md).
#
# Data and logs live under .local-cluster/ (or $SLOTCACHE_HOME):
#   <name>.log  <name>.pid  <name>.addr  <name>.resp (RESP address)
#   <name>.metrics (Prometheus /metrics address)  data/<name>/
# Every process serves Prometheus metrics on a free port of its own
# (docs/OPERATIONS.md); `up` prints the scrape targets.
set -euo pipefail
CALLER_DIR="$(pwd)"
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
HOME_DIR="${SLOTCACHE_HOME:-$ROOT/.local-cluster}"
BIN="$ROOT/bazel-bin"
SLOTCTL="$BIN/client/slotctl"
AZS=(az-a az-b az-c)

SHARDS=3
REPLICAS=2
PORT=6999
FOREGROUND=0
RESTORE=""
# How long `up` waits for the nodes to register and for the check to pass.
DEADLINE_SECONDS=60

die() { echo "local-cluster: $*" >&2; exit 1; }

pids() { cat "$HOME_DIR"/*.pid 2>/dev/null || true; }

down() {
  local any=0
  for pid in $(pids); do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; any=1; fi
  done
  for pid in $(pids); do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "local-cluster: pid $pid ignored SIGTERM for 10s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$HOME_DIR"/*.pid
  if [ "$any" = 1 ]; then echo "local-cluster: stopped"; else echo "local-cluster: nothing was running"; fi
}

# start NAME BINARY ARGS...: runs BINARY in the background, waits for its address.
start() {
  local name="$1" binary="$2"; shift 2
  rm -f "$HOME_DIR/$name.addr"
  "$binary" --address_file="$HOME_DIR/$name.addr" "$@" \
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

# start_node I COORDINATOR: starts node-I in AZ number (I-1) mod 3 and
# prints its addresses.
start_node() {
  local i="$1" coordinator="$2" address
  local az="${AZS[$(((i - 1) % 3))]}"
  address=$(start "node-$i" "$BIN/node/slotcache-node" --listen=127.0.0.1:0 \
    --resp_listen=127.0.0.1:0 --resp_address_file="$HOME_DIR/node-$i.resp" \
    --metrics_listen=127.0.0.1:0 --metrics_address_file="$HOME_DIR/node-$i.metrics" \
    --coordinator="$coordinator" --az="$az" --data_dir="$HOME_DIR/data/node-$i") ||
    return 1
  printf '  node-%-6s %s  resp %s  metrics %s  %s\n' "$i" "$address" \
    "$(cat "$HOME_DIR/node-$i.resp")" "$(cat "$HOME_DIR/node-$i.metrics")" "$az"
}

# retry SECONDS WHAT COMMAND...: runs COMMAND until it succeeds or time is up.
retry() {
  local seconds="$1" what="$2"; shift 2
  local end=$((SECONDS + seconds)) out
  while true; do
    if out="$("$@" 2>&1)"; then printf '%s\n' "$out"; return 0; fi
    if [ "$SECONDS" -ge "$end" ]; then
      echo "local-cluster: gave up after ${seconds}s waiting for $what; last output:" >&2
      printf '%s\n' "$out" >&2
      echo "logs are in $HOME_DIR/*.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

up() {
  for arg in "$@"; do
    case "$arg" in
      --shards=*) SHARDS="${arg#*=}" ;;
      --replicas=*) REPLICAS="${arg#*=}" ;;
      --port=*) PORT="${arg#*=}" ;;
      --foreground) FOREGROUND=1 ;;
      --restore=*) RESTORE="${arg#*=}" ;;
      *) echo "usage: $0 up [--shards=N] [--replicas=R] [--port=P] [--foreground] [--restore=NAME]" >&2; exit 2 ;;
    esac
  done
  [[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || die "--shards must be a positive number (got '$SHARDS')"
  [[ "$REPLICAS" =~ ^[0-5]$ ]] || die "--replicas must be 0..5 (got '$REPLICAS')"
  local nodes=$((SHARDS * (1 + REPLICAS)))

  deploy/setup.sh build-opt
  mkdir -p "$HOME_DIR"
  if [ -n "$(pids)" ]; then down >/dev/null; fi
  rm -rf "$HOME_DIR/data" "$HOME_DIR"/*.log "$HOME_DIR"/*.addr "$HOME_DIR"/*.resp \
    "$HOME_DIR"/*.metrics
  mkdir -p "$HOME_DIR/data"
  # From here on, Ctrl-C (or a failure) stops what was started.
  trap 'echo; down; exit 130' INT TERM
  trap 'status=$?; if [ $status -ne 0 ]; then down >/dev/null; fi' EXIT

  echo "local-cluster: starting 1 coordinator + $nodes nodes ($SHARDS shards x (1+$REPLICAS)) in $HOME_DIR"
  local coordinator
  coordinator=$(start coordinator "$BIN/coordinator/slotcache-coordinator" \
    --listen="127.0.0.1:$PORT" --data_dir="$HOME_DIR/data/coordinator" \
    --metrics_listen=127.0.0.1:0 --metrics_address_file="$HOME_DIR/coordinator.metrics" \
    --backup_location="file://$HOME_DIR/backups") ||
    die "could not start the coordinator on 127.0.0.1:$PORT (port taken? use --port=N)"
  echo "  coordinator  $coordinator  metrics $(cat "$HOME_DIR/coordinator.metrics")"
  for i in $(seq 1 "$nodes"); do start_node "$i" "$coordinator"; done

  if [ -n "$RESTORE" ]; then
    local addresses=()
    for i in $(seq 1 "$nodes"); do addresses+=("$(cat "$HOME_DIR/node-$i.addr")"); done
    retry "$DEADLINE_SECONDS" "$nodes nodes to register" \
      registered "$coordinator" "${addresses[@]}" >/dev/null
    echo "local-cluster: restoring backup $RESTORE"
    "$SLOTCTL" --coordinator="$coordinator" backup restore "$RESTORE" \
      --shards="$SHARDS" --replicas="$REPLICAS" ||
      die "restore of backup $RESTORE failed (see above; \`slotctl backup list\` shows the backups in $HOME_DIR/backups)"
  else
    echo "local-cluster: creating the cluster"
    retry "$DEADLINE_SECONDS" "$nodes nodes to register" \
      "$SLOTCTL" --coordinator="$coordinator" cluster create \
      --shards="$SHARDS" --replicas="$REPLICAS" >/dev/null
  fi
  retry "$DEADLINE_SECONDS" "slotctl cluster check to pass" \
    "$SLOTCTL" --coordinator="$coordinator" cluster check
  echo
  "$SLOTCTL" --coordinator="$coordinator" cluster status

  local seeds resp_seed slotctl="$SLOTCTL"
  # The RESP seed: any node works, redis-cli -c follows MOVED from there.
  resp_seed="$(cat "$HOME_DIR/node-1.resp")"
  seeds=$("$SLOTCTL" --coordinator="$coordinator" cluster status --output=json |
    grep -o '"address": "[^"]*"' | head -3 | cut -d'"' -f4 | paste -sd, -)
  # Show commands the way the caller can paste them.
  if [ "$CALLER_DIR" = "$ROOT" ]; then slotctl="bazel-bin/client/slotctl"; fi
  if [ "$coordinator" != "127.0.0.1:6999" ]; then
    slotctl="$slotctl --coordinator=$coordinator"
  fi
  cat <<MSG

local-cluster: up. Coordinator: $coordinator
  seed nodes (for SDK clients): $seeds
  RESP seed (Redis clients):    $resp_seed
  try:   redis-cli -c -p ${resp_seed##*:} set user:42 alice
         redis-cli -c -p ${resp_seed##*:} cluster nodes
         $slotctl set user:42 alice
         $slotctl get user:42
         $slotctl cluster status
         $slotctl cluster check
  metrics (Prometheus targets): $(for f in "$HOME_DIR"/*.metrics; do cat "$f"; echo; done | paste -sd, -)
  logs:  $HOME_DIR/*.log
  stop:  deploy/local-cluster.sh down
MSG
  trap - EXIT
  if [ "$FOREGROUND" = 1 ]; then
    echo "local-cluster: running in the foreground; Ctrl-C stops the cluster"
    while [ -n "$(pids)" ]; do sleep 1; done
  else
    trap - INT TERM
  fi
}

# registered COORDINATOR ADDRESS...: succeeds once the coordinator's map
# lists every ADDRESS.
registered() {
  local coordinator="$1" map a; shift
  map="$("$SLOTCTL" --coordinator="$coordinator" cluster status --output=json)" || return 1
  for a in "$@"; do
    grep -q "\"address\": \"$a\"" <<<"$map" || { echo "$a has not registered yet"; return 1; }
  done
}

# stop_added: stops the nodes in ADDED (those add-nodes started).
stop_added() {
  local i
  for i in "${ADDED[@]}"; do
    kill -TERM "$(cat "$HOME_DIR/node-$i.pid" 2>/dev/null)" 2>/dev/null || true
    rm -f "$HOME_DIR/node-$i.pid"
  done
}

add_nodes() {
  local count="${1:-}"
  [[ "$count" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 add-nodes N   (N > 0 more nodes for the running cluster)" >&2; exit 2; }
  local coordinator_pid
  coordinator_pid="$(cat "$HOME_DIR/coordinator.pid" 2>/dev/null || true)"
  if [ -z "$coordinator_pid" ] || ! kill -0 "$coordinator_pid" 2>/dev/null; then
    die "no running cluster in $HOME_DIR; start one with \`$0 up\` first"
  fi
  [ -x "$BIN/node/slotcache-node" ] ||
    die "$BIN/node/slotcache-node is missing; \`deploy/setup.sh build-opt\` builds it"
  local coordinator last=0 n
  coordinator="$(cat "$HOME_DIR/coordinator.addr")"
  # Continue the numbering (and so the AZ round-robin) after the highest node.
  for f in "$HOME_DIR"/node-*.addr; do
    [ -e "$f" ] || continue
    n="$(basename "$f" .addr)"; n="${n#node-}"
    if [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt "$last" ]; then last="$n"; fi
  done
  # A failure or Ctrl-C stops the nodes this run started (not the rest).
  ADDED=()
  trap 'stop_added; exit 130' INT TERM
  echo "local-cluster: starting $count more node(s) for coordinator $coordinator"
  for i in $(seq $((last + 1)) $((last + count))); do
    ADDED+=("$i")
    start_node "$i" "$coordinator" || { stop_added; die "stopped the node(s) this run started"; }
  done
  trap - INT TERM
  # The nodes register on start; wait until the coordinator lists them all.
  local addresses=()
  for i in "${ADDED[@]}"; do addresses+=("$(cat "$HOME_DIR/node-$i.addr")"); done
  retry "$DEADLINE_SECONDS" "the new nodes to register" \
    registered "$coordinator" "${addresses[@]}" >/dev/null
  local slotctl="$SLOTCTL"
  if [ "$CALLER_DIR" = "$ROOT" ]; then slotctl="bazel-bin/client/slotctl"; fi
  if [ "$coordinator" != "127.0.0.1:6999" ]; then
    slotctl="$slotctl --coordinator=$coordinator"
  fi
  cat <<MSG

local-cluster: $count node(s) registered, in no shard yet. Next:
  $slotctl shard add --replicas=R      # forms a shard from 1+R of them, spread over AZs
  $slotctl rebalance --dry-run         # the plan; drop --dry-run to move slots to it
  $slotctl cluster status
MSG
}

status() {
  local any=0
  for f in "$HOME_DIR"/*.pid; do
    [ -e "$f" ] || continue
    any=1
    name="$(basename "$f" .pid)"
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then state=running; else state=dead; fi
    resp=""
    if [ -s "$HOME_DIR/$name.resp" ]; then resp=" resp $(cat "$HOME_DIR/$name.resp")"; fi
    echo "$name pid=$pid $state $(cat "$HOME_DIR/$name.addr" 2>/dev/null)$resp"
  done
  if [ "$any" = 0 ]; then echo "local-cluster: nothing running"; return 0; fi
  if [ -s "$HOME_DIR/coordinator.addr" ]; then
    echo
    "$SLOTCTL" --coordinator="$(cat "$HOME_DIR/coordinator.addr")" cluster status || true
  fi
}

cmd="${1:-up}"
[ $# -gt 0 ] && shift
case "$cmd" in
  up) up "$@" ;;
  down) down ;;
  add-nodes) add_nodes "$@" ;;
  status) status ;;
  *) echo "usage: $0 up [--shards=N] [--replicas=R] [--port=P] [--foreground] | add-nodes N | down | status" >&2; exit 2 ;;
esac
