#!/usr/bin/env bash
# Failover benchmark: the client-visible write gap when a primary dies,
# slotcache vs Debian's redis-server in cluster mode, same machine, same run.
#
#   slotcache: a coordinator with default flags (its --node_timeout default
#              is read from `slotcache-coordinator --help`) and
#              3 shards x (1 primary + 1 replica) nodes.
#   redis:     6 redis-server --cluster-enabled yes, created with
#              redis-cli --cluster create --cluster-replicas 1 (3 primaries
#              + 3 replicas), --cluster-node-timeout = our node_timeout.
#
# Each round, for each system in turn: tests/bench/failover_probe writes
# continuously to keys of one shard's slots (the shards take turns), SIGKILLs
# that shard's primary after a 1 s warm-up, and reports the time from the
# last write acked before the kill to the first write issued after it that
# succeeds (no recovery within ROUND_TIMEOUT is reported, not waited for).
# Then the killed process is restarted with its data folder (it rejoins as a
# replica, or — without failover — as the primary it still is) and the next
# round waits until the cluster is whole again: `slotctl cluster check`
# passes / every Redis node says cluster_state:ok with 3 primaries that each
# have a replica whose link is up.
#
# Prints per round, then p50 and max per system and the ratio
# slotcache/redis (target: slotcache p50 < 1 s and <= 0.5x Redis).
# Everything runs on 127.0.0.1, free ports, under one temp folder, and is
# stopped on exit.
#
# Usage: tests/bench/failover_bench.sh            (from anywhere in the repo)
# Env:   ROUNDS (default 20), ROUND_TIMEOUT (seconds to wait for a write
#        after the kill, default 15), SYSTEMS (default "slotcache redis";
#        one of them for a partial run), HEAL_TIMEOUT (seconds a cluster
#        gets to become whole again between rounds, default 60).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROUNDS="${ROUNDS:-20}"
ROUND_TIMEOUT="${ROUND_TIMEOUT:-15}"
SYSTEMS="${SYSTEMS:-slotcache redis}"
HEAL_TIMEOUT="${HEAL_TIMEOUT:-60}"
SHARDS=3

