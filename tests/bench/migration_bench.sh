#!/usr/bin/env bash
# Slot migration benchmark: how fast slots move between two shards and the
# longest write pause a client sees, slotcache vs Debian's redis-server in
# cluster mode (redis-cli --cluster reshard, key-by-key MIGRATE), same
# machine, same run, same data.
#
# Data: KEYS keys of 16 bytes ("key:%012d") with VALUE_BYTES-byte values,
# all in slots 0-4095 (of the first shard's 0-5460), loaded with
# redis-cli --pipe into the first shard's primary's RESP port.
#
# For each system:
#   idle:       move slots 0-4095 from the first shard to the second with
#               nothing else running.
#   under load: move them back while redis-benchmark (SET/GET, 50 clients,
#               random keys over the whole keyspace) runs against the
#               cluster and tests/bench/migration_probe.py writes to keys of
#               the moving slots one at a time, measuring the longest gap
#               between two acknowledged writes (the client-visible pause).
# Prints keys/s and MB/s (payload: key + value bytes) per move, and the
# ratio slotcache / redis.
#
# Usage: tests/bench/migration_bench.sh      (from anywhere in the repo)
# Env:   KEYS (default 1000000), VALUE_BYTES (default 100), REPLICAS
#        (replicas per shard, default 0), SYSTEMS (default "slotcache
#        redis"), LOAD_SECONDS (cap on the load run, default 120),
#        NODE_FLAGS (extra slotcache-node flags; default a 512 MB
#        replication backlog, which a move of 1M keys under full
#        redis-benchmark load needs: the source keeps the writes made while
#        its snapshot streams).
set -euo pipefail

cd "$(dirname "$0")/../.."
KEYS="${KEYS:-1000000}"
VALUE_BYTES="${VALUE_BYTES:-100}"
REPLICAS="${REPLICAS:-0}"
SYSTEMS="${SYSTEMS:-slotcache redis}"
LOAD_SECONDS="${LOAD_SECONDS:-120}"
SLOTS="0-4095"
NODE_FLAGS="${NODE_FLAGS:---repl_backlog_bytes=512MB}"

die() { echo "migration_bench.sh: $*" >&2; exit 1; }
[[ "$KEYS" =~ ^[1-9][0-9]*$ ]] || die "KEYS must be a positive number (got '$KEYS')"
[[ "$REPLICAS" =~ ^[0-5]$ ]] || die "REPLICAS must be 0..5 (got '$REPLICAS')"
for tool in redis-server redis-cli redis-benchmark python3; do
  command -v "$tool" >/dev/null ||
    die "$tool is missing; run deploy/setup.sh (Debian packages redis-server, redis-tools, python3)"
done

echo "== building (--config=opt)"
bazel build --config=opt //coordinator:slotcache-coordinator //node:slotcache-node \
  //client:slotctl 2>&1 | tail -1
BIN="$(bazel info --config=opt bazel-bin 2>/dev/null)"
PROBE="$PWD/tests/bench/migration_probe.py"

WORK="$(mktemp -d /tmp/slotcache-migration.XXXXXX)"
declare -A PIDS=()
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

# The data set as RESP SET commands (keys in slots 0-4095 only).
echo "== generating $KEYS keys of 16 bytes with ${VALUE_BYTES}-byte values in slots $SLOTS"
python3 - "$KEYS" "$VALUE_BYTES" "$WORK/data.resp" <<'PY'
import sys
want, size, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
table = []
for i in range(256):
    c = i << 8
    for _ in range(8):
        c = ((c << 1) ^ 0x1021) if c & 0x8000 else c << 1
    table.append(c & 0xFFFF)
value = b"v" * size
n = found = 0
with open(path, "wb") as out:
    while found < want:
        key = b"key:%012d" % n
        n += 1
        crc = 0
        for byte in key:
            crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
        if crc % 16384 < 4096:
            out.write(b"*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$%d\r\n%s\r\n" % (key, size, value))
            found += 1
PY
PAYLOAD_BYTES=$((KEYS * (16 + VALUE_BYTES)))

load_data() {  # load_data PORT
  redis-cli -p "$1" --pipe <"$WORK/data.resp" >"$WORK/pipe-$1.log" 2>&1 ||
    { cat "$WORK/pipe-$1.log" >&2; die "loading the data into port $1 failed"; }
  grep -q "errors: 0" "$WORK/pipe-$1.log" ||
    { cat "$WORK/pipe-$1.log" >&2; die "loading the data into port $1 had errors"; }
}

# run_load SEED_PORT NAME: redis-benchmark + the probe in the background.
start_load() {
  local port="$1" name="$2"
  rm -f "$WORK/stop"
  redis-benchmark -p "$port" --cluster -c 50 -n 100000000 -r 100000000 -d "$VALUE_BYTES" \
    -t set,get -q >"$WORK/bench-$name.log" 2>&1 &
  PIDS["bench-$name"]=$!
  python3 "$PROBE" --seed "127.0.0.1:$port" --slots "$SLOTS" --stop "$WORK/stop" \
    >"$WORK/probe-$name.json" 2>"$WORK/probe-$name.err" &
  PIDS["probe-$name"]=$!
  sleep 1  # warm-up: both running before the move starts
}
stop_load() {
  local name="$1"
  touch "$WORK/stop"
  wait "${PIDS["probe-$name"]}" || true
  unset "PIDS[probe-$name]"
  kill -TERM "${PIDS["bench-$name"]}" 2>/dev/null || true
  wait "${PIDS["bench-$name"]}" 2>/dev/null || true
  unset "PIDS[bench-$name]"
}

