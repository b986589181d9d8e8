#!/usr/bin/env bash
# Data-plane comparison: one slotcache-node vs one Debian redis-server on
# this machine, in the same run, with the same load shape:
#   50 clients, 32-byte values, SET then GET,
#   depth 16: redis-benchmark -P 16   vs slotcache-bench --mode=batch (and
#             --mode=pipeline) --pipeline=16
#   depth 1:  redis-benchmark -P 1    vs slotcache-bench --mode=unary
#             (and, for information, --mode=sdk: the same 50 one-at-a-time
#             callers through slotcache::Client, whose automatic batching
#             coalesces them)
# Prints both sides and slotcache/redis ratios (the bar is >= 0.5), then
# stops both servers.
#
# Usage: tests/bench/compare_redis.sh            (from anywhere in the repo)
# Env:   REQUESTS (default 200000 per test), KEYSPACE (default 100000),
#        PERF=1 also records a CPU profile of the node during the depth-16
#        SET run and prints the top symbols (needs perf).
set -euo pipefail

cd "$(dirname "$0")/../.."
REQUESTS="${REQUESTS:-200000}"
KEYSPACE="${KEYSPACE:-100000}"
CLIENTS=50
VALUE_SIZE=32

for tool in redis-server redis-benchmark redis-cli python3; do
  command -v "$tool" >/dev/null || {
    echo "compare_redis.sh: $tool is missing; run deploy/setup.sh (Debian package redis-server/redis-tools)" >&2
    exit 2
  }
done

echo "== building (--config=opt)"
bazel build --config=opt //node:slotcache-node //client:slotcache-bench 2>&1 | tail -1
BIN="$(bazel info --config=opt bazel-bin 2>/dev/null)"
NODE_BIN="$BIN/node/slotcache-node"
BENCH_BIN="$BIN/client/slotcache-bench"

WORK="$(mktemp -d /tmp/slotcache-compare.XXXXXX)"
NODE_PID=""
REDIS_PID=""
cleanup() {
  [[ -n "$NODE_PID" ]] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null || true
  [[ -n "$REDIS_PID" ]] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Polls (up to 30 s) until "$@" succeeds.
wait_for() {
  for _ in $(seq 1 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "compare_redis.sh: timed out waiting for: $*" >&2
  return 1
}

echo "== starting slotcache-node and redis-server on free ports"
"$NODE_BIN" --listen=127.0.0.1:0 --address_file="$WORK/node.addr" \
  >"$WORK/node.log" 2>&1 &
NODE_PID=$!
wait_for test -s "$WORK/node.addr" || { cat "$WORK/node.log" >&2; exit 1; }
NODE_ADDR="$(cat "$WORK/node.addr")"

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no --logfile "$WORK/redis.log" &
REDIS_PID=$!
wait_for redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping
echo "   slotcache-node at $NODE_ADDR (pid $NODE_PID), redis-server at 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"

# redis-benchmark --csv -> "SET <rps>" / "GET <rps>" lines in $WORK/redis-P<depth>.
run_redis() {
  local depth=$1
  redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c "$CLIENTS" -d "$VALUE_SIZE" \
    -t set,get -P "$depth" -n "$REQUESTS" -r "$KEYSPACE" --csv \
    | tee "$WORK/redis-P$depth.csv"
}

# slotcache-bench JSON for one test into $WORK/sc-<mode>-<test>.json.
run_slotcache() {
  local mode=$1 depth=$2 test=$3 ratio
  [[ "$test" == SET ]] && ratio=1:0 || ratio=0:1
  "$BENCH_BIN" --seeds="$NODE_ADDR" --mode="$mode" --pipeline="$depth" \
    --clients="$CLIENTS" --value_size="$VALUE_SIZE" --keyspace="$KEYSPACE" \
    --requests="$REQUESTS" --ratio="$ratio" --output=json \
    | tee "$WORK/sc-$mode-$test.json" || true  # errors show in the summary
}

echo "== depth 16: redis-benchmark -P 16"
run_redis 16
echo "== depth 16: slotcache-bench --mode=batch --pipeline=16"
if [[ "${PERF:-0}" == 1 ]] && command -v perf >/dev/null; then
  perf record -F 499 --call-graph=dwarf,16384 -p "$NODE_PID" -o "$WORK/perf.data" 2>/dev/null &
  PERF_PID=$!
  sleep 0.5
  run_slotcache batch 16 SET
  kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true
  echo "== node CPU during depth-16 SET: by library (self time)"
  perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null \
    | grep '%' | head -8 || true
  echo "== node CPU during depth-16 SET: inclusive time of the layers"
  perf report -i "$WORK/perf.data" --children --sort symbol --stdio -g none 2>/dev/null \
    | grep '%' \
    | grep -E 'RunHandler|Deserialize<|Dispatcher::Dispatch|CommandExecutor::Execute|Store::(Set|Get)$|__libc_sendmsg|__libc_recvmsg|DestroyProtos|SerializeToByteBuffer' \
    | sed -E 's/ +$//' | cut -c1-150 | head -12 || true
else
  run_slotcache batch 16 SET
fi
run_slotcache batch 16 GET
echo "== depth 16: slotcache-bench --mode=pipeline --pipeline=16"
run_slotcache pipeline 16 SET
run_slotcache pipeline 16 GET
echo "== depth 1: redis-benchmark -P 1"
run_redis 1
echo "== depth 1: slotcache-bench --mode=unary"
run_slotcache unary 1 SET
run_slotcache unary 1 GET
echo "== depth 1 through the SDK: slotcache-bench --mode=sdk --pipeline=1 (automatic batching)"
run_slotcache sdk 1 SET
run_slotcache sdk 1 GET

echo
echo "== summary ($CLIENTS clients, $VALUE_SIZE-byte values, $REQUESTS requests per test, keyspace $KEYSPACE)"
python3 - "$WORK" <<'PY'
import csv, json, sys, os
work = sys.argv[1]
def redis(depth, test):
    with open(os.path.join(work, f"redis-P{depth}.csv")) as f:
        for row in csv.reader(f):
            if row and row[0] == test:
                return float(row[1]), float(row[4]), float(row[6])
    return 0.0, 0.0, 0.0
def sc(mode, test):
    with open(os.path.join(work, f"sc-{mode}-{test}.json")) as f:
        j = json.load(f)
    return j["ops_per_sec"], j["p50_ms"], j["p99_ms"], j["errors"]
rows = [("depth 16", 16, "batch"), ("depth 16", 16, "pipeline"), ("depth 1", 1, "unary"),
        ("depth 1", 1, "sdk")]
print(f"{'shape':<9} {'test':<4} {'redis ops/s':>12} {'slotcache mode':<15} {'ops/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}  bar(>=0.5)")
for shape, depth, mode in rows:
    for test in ("SET", "GET"):
        r_ops, _, _ = redis(depth, test)
        s_ops, p50, p99, errors = sc(mode, test)
        ratio = s_ops / r_ops if r_ops else 0.0
        verdict = "met" if ratio >= 0.5 else "NOT met"
        if errors:
            verdict += f" ({errors} errors)"
        print(f"{shape:<9} {test:<4} {r_ops:>12.0f} {mode:<15} {s_ops:>12.0f} {p50:>8.3f} {p99:>8.3f} {ratio:>6.2f}  {verdict}")
PY
echo "== stopping both servers"