die() { echo "failover_bench.sh: $*" >&2; exit 1; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number (got '$ROUNDS')"
[[ "$ROUND_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "ROUND_TIMEOUT must be whole seconds (got '$ROUND_TIMEOUT')"
for system in $SYSTEMS; do
  [[ "$system" == slotcache || "$system" == redis ]] ||
    die "SYSTEMS may name slotcache and redis only (got '$system')"
done
for tool in redis-server redis-cli python3; do
  command -v "$tool" >/dev/null ||
    die "$tool is missing; run deploy/setup.sh (Debian packages redis-server, redis-tools, python3)"
done

echo "== building (--config=opt)"
bazel build --config=opt //coordinator:slotcache-coordinator //node:slotcache-node \
  //client:slotctl //tests/bench/failover_probe:failover_probe 2>&1 | tail -1
BIN="$(bazel info --config=opt bazel-bin 2>/dev/null)"
COORDINATOR_BIN="$BIN/coordinator/slotcache-coordinator"
NODE_BIN="$BIN/node/slotcache-node"
SLOTCTL_BIN="$BIN/client/slotctl"
PROBE_BIN="$BIN/tests/bench/failover_probe/failover_probe"

# Our default node_timeout in milliseconds, from the coordinator's --help
# ("default: 1s;"), so the Redis side follows the default if it changes.
NODE_TIMEOUT_MS="$("$COORDINATOR_BIN" --help | python3 -c '
import re, sys
text = sys.stdin.read()
m = re.search(r"--node_timeout \(.*?\); default: ([0-9.]+)(ms|s);", text, re.S)
if not m: sys.exit("cannot find the --node_timeout default in slotcache-coordinator --help")
print(int(round(float(m.group(1)) * (1 if m.group(2) == "ms" else 1000))))
')"

WORK="$(mktemp -d /tmp/slotcache-failover.XXXXXX)"
declare -A PIDS=()  # name -> pid of everything started here
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_ports, wait_until
source tests/bench/bench_lib.sh  # (the repo root is the working folder here)

# ---- Redis Cluster -------------------------------------------------------

REDIS_PORTS=()
start_redis() {  # start_redis PORT
  local port="$1" dir="$WORK/redis-$1"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "$dir/nodes.conf" \
    --cluster-node-timeout "$NODE_TIMEOUT_MS" --appendonly no --save '' \
    --dir "$dir" --daemonize no --logfile "$dir/redis.log" &
  PIDS["redis-$port"]=$!
  wait_until 30 "redis-server on port $port" redis-cli -p "$port" ping
}

# Exit 0 when every node says cluster_state:ok and sees 3 healthy primaries
# with slots, each with a healthy replica whose replication link is up.
redis_whole() {
  local port
  for port in "${REDIS_PORTS[@]}"; do
    redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' || return 1
  done
  for port in "${REDIS_PORTS[@]}"; do
    redis-cli -p "$port" cluster nodes
    echo "--"
    redis-cli -p "$port" info replication | tr -d '\r'
    echo "=="
  done | python3 -c '
import sys
views = sys.stdin.read().split("==\n")[:-1]
for view in views:
    nodes, info = view.split("--\n")
    masters, replicas = {}, {}
    for line in nodes.splitlines():
        f = line.split()
        flags = f[2].split(",")
        if "fail" in flags or "fail?" in flags or f[7] != "connected":
            sys.exit(1)
        if "master" in flags and len(f) > 8:
            masters[f[0]] = 0
        elif "slave" in flags:
            replicas[f[3]] = replicas.get(f[3], 0) + 1
    if len(masters) != 3 or any(replicas.get(m, 0) < 1 for m in masters):
        sys.exit(1)
    if "role:slave" in info and "master_link_status:up" not in info:
        sys.exit(1)
'
}

# Prints "PORT FIRST-LAST" of the primary owning the INDEX-th slot range.
redis_primary() {  # redis_primary INDEX
  redis-cli -p "${REDIS_PORTS[0]}" cluster nodes | python3 -c '
import sys
index = int(sys.argv[1])
rows = []
for line in sys.stdin:
    f = line.split()
    if "master" in f[2].split(",") and len(f) > 8 and "-" in f[8]:
        first, last = f[8].split("-")
        rows.append((int(first), int(last), f[1].split("@")[0].split(":")[1]))
rows.sort()
first, last, port = rows[index % len(rows)]
print(port, f"{first}-{last}")
' "$1"
}

setup_redis() {
  read -r -a REDIS_PORTS <<<"$(free_ports 6)"
  echo "== redis: starting 6 redis-server (cluster-node-timeout ${NODE_TIMEOUT_MS} ms) on ports ${REDIS_PORTS[*]}"
  local port addresses=()
  for port in "${REDIS_PORTS[@]}"; do
    start_redis "$port"
    addresses+=("127.0.0.1:$port")
  done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes \
    >"$WORK/redis-create.log" 2>&1 ||
    { cat "$WORK/redis-create.log" >&2; die "redis-cli --cluster create failed"; }
  wait_until "$HEAL_TIMEOUT" "the Redis cluster to become whole" redis_whole
  REDIS_SEEDS="$(IFS=,; echo "${addresses[*]}")"
  echo "   redis cluster ok: 3 primaries + 3 replicas"
}

redis_round() {  # redis_round ROUND
  local round="$1" port slots code=0
  read -r port slots <<<"$(redis_primary $((round - 1)))"
  echo "-- round $round/$ROUNDS redis: killing primary 127.0.0.1:$port (slots $slots)"
  # (stderr of the group: bash's "Killed" notice about the primary)
  {
    "$PROBE_BIN" --system=redis --seeds="$REDIS_SEEDS" --slots="$slots" \
      --kill_pid="${PIDS[redis-$port]}" --recovery_timeout="${ROUND_TIMEOUT}s" \
      >"$WORK/result-redis-$round.json" 2>"$WORK/probe-redis-$round.log" || code=$?
    wait "${PIDS[redis-$port]}" || true
  } 2>/dev/null
  report_round redis "$round" "$code"
  start_redis "$port"
  wait_until "$HEAL_TIMEOUT" "the Redis cluster to become whole again" redis_whole
}

# ---- slotcache -----------------------------------------------------------

SC_NODES=$((SHARDS * 2))
SC_AZS=(az-a az-b az-c)
start_sc_node() {  # start_sc_node INDEX LISTEN
  local i="$1" listen="$2" dir="$WORK/sc-node-$1"
  mkdir -p "$dir"
  rm -f "$dir/address"
  "$NODE_BIN" --listen="$listen" --address_file="$dir/address" \
    --coordinator="$SC_COORDINATOR" --az="${SC_AZS[$((i % 3))]}" \
    --data_dir="$dir" >>"$dir/node.log" 2>&1 &
  PIDS["sc-node-$i"]=$!
  wait_until 30 "slotcache node $i to announce its address" test -s "$dir/address"
}

slotctl() { "$SLOTCTL_BIN" --coordinator="$SC_COORDINATOR" "$@"; }

# Prints "INDEX FIRST-LAST" of the node that is primary of the INDEX-th shard.
sc_primary() {  # sc_primary INDEX
  slotctl --output=json cluster status | python3 -c '
import json, os, sys
index, work, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
m = json.load(sys.stdin)
shards = sorted(m["shards"], key=lambda s: s["slots"][0]["start"])
shard = shards[index % len(shards)]
ids = {}
for i in range(count):
    with open(os.path.join(work, f"sc-node-{i}", "node_id")) as f:
        ids[f.read().strip()] = i
r = shard["slots"][0]
print(ids[shard["primaryNodeId"]], "%d-%d" % (r["start"], r["end"]))
' "$1" "$WORK" "$SC_NODES"
}

setup_slotcache() {
  echo "== slotcache: starting a coordinator (default flags: node_timeout ${NODE_TIMEOUT_MS} ms) and $SC_NODES nodes ($SHARDS shards x (1+1))"
  mkdir -p "$WORK/sc-coordinator"
  "$COORDINATOR_BIN" --listen=127.0.0.1:0 --address_file="$WORK/sc-coordinator/address" \
    --data_dir="$WORK/sc-coordinator/data" >"$WORK/sc-coordinator/log" 2>&1 &
  PIDS[sc-coordinator]=$!
  wait_until 30 "the coordinator to announce its address" test -s "$WORK/sc-coordinator/address"
  SC_COORDINATOR="$(cat "$WORK/sc-coordinator/address")"
  local i addresses=()
  for i in $(seq 0 $((SC_NODES - 1))); do
    start_sc_node "$i" 127.0.0.1:0
    addresses+=("$(cat "$WORK/sc-node-$i/address")")
  done
  wait_until "$HEAL_TIMEOUT" "$SC_NODES nodes to register and the cluster to be created" \
    slotctl cluster create --shards="$SHARDS" --replicas=1
  wait_until "$HEAL_TIMEOUT" "slotctl cluster check to pass" slotctl cluster check
  SC_SEEDS="$(IFS=,; echo "${addresses[*]}")"
  echo "   slotcache cluster ok (coordinator $SC_COORDINATOR)"
}

slotcache_round() {  # slotcache_round ROUND
  local round="$1" index slots address code=0
  read -r index slots <<<"$(sc_primary $((round - 1)))"
  address="$(cat "$WORK/sc-node-$index/address")"
  echo "-- round $round/$ROUNDS slotcache: killing primary $address (slots $slots)"
  {
    "$PROBE_BIN" --system=slotcache --seeds="$SC_SEEDS" --slots="$slots" \
      --kill_pid="${PIDS[sc-node-$index]}" --recovery_timeout="${ROUND_TIMEOUT}s" \
      >"$WORK/result-slotcache-$round.json" 2>"$WORK/probe-slotcache-$round.log" || code=$?
    wait "${PIDS[sc-node-$index]}" || true
  } 2>/dev/null
  report_round slotcache "$round" "$code"
  # Same address, so the probe's seed list stays valid.
  start_sc_node "$index" "$address"
  wait_until "$HEAL_TIMEOUT" "slotctl cluster check to pass again" slotctl cluster check
}

# ---- rounds and summary ----------------------------------------------------

report_round() {  # report_round SYSTEM ROUND PROBE_EXIT_CODE
  local system="$1" round="$2" code="$3" file="$WORK/result-$1-$2.json"
  if [ "$code" != 0 ] && [ "$code" != 3 ]; then
    cat "$WORK/probe-$system-$round.log" >&2
    die "the probe failed (exit $code) in $system round $round"
  fi
  python3 - "$file" "$ROUND_TIMEOUT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
if r["recovered"]:
    print("   gap %.0f ms (%d failed writes after the kill)" % (r["gap_ms"], r["failed_after_kill"]))
else:
    print("   no recovery within %s s (last error: %s)" % (sys.argv[2], r["last_error"]))
PY
}

START=$SECONDS
for system in $SYSTEMS; do "setup_$system"; done
for round in $(seq 1 "$ROUNDS"); do
  for system in $SYSTEMS; do "${system}_round" "$round"; done
done

echo
echo "== summary: $ROUNDS rounds, node_timeout ${NODE_TIMEOUT_MS} ms, $((SECONDS - START)) s"
python3 - "$WORK" "$ROUNDS" "$ROUND_TIMEOUT" $SYSTEMS <<'PY'
import json, os, statistics, sys
work, rounds, timeout, systems = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
stats = {}
for system in systems:
    gaps, missing = [], 0
    for r in range(1, rounds + 1):
        with open(os.path.join(work, f"result-{system}-{r}.json")) as f:
            result = json.load(f)
        if result["recovered"]:
            gaps.append(result["gap_ms"])
        else:
            missing += 1
    stats[system] = (gaps, missing)
    if missing:
        print(f"{system:<10} {missing} of {rounds} rounds: no recovery within {timeout} s"
              + (f"; recovered rounds p50 {statistics.median(gaps):.0f} ms, max {max(gaps):.0f} ms" if gaps else ""))
    else:
        print(f"{system:<10} write gap p50 {statistics.median(gaps):>6.0f} ms   max {max(gaps):>6.0f} ms")
if set(systems) == {"slotcache", "redis"}:
    (sc, sc_missing), (rd, rd_missing) = stats["slotcache"], stats["redis"]
    if sc_missing or rd_missing or not sc or not rd:
        print("ratio      n/a (not every round recovered)")
    else:
        ratio = statistics.median(sc) / statistics.median(rd)
        ok = statistics.median(sc) < 1000 and ratio <= 0.5
        print(f"ratio      slotcache/redis p50 {ratio:.2f}   "
              f"target p50 < 1000 ms and ratio <= 0.5: {'met' if ok else 'NOT met'}")
PY
echo "== stopping both clusters"
