#!/usr/bin/env bash
# Bytes per key: slotcache's storage engine vs redis-server, same data.
#
#   tests/bench/memory_compare.sh [KEYS] [KEY_SIZE] [VALUE_SIZE]
#
# Loads KEYS string keys ("key:000…", KEY_SIZE bytes) with values
# ("val:000…", VALUE_SIZE bytes), no TTL, into
#   1. //node/storage:memory_benchmark (built with -c opt): heap (mallinfo2)
#      and RSS growth, and the store's own UsedMemory accounting;
#   2. a fresh redis-server on a free port (--save '' --appendonly no),
#      loaded with `redis-cli --pipe`: used_memory and used_memory_rss
#      growth from INFO memory.
# and prints both side by side. Needs redis-server, redis-cli, python3.
set -euo pipefail

KEYS="${1:-1000000}"
KEY_SIZE="${2:-16}"
VALUE_SIZE="${3:-32}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"

bazel build -c opt //node/storage:memory_benchmark >/dev/null 2>&1 ||
  bazel build -c opt //node/storage:memory_benchmark
SC_LINE="$(bazel-bin/node/storage/memory_benchmark --keys="$KEYS" \
  --key_size="$KEY_SIZE" --value_size="$VALUE_SIZE")"

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() {
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK" --daemonize no >"$WORK/redis.log" 2>&1 &
for _ in $(seq 1 100); do
  redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
info() { redis-cli -p "$PORT" info memory | tr -d '\r' | sed -n "s/^$1://p"; }
USED0="$(info used_memory)"
RSS0="$(info used_memory_rss)"

# The same keys and values as memory_benchmark (see Padded() there).
python3 - "$KEYS" "$KEY_SIZE" "$VALUE_SIZE" >"$WORK/load.resp" <<'PY'
import sys
n, ks, vs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
out = sys.stdout
for i in range(n):
    k = ("key:%0*d" % (ks - 4, i))[:ks].ljust(ks, "0")
    v = ("val:%0*d" % (vs - 4, i))[:vs].ljust(vs, "0")
    out.write("*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (ks, k, vs, v))
PY
redis-cli -p "$PORT" --pipe <"$WORK/load.resp" >/dev/null
DBSIZE="$(redis-cli -p "$PORT" dbsize)"
USED1="$(info used_memory)"
RSS1="$(info used_memory_rss)"
VERSION="$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')"

python3 - "$SC_LINE" "$DBSIZE" "$USED0" "$USED1" "$RSS0" "$RSS1" "$VERSION" <<'PY'
import sys
sc = dict(f.split("=", 1) for f in sys.argv[1].split()[1:])
n = int(sys.argv[2])
used = (int(sys.argv[4]) - int(sys.argv[3])) / n
rss = (int(sys.argv[6]) - int(sys.argv[5])) / n
print("%d keys, %s-byte keys, %s-byte values, no TTL" % (n, sc["key_size"], sc["value_size"]))
print("%-28s %14s %14s" % ("", "slotcache", "redis " + sys.argv[7]))
print("%-28s %14s %14.1f" % ("allocator bytes/key", sc["heap_bytes_per_key"], used))
print("%-28s %14s %14.1f" % ("RSS bytes/key", sc["rss_bytes_per_key"], rss))
print("%-28s %14s %14s" % ("self-accounted bytes/key", sc["accounted_bytes_per_key"], "(= used_memory)"))
PY
