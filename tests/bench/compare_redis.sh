#!/usr/bin/env bash
# Data-plane comparison: one slotcache-node vs one Debian redis-server on
# this machine, in the same run, with the same load shape:
#   50 clients, 32-byte values, SET then GET,
#   depth 16: redis-benchmark -P 16   vs slotcache-bench --mode=batch (and
#             --mode=pipeline) --pipeline=16
#   (the *-mux rows: the same 50 clients over MUX_CONNECTIONS shared
#   HTTP/2 connections instead of one connection each)
#   depth 1:  redis-benchmark -P 1    vs slotcache-bench --mode=unary
#             (and, for information, --mode=sdk: the same 50 one-at-a-time
#             callers through slotcache::Client, whose automatic batching
#             coalesces them)
#   resp:     the same redis-benchmark binary against the node's Redis
#             protocol port (--resp_listen), at -P 16 and -P 1, plus a
#             1 KiB-value row at -P 16 (both sides)
# Prints both sides and slotcache/redis ratios (the bar is >= 0.5), and
# for the RESP rows the p50/p99 latencies of both sides side by side with
# their ratios (redis-benchmark's --csv percentiles), then stops both
# servers.
#
# Usage: tests/bench/compare_redis.sh            (from anywhere in the repo)
# Env:   ROUNDS (default 3; the sides run interleaved, medians reported),
#        REQUESTS_DEPTH16 (default 1000000 per test), REQUESTS_DEPTH1
#        (default 200000 per test), KEYSPACE (default 100000),
#        MUX_CONNECTIONS (default 4: HTTP/2 connections the *-mux rows
#        share among the 50 clients),
#        NODE_FLAGS (extra slotcache-node flags, e.g. --resp_threads=1),
#        RESP_ONLY=1 runs only the RESP rows (redis-benchmark on both
#        sides; no slotcache-bench),
#        PERF=1 also records a CPU profile of the node during an extra
#        depth-16 SET run and prints the top symbols (needs perf).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROUNDS="${ROUNDS:-3}"
REQUESTS_DEPTH16="${REQUESTS_DEPTH16:-1000000}"
REQUESTS_DEPTH1="${REQUESTS_DEPTH1:-200000}"
MUX_CONNECTIONS="${MUX_CONNECTIONS:-4}"
KEYSPACE="${KEYSPACE:-100000}"
RESP_ONLY="${RESP_ONLY:-0}"
NODE_FLAGS="${NODE_FLAGS:-}"
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
  --resp_listen=127.0.0.1:0 --resp_address_file="$WORK/node.resp" \
  $NODE_FLAGS >"$WORK/node.log" 2>&1 &
NODE_PID=$!
wait_for test -s "$WORK/node.addr" || { cat "$WORK/node.log" >&2; exit 1; }
NODE_ADDR="$(cat "$WORK/node.addr")"
NODE_RESP_PORT="$(cut -d: -f2 "$WORK/node.resp")"

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no --logfile "$WORK/redis.log" &
REDIS_PID=$!
wait_for redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping
echo "   slotcache-node at $NODE_ADDR, RESP 127.0.0.1:$NODE_RESP_PORT (pid $NODE_PID), redis-server at 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"

# redis-benchmark --csv against redis-server (side "redis") or the node's
# RESP port (side "resp") -> $WORK/<side>-P<depth>[-d<size>]-r<round>.csv
run_benchmark() {
  local side=$1 depth=$2 requests=$3 round=$4 size=${5:-$VALUE_SIZE} port suffix=""
  [[ "$side" == redis ]] && port="$REDIS_PORT" || port="$NODE_RESP_PORT"
  [[ "$size" != "$VALUE_SIZE" ]] && suffix="-d$size"
  redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -d "$size" \
    -t set,get -P "$depth" -n "$requests" -r "$KEYSPACE" --csv \
    | tee "$WORK/$side-P$depth$suffix-r$round.csv"
}
run_redis() { run_benchmark redis "$@"; }

# slotcache-bench JSON for one test into $WORK/sc-<label>-<test>-r<round>.json.
# A label ending in "-mux" multiplexes the 50 clients over $MUX_CONNECTIONS
# HTTP/2 connections instead of one connection per client.
run_slotcache() {
  local label=$1 depth=$2 test=$3 requests=$4 round=$5 ratio mode connections=0
  mode="${label%-mux}"
  [[ "$label" == *-mux ]] && connections="$MUX_CONNECTIONS"
  [[ "$test" == SET ]] && ratio=1:0 || ratio=0:1
  "$BENCH_BIN" --seeds="$NODE_ADDR" --mode="$mode" --pipeline="$depth" \
    --clients="$CLIENTS" --connections="$connections" \
    --value_size="$VALUE_SIZE" --keyspace="$KEYSPACE" \
    --requests="$requests" --ratio="$ratio" --output=json \
    | tee "$WORK/sc-$label-$test-r$round.json" || true  # errors show in the summary
}