declare -A RESULT=()
report() {  # report SYSTEM PHASE SECONDS PAUSE_MS
  local system="$1" phase="$2" seconds="$3" pause="$4"
  local line
  line="$(python3 -c '
import sys
keys, payload, s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
print("%.0f keys/s  %.1f MB/s  (%.2f s)" % (keys / s, payload / s / 1e6, s))
' "$KEYS" "$PAYLOAD_BYTES" "$seconds")"
  RESULT["$system-$phase"]="$seconds"
  printf '   %-9s %-10s %s  longest client write pause: %s\n' "$system" "$phase" "$line" "$pause"
}

# ---- slotcache -------------------------------------------------------------

run_slotcache() {
  local nodes=$((3 * (1 + REPLICAS)))
  read -r -a ports <<<"$(free_ports 1)"
  local coordinator="127.0.0.1:${ports[0]}"
  echo "== slotcache: coordinator + $nodes nodes, 3 shards x (1+$REPLICAS)"
  "$BIN/coordinator/slotcache-coordinator" --listen="$coordinator" \
    --data_dir="$WORK/coordinator" >"$WORK/coordinator.log" 2>&1 &
  PIDS[coordinator]=$!
  local i
  for ((i = 1; i <= nodes; i++)); do
    "$BIN/node/slotcache-node" --listen=127.0.0.1:0 --resp_listen=127.0.0.1:0 \
      --coordinator="$coordinator" --az="az-$(( (i - 1) % 3 ))" \
      --data_dir="$WORK/node-$i" --address_file="$WORK/node-$i.addr" \
      --resp_address_file="$WORK/node-$i.resp" $NODE_FLAGS >"$WORK/node-$i.log" 2>&1 &
    PIDS["node-$i"]=$!
  done
  local slotctl=("$BIN/client/slotctl" --coordinator="$coordinator")
  wait_until 30 "the coordinator" "${slotctl[@]}" cluster status
  wait_until 30 "$nodes nodes to register" bash -c \
    "[ \$('$BIN/client/slotctl' --coordinator=$coordinator --output=json cluster status | grep -o JOINING | wc -l) -ge $nodes ]"
  "${slotctl[@]}" cluster create --shards=3 --replicas="$REPLICAS" >/dev/null
  wait_until 60 "slotctl cluster check" "${slotctl[@]}" cluster check
  # RESP port of each shard's primary, from the map.
  read -r p1 p2 _ <<<"$("${slotctl[@]}" --output=json cluster status | python3 -c '
import json, sys
m = json.load(sys.stdin)
def get(d, *names):
    for n in names:
        if n in d: return d[n]
    return None
nodes = {get(n, "node_id", "nodeId"): n for n in m["nodes"]}
out = []
for s in sorted(m["shards"], key=lambda s: get(s, "shard_id", "shardId")):
    p = nodes[get(s, "primary_node_id", "primaryNodeId")]
    out.append(get(p, "resp_address", "respAddress").rsplit(":", 1)[1])
print(" ".join(out))
')"
  echo "   loading $KEYS keys into shard-1 (RESP port $p1)"
  load_data "$p1"

  local start end
  start=$(date +%s.%N)
  "${slotctl[@]}" --output=json reshard --from=shard-1 --to=shard-2 --slots="$SLOTS" \
    >"$WORK/slotcache-idle.json"
  end=$(date +%s.%N)
  report slotcache idle "$(python3 "$PWD/tests/bench/operation_summary.py" --seconds <"$WORK/slotcache-idle.json")" \
    "$(python3 "$PWD/tests/bench/operation_summary.py" <"$WORK/slotcache-idle.json") (server-side)"
  echo "     (slotctl reshard end to end, with its start and polling: $(python3 -c "print('%.2f s' % ($end - $start))"))"

  start_load "$p2" slotcache
  start=$(date +%s.%N)
  "${slotctl[@]}" --output=json reshard --from=shard-2 --to=shard-1 --slots="$SLOTS" \
    >"$WORK/slotcache-load.json"
  end=$(date +%s.%N)
  stop_load slotcache
  echo "     server side: $(python3 "$PWD/tests/bench/operation_summary.py" <"$WORK/slotcache-load.json")"
  report slotcache "under load" "$(python3 "$PWD/tests/bench/operation_summary.py" --seconds <"$WORK/slotcache-load.json")" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%s ms (probe: %d writes, %d TRYAGAIN, %d MOVED, %d errors)" % (d["longest_pause_ms"], d["acked"], d["tryagain"], d["moved"], d["other_errors"]))' "$WORK/probe-slotcache.json")"
  grep -h "requests per second" "$WORK/bench-slotcache.log" | tail -2 | tr '\r' '\n' | tail -2 | sed 's/^/     redis-benchmark during the move: /' || true
  echo "     where the write pauses went (coordinator log):"
  grep -ho "committed, writes paused.*" "$WORK/coordinator.log" | sed 's/^/       /' || true
  for name in coordinator $(seq -f 'node-%g' 1 "$nodes"); do
    kill -TERM "${PIDS[$name]}" 2>/dev/null || true
    wait "${PIDS[$name]}" 2>/dev/null || true
    unset "PIDS[$name]"
  done
}

