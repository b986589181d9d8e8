#!/usr/bin/env bash
# Write-path benchmark: SET throughput through a whole slotcache-node with
# 0 and with 2 replicas attached (--replicaof, full sync done before the
# load starts), 50 clients, depth-16 Pipeline streams, 32-byte values.
#
# To compare two builds of the node in the same run with the same command,
# point NODE_BINS at them: every round runs each node binary with every
# replica count, interleaved, always driven by the same slotcache-bench
# binary (this checkout's), and the summary prints medians and ranges.
#
# Usage: tests/bench/write_path_bench.sh
# Env:   ROUNDS (default 3), REQUESTS (default 1000000 per run),
#        REPLICA_COUNTS (default "0 2"), PIPELINE (default 16),
#        NODE_BINS (default "current=<this checkout's opt node>"; a list
#        of label=path, e.g. "before=/tmp/before/slotcache-node
#        after=bazel-bin/node/slotcache-node").
set -euo pipefail

cd "$(dirname "$0")/../.."
ROUNDS="${ROUNDS:-3}"
REQUESTS="${REQUESTS:-1000000}"
REPLICA_COUNTS="${REPLICA_COUNTS:-0 2}"
PIPELINE="${PIPELINE:-16}"
CLIENTS=50
VALUE_SIZE=32
KEYSPACE=100000

command -v python3 >/dev/null || {
  echo "write_path_bench.sh: python3 is missing (Debian package python3)" >&2
  exit 2
}

echo "== building (--config=opt)"
bazel build --config=opt //node:slotcache-node //client:slotcache-bench 2>&1 | tail -1
BIN="$(bazel info --config=opt bazel-bin 2>/dev/null)"
BENCH_BIN="$BIN/client/slotcache-bench"
NODE_BINS="${NODE_BINS:-current=$BIN/node/slotcache-node}"
for entry in $NODE_BINS; do
  [[ -x "${entry#*=}" ]] || {
    echo "write_path_bench.sh: ${entry#*=} (from NODE_BINS) is not an executable" >&2
    exit 2
  }
done

WORK="$(mktemp -d /tmp/slotcache-writepath.XXXXXX)"
PIDS=()
stop_nodes() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_nodes
  rm -rf "$WORK"
}
trap cleanup EXIT

# Polls (up to 30 s) until "$@" succeeds.
wait_for() {
  for _ in $(seq 1 300); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "write_path_bench.sh: timed out waiting for: $*" >&2
  return 1
}

# Starts binary $1 as a node named $2 (a replica of $3 when given) in the
# background; its address lands in $WORK/$2.addr.
start_node() {
  local bin=$1 name=$2 primary=${3:-}
  local args=(--listen=127.0.0.1:0 --address_file="$WORK/$name.addr")
  rm -f "$WORK/$name.addr"  # a file from an earlier run would look ready
  [[ -n "$primary" ]] && args+=(--replicaof="$primary")
  "$bin" "${args[@]}" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  wait_for test -s "$WORK/$name.addr" || { cat "$WORK/$name.log" >&2; exit 1; }
}

# One measurement: node binary $2 (label $1) with $3 replicas, round $4.
run_one() {
  local label=$1 bin=$2 replicas=$3 round=$4 primary
  start_node "$bin" "$label-primary"
  primary="$(cat "$WORK/$label-primary.addr")"
  for i in $(seq 1 "$replicas"); do
    start_node "$bin" "$label-replica$i" "$primary"
    # The replica logs its full sync; the primary is empty, so it is quick.
    wait_for grep -q "full sync" "$WORK/$label-replica$i.log" \
      || { cat "$WORK/$label-replica$i.log" >&2; exit 1; }
  done
  echo "-- $label node, $replicas replicas: SET x $REQUESTS"
  "$BENCH_BIN" --seeds="$primary" --mode=pipeline --pipeline="$PIPELINE" \
    --clients="$CLIENTS" --value_size="$VALUE_SIZE" --keyspace="$KEYSPACE" \
    --requests="$REQUESTS" --ratio=1:0 --output=json \
    | tee "$WORK/result-$label-$replicas-r$round.json" || true
  stop_nodes
}

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS"
  for replicas in $REPLICA_COUNTS; do
    for entry in $NODE_BINS; do
      run_one "${entry%%=*}" "${entry#*=}" "$replicas" "$round"
    done
  done
done

echo
echo "== summary: SET ops/s, medians over $ROUNDS rounds ($CLIENTS clients," \
  "pipeline depth $PIPELINE, $VALUE_SIZE-byte values, same slotcache-bench)"
python3 - "$WORK" "$ROUNDS" "$REPLICA_COUNTS" "$NODE_BINS" <<'PY'
import json, os, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
replica_counts = sys.argv[3].split()
labels = [e.split("=", 1)[0] for e in sys.argv[4].split()]
def result(label, replicas, r):
    try:
        with open(os.path.join(work, f"result-{label}-{replicas}-r{r}.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
print(f"{'replicas':<9} {'node':<10} {'ops/s':>9} {'range':>17} {'p50 ms':>7} {'p99 ms':>7} errors")
for replicas in replica_counts:
    medians = {}
    for label in labels:
        runs = [result(label, replicas, r) for r in range(1, rounds + 1)]
        ok = [j for j in runs if j]
        if not ok:
            print(f"{replicas:<9} {label:<10} (no result)")
            continue
        ops = [j["ops_per_sec"] for j in ok]
        medians[label] = statistics.median(ops)
        errors = sum(j["errors"] for j in ok) + (len(runs) - len(ok))
        print(f"{replicas:<9} {label:<10} {medians[label]:>9.0f} "
              f"{min(ops):>8.0f}-{max(ops):<8.0f} "
              f"{statistics.median(j['p50_ms'] for j in ok):>7.3f} "
              f"{statistics.median(j['p99_ms'] for j in ok):>7.3f} {errors}")
    if len(medians) == 2:
        (a, va), (b, vb) = medians.items()
        print(f"{'':<9} {b}/{a} = {vb / va:.2f}")
PY
