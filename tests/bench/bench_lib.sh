# Shell helpers shared by the benchmark scripts (sourced, not run).
# Needs WORK (the script's temp folder, named in error messages).

# free_ports N: N free loopback ports whose port+10000 (Redis's cluster bus)
# is free too.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
want, found, held = int(sys.argv[1]), [], []
while len(found) < want:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    held.append(s)
    if port + 10000 > 65535: continue
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", port + 10000))
    except OSError:
        continue
    finally:
        b.close()
    found.append(port)
print(" ".join(map(str, found)))
PY
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s.
wait_until() {
  local seconds="$1" what="$2"; shift 2
  local end=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$end" ]; then
      echo "$(basename "$0"): gave up after ${seconds}s waiting for $what (logs: $WORK)" >&2
      return 1
    fi
    sleep 0.1
  done
}