profile_depth16_set() {
  perf record -F 499 --call-graph=dwarf,16384 -p "$NODE_PID" -o "$WORK/perf.data" 2>/dev/null &
  PERF_PID=$!
  sleep 0.5
  run_slotcache batch 16 SET "$REQUESTS_DEPTH16" profile >/dev/null
  kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true
  echo "== node CPU during depth-16 SET (--mode=batch): by library (self time)"
  perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null \
    | grep '%' | head -8 || true
  echo "== node CPU during depth-16 SET: inclusive time of the layers"
  perf report -i "$WORK/perf.data" --children --sort symbol --stdio -g none 2>/dev/null \
    | grep '%' \
    | grep -E 'RunHandler|Deserialize<|Dispatcher::Dispatch|CommandExecutor::Execute|Store::(Set|Get)$|__libc_sendmsg|__libc_recvmsg|DestroyProtos|SerializeToByteBuffer' \
    | sed -E 's/ +$//' | cut -c1-150 | head -12 || true
}

# The machine's speed drifts (other tenants, CPU frequency), so the two
# sides run interleaved, shape by shape, ROUNDS times, and the summary
# reports medians and the range of the per-round ratios.
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS: depth 16 ($REQUESTS_DEPTH16 requests per test)"
  echo "-- redis-benchmark -P 16"
  run_redis 16 "$REQUESTS_DEPTH16" "$round"
  echo "-- redis-benchmark -P 16 against slotcache's RESP port"
  run_benchmark resp 16 "$REQUESTS_DEPTH16" "$round"
  echo "-- redis-benchmark -P 16 -d 1024, both sides"
  run_benchmark redis 16 "$REQUESTS_DEPTH16" "$round" 1024
  run_benchmark resp 16 "$REQUESTS_DEPTH16" "$round" 1024
  for label in batch pipeline batch-mux pipeline-mux; do
    [[ "$RESP_ONLY" == 1 ]] && break
    echo "-- slotcache-bench $label --pipeline=16"
    run_slotcache "$label" 16 SET "$REQUESTS_DEPTH16" "$round"
    run_slotcache "$label" 16 GET "$REQUESTS_DEPTH16" "$round"
  done
  echo "== round $round of $ROUNDS: depth 1 ($REQUESTS_DEPTH1 requests per test)"
  echo "-- redis-benchmark -P 1"
  run_redis 1 "$REQUESTS_DEPTH1" "$round"
  echo "-- redis-benchmark -P 1 against slotcache's RESP port"
  run_benchmark resp 1 "$REQUESTS_DEPTH1" "$round"
  for label in unary unary-mux sdk; do
    [[ "$RESP_ONLY" == 1 ]] && break
    echo "-- slotcache-bench $label --pipeline=1"
    run_slotcache "$label" 1 SET "$REQUESTS_DEPTH1" "$round"
    run_slotcache "$label" 1 GET "$REQUESTS_DEPTH1" "$round"
  done
done
if [[ "${PERF:-0}" == 1 ]] && command -v perf >/dev/null; then
  profile_depth16_set
fi

echo
echo "== summary: medians over $ROUNDS rounds ($CLIENTS clients, $VALUE_SIZE-byte values, keyspace $KEYSPACE)"
echo "   redis-benchmark and the plain slotcache modes: one TCP connection per client;"
echo "   *-mux: the $CLIENTS clients multiplexed over $MUX_CONNECTIONS HTTP/2 connections (as gRPC clients share channels)"
python3 - "$WORK" "$ROUNDS" "$RESP_ONLY" <<'PY'
import csv, json, os, statistics, sys
work, rounds, resp_only = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
# redis-benchmark --csv row: test, rps, avg, min, p50, p95, p99, max (ms).
def bench_row(side, depth, test, r, suffix=""):
    try:
        with open(os.path.join(work, f"{side}-P{depth}{suffix}-r{r}.csv")) as f:
            for row in csv.reader(f):
                if row and row[0] == test:
                    return float(row[1]), float(row[4]), float(row[6])
    except (OSError, IndexError, ValueError):
        pass
    return 0.0, 0.0, 0.0
def bench(side, depth, test, r, suffix=""):
    return bench_row(side, depth, test, r, suffix)[0]
def redis(depth, test, r):
    return bench("redis", depth, test, r)
def sc(mode, test, r):
    try:
        with open(os.path.join(work, f"sc-{mode}-{test}-r{r}.json")) as f:
            j = json.load(f)
    except (OSError, ValueError):
        return 0.0, 0.0, 0.0, 1
    return j["ops_per_sec"], j["p50_ms"], j["p99_ms"], j["errors"]
