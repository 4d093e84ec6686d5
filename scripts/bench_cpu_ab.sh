#!/usr/bin/env bash
# Server CPU per message of two socketwire checkouts, alternating, over real sockets:
#   scripts/bench_cpu_ab.sh OLD_CHECKOUT SCENARIO CLIENTS REPEATS [generator options...]
# e.g. scripts/bench_cpu_ab.sh /tmp/old echo 100 3 --client ws --mask random
# bench/server.py of each checkout (PYTHONPATH=<checkout>/src, this venv) runs pinned to CPU 0,
# the shared harness's generator (sio-load.js, $BENCH_HOME or $TMPDIR/socketwire-bench, set up
# by its run.sh) on CPU 1, 4 s after 1 s warm-up; prints rate, server CPU (cores) and CPU
# microseconds per message (server CPU / rate), which moves far less with the machine's load
# than the rate does. SERVER_ARGS='--hosting asgi' measures the ASGI mode.
set -euo pipefail
cd "$(dirname "$0")/.."
old="$1"; scenario="$2"; clients="$3"; repeats="$4"; shift 4
gen="${BENCH_HOME:-${TMPDIR:-/tmp}/socketwire-bench}/loadgen/sio-load.js"
[ -f "$gen" ] || { echo "no generator at $gen: run ../shared/bench/run.sh list once" >&2; exit 1; }
here="$(pwd)"
port=$((4600 + RANDOM % 300))
for _ in $(seq "$repeats"); do
  for version in old new; do
    if [ "$version" = old ]; then src="$old/src"; server="$old/bench/server.py"
    else src="$here/src"; server="$here/bench/server.py"; fi
    port=$((port + 1))
    # shellcheck disable=SC2086
    PYTHONPATH="$src" taskset -c 0 "$here/.venv/bin/python" "$server" --port "$port" \
      ${SERVER_ARGS:-} >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    out=$(taskset -c 1 node "$gen" --port "$port" --scenario "$scenario" --clients "$clients" \
      --duration 4 --warmup 1 --server-pid "$pid" "$@" || true)
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "$out" | python3 -c "
import json, sys
d = json.loads(sys.stdin.read() or '{}')
rate, cpu = d.get('rate') or 0, d.get('server_cpu') or 0
print('$version', rate, 'msgs/s', 'srv_cpu', cpu, 'cpu_us_per_msg',
      round(cpu / rate * 1e6, 2) if rate else '-', 'other_cpu', d.get('foreign_cpu'))"
  done
done