# ---- Redis Cluster ---------------------------------------------------------

run_redis() {
  local count=$((3 * (1 + REPLICAS)))
  read -r -a ports <<<"$(free_ports "$count")"
  echo "== redis: $count redis-server --cluster-enabled yes, 3 primaries x (1+$REPLICAS)"
  local port addresses=()
  for port in "${ports[@]}"; do
    mkdir -p "$WORK/redis-$port"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$WORK/redis-$port/nodes.conf" --appendonly no --save '' \
      --dir "$WORK/redis-$port" --daemonize no --logfile "$WORK/redis-$port/redis.log" &
    PIDS["redis-$port"]=$!
    wait_until 30 "redis-server on port $port" redis-cli -p "$port" ping
    addresses+=("127.0.0.1:$port")
  done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas "$REPLICAS" --cluster-yes \
    >"$WORK/redis-create.log" 2>&1 || { cat "$WORK/redis-create.log" >&2; die "redis-cli --cluster create failed"; }
  wait_until 60 "cluster_state:ok" bash -c "redis-cli -p ${ports[0]} cluster info | grep -q cluster_state:ok"
  # Primary owning slot 0 and the other one.
  read -r id1 p1 id2 p2 <<<"$(redis-cli -p "${ports[0]}" cluster nodes | python3 -c '
import sys
rows = []
for line in sys.stdin:
    f = line.split()
    if "master" in f[2] and len(f) > 8:
        rows.append((int(f[8].split("-")[0]), f[0], f[1].split("@")[0].rsplit(":", 1)[1]))
rows.sort()
print(rows[0][1], rows[0][2], rows[1][1], rows[1][2])
')"
  echo "   loading $KEYS keys into the first primary (port $p1)"
  load_data "$p1"
  local start end
  start=$(date +%s.%N)
  redis-cli --cluster reshard "127.0.0.1:$p1" --cluster-from "$id1" --cluster-to "$id2" \
    --cluster-slots 4096 --cluster-yes --cluster-pipeline 1000 >"$WORK/redis-idle.log" 2>&1 ||
    { tail -20 "$WORK/redis-idle.log" >&2; die "redis-cli --cluster reshard failed"; }
  end=$(date +%s.%N)
  report redis idle "$(python3 -c "print($end - $start)")" "n/a (no load)"
  wait_until 60 "cluster_state:ok" bash -c "redis-cli -p $p1 cluster info | grep -q cluster_state:ok"

  start_load "$p2" redis
  start=$(date +%s.%N)
  redis-cli --cluster reshard "127.0.0.1:$p2" --cluster-from "$id2" --cluster-to "$id1" \
    --cluster-slots 4096 --cluster-yes --cluster-pipeline 1000 >"$WORK/redis-load.log" 2>&1 ||
    { tail -20 "$WORK/redis-load.log" >&2; stop_load redis; die "redis-cli --cluster reshard failed"; }
  end=$(date +%s.%N)
  stop_load redis
  report redis "under load" "$(python3 -c "print($end - $start)")" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%s ms (probe: %d writes, %d ASK, %d TRYAGAIN, %d MOVED, %d errors)" % (d["longest_pause_ms"], d["acked"], d["ask"], d["tryagain"], d["moved"], d["other_errors"]))' "$WORK/probe-redis.json")"
  for port in "${ports[@]}"; do
    kill -TERM "${PIDS["redis-$port"]}" 2>/dev/null || true
    wait "${PIDS["redis-$port"]}" 2>/dev/null || true
    unset "PIDS[redis-$port]"
  done
}

for system in $SYSTEMS; do
  case "$system" in
    slotcache) run_slotcache ;;
    redis) run_redis ;;
    *) die "SYSTEMS may name slotcache and redis only (got '$system')" ;;
  esac
done

echo "== summary ($KEYS keys, ${VALUE_BYTES}-byte values, $((PAYLOAD_BYTES / 1000000)) MB payload, replicas $REPLICAS)"
for phase in idle "under load"; do
  s="${RESULT["slotcache-$phase"]:-}"
  r="${RESULT["redis-$phase"]:-}"
  if [ -n "$s" ] && [ -n "$r" ]; then
    python3 -c 'import sys; s, r = float(sys.argv[2]), float(sys.argv[3]); print("   %-10s slotcache %.2f s, redis %.2f s: slotcache is %.1fx faster" % (sys.argv[1], s, r, r / s))' "$phase" "$s" "$r"
  fi
done
