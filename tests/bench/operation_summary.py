#!/usr/bin/env python3
"""Reads `slotctl --output=json reshard|rebalance ...` output on stdin (one
JSON object per line, the operation last) and prints the operation's
longest write pause and copy counters, e.g. "12 ms, 1000000 keys"; with
--seconds, its duration in seconds (created to finished, coordinator
clock)."""
import json
import sys


def get(d, *names, default=0):
    for n in names:
        if n in d:
            return d[n]
    return default


last = None
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        try:
            last = json.loads(line)
        except ValueError:
            pass
if last is None:
    sys.exit("no JSON object in the input")
op = get(last, "operation", default=last)
m = get(op, "migration", default={})
if "--seconds" in sys.argv:
    created = int(get(op, "created_unix_ms", "createdUnixMs"))
    finished = int(get(op, "finished_unix_ms", "finishedUnixMs"))
    print("%.3f" % ((finished - created) / 1000.0))
    sys.exit(0)
print("%s ms write pause, %s keys, %.1f MB copied" % (
    get(m, "max_pause_ms", "maxPauseMs"), get(m, "keys_copied", "keysCopied"),
    int(get(m, "bytes_copied", "bytesCopied")) / 1e6))
