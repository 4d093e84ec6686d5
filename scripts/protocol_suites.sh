#!/usr/bin/env bash
# Run the official engine.io-protocol and socket.io-protocol suites (mocha) against socketwire's
# conformance servers, optionally with --workers N, several runs each on a fresh server.
#
#   scripts/protocol_suites.sh SUITES_DIR [WORKERS...]   (default workers: 1)
#   RUNS=3 scripts/protocol_suites.sh /tmp/suites 2 3
#   HOSTING=asgi scripts/protocol_suites.sh /tmp/suites   (the ASGI host, under uvicorn)
#
# SUITES_DIR holds engine.io-protocol/test-suite and socket.io-protocol/test-suite, each with its
# node_modules installed (npm ci; docs/protocol.md swaps in ws 8.16.0 to remove the suite's own
# client race). The suites' code is not part of this repository. Prints one line per run:
# suite, workers, run, passes/tests; exits non-zero when a run did not pass in full.
set -u
SUITES=${1:?usage: protocol_suites.sh SUITES_DIR [WORKERS...]}
shift
WORKERS=("${@:-1}")
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
status=0

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_one() {  # suite server workers run
  local suite=$1 server=$2 workers=$3 run=$4 port pid dir out
  port=$(free_port)
  dir=$(mktemp -d)
  cp -r "$SUITES/$suite/test-suite/." "$dir/"
  sed -i "s#http://localhost:3000#http://127.0.0.1:$port#" "$dir/test-suite.js"
  "$PY" "$ROOT/conformance/$server" --port "$port" --workers "$workers" \
    --hosting "${HOSTING:-standalone}" >"$dir/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q "listening" "$dir/server.log" 2>/dev/null && break
    sleep 0.1
  done
  out=$(cd "$dir" && node_modules/.bin/mocha --reporter json --exit test-suite.js 2>/dev/null)
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  local result
  result=$(printf '%s' "$out" | node -e '
    let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
      try { const r = JSON.parse(s.slice(s.indexOf("{")));
        const f = r.failures.map(t => t.fullTitle).join(" | ");
        console.log(`${r.stats.passes}/${r.stats.tests}` + (f ? ` FAILED: ${f}` : ""));
      } catch (e) { console.log("no result"); } });')
  echo "$suite hosting=${HOSTING:-standalone} workers=$workers run=$run $result"
  case $result in
    */*FAILED*|"no result") status=1 ;;
    *) local p=${result%%/*} t=${result#*/}; [ "$p" = "$t" ] || status=1 ;;
  esac
  if grep -q -E "Traceback|ERROR" "$dir/server.log"; then
    echo "  server log of that run:"; sed 's/^/    /' "$dir/server.log" | head -40; status=1
  fi
  rm -rf "$dir"
}

for workers in "${WORKERS[@]}"; do
  for run in $(seq "$RUNS"); do
    run_one engine.io-protocol engineio_server.py "$workers" "$run"
    run_one socket.io-protocol socketio_server.py "$workers" "$run"
  done
done
exit $status