rows = [("depth 16", 16, "batch"), ("depth 16", 16, "pipeline"),
        ("depth 16", 16, "batch-mux"), ("depth 16", 16, "pipeline-mux"),
        ("depth 1", 1, "unary"), ("depth 1", 1, "unary-mux"), ("depth 1", 1, "sdk")]
if resp_only:
    rows = []
print(f"{'shape':<9} {'test':<4} {'redis ops/s':>11} {'slotcache':<14} {'ops/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} {'range':>10}  bar(>=0.5)")
for shape, depth, mode in rows:
    for test in ("SET", "GET"):
        r_ops, s_ops, p50s, p99s, ratios, errors = [], [], [], [], [], 0
        for r in range(1, rounds + 1):
            ro = redis(depth, test, r)
            so, p50, p99, e = sc(mode, test, r)
            r_ops.append(ro); s_ops.append(so); p50s.append(p50); p99s.append(p99)
            ratios.append(so / ro if ro else 0.0)
            errors += e
        ratio = statistics.median(ratios)
        verdict = "met" if ratio >= 0.5 else "NOT met"
        if mode == "sdk":
            verdict = "(information)"
        if errors:
            verdict += f" ({errors} errors)"
        span = f"{min(ratios):.2f}-{max(ratios):.2f}"
        print(f"{shape:<9} {test:<4} {statistics.median(r_ops):>11.0f} {mode:<14} "
              f"{statistics.median(s_ops):>9.0f} {statistics.median(p50s):>7.3f} "
              f"{statistics.median(p99s):>7.3f} {ratio:>6.2f} {span:>10}  {verdict}")
# The RESP port: the same redis-benchmark binary on both sides; p50/p99
# are slotcache's (redis-server's are in the CSV lines above).
for shape, depth, suffix, label in (("depth 16", 16, "", "resp"),
                                    ("depth 1", 1, "", "resp"),
                                    ("1KB P16", 16, "-d1024", "resp-1kb")):
    for test in ("SET", "GET"):
        r_ops = [bench("redis", depth, test, r, suffix) for r in range(1, rounds + 1)]
        s_rows = [bench_row("resp", depth, test, r, suffix) for r in range(1, rounds + 1)]
        s_ops = [row[0] for row in s_rows]
        ratios = [s / r if r else 0.0 for r, s in zip(r_ops, s_ops)]
        ratio = statistics.median(ratios)
        span = f"{min(ratios):.2f}-{max(ratios):.2f}"
        verdict = "met" if ratio >= 0.5 else "NOT met"
        print(f"{shape:<9} {test:<4} {statistics.median(r_ops):>11.0f} {label:<14} "
              f"{statistics.median(s_ops):>9.0f} "
              f"{statistics.median([row[1] for row in s_rows]):>7.3f} "
              f"{statistics.median([row[2] for row in s_rows]):>7.3f} {ratio:>6.2f} "
              f"{span:>10}  {verdict}")
# RESP latency: redis-benchmark's percentiles for both sides, medians over
# the rounds, and slotcache/redis ratios (lower is better; range = the
# per-round p99 ratios).
print()
print("RESP latency (redis-benchmark --csv percentiles, ms; ratio = slotcache/redis)")
print(f"{'shape':<9} {'test':<4} {'redis p50':>9} {'p99':>7} {'slotcache p50':>13} "
      f"{'p99':>7} {'p50 ratio':>9} {'p99 ratio':>9} {'p99 range':>10}")
for shape, depth, suffix in (("depth 16", 16, ""), ("depth 1", 1, ""),
                             ("1KB P16", 16, "-d1024")):
    for test in ("SET", "GET"):
        r_rows = [bench_row("redis", depth, test, r, suffix) for r in range(1, rounds + 1)]
        s_rows = [bench_row("resp", depth, test, r, suffix) for r in range(1, rounds + 1)]
        med = lambda rows, i: statistics.median([row[i] for row in rows])
        div = lambda a, b: a / b if b else 0.0
        p99_ratios = [div(s[2], r[2]) for r, s in zip(r_rows, s_rows)]
        print(f"{shape:<9} {test:<4} {med(r_rows, 1):>9.3f} {med(r_rows, 2):>7.3f} "
              f"{med(s_rows, 1):>13.3f} {med(s_rows, 2):>7.3f} "
              f"{div(med(s_rows, 1), med(r_rows, 1)):>9.2f} "
              f"{div(med(s_rows, 2), med(r_rows, 2)):>9.2f} "
              f"{min(p99_ratios):>4.2f}-{max(p99_ratios):.2f}")
PY
echo "== stopping both servers"
