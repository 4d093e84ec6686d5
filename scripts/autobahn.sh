#!/usr/bin/env bash
# Runs Autobahn|Testsuite's fuzzingclient against socketwire's WebSocket layers: the
# standalone host (its own frames) and the ASGI host under uvicorn (uvicorn's frames), each
# serving conformance/ws_echo_server.py on a free loopback port. Prints a summary per host
# and writes the reports under artifacts/autobahn/<host>/ (index.json, one HTML per case).
#
#   scripts/autobahn.sh [standalone|asgi|both] [quick|all]
#     quick (default): cases 1-10 (9.* limits and performance included), about 1 min a host
#     all: also 12.* and 13.* (compression; both hosts run without permessage-deflate, as
#          Node's default, so those cases are reported UNIMPLEMENTED)
#
# autobahntestsuite is Python 2.7 only: it runs on pyenv's 2.7.18 (see docs/reliability.md),
# installed on first use into .ats-env (git-ignored). Heavy: on a shared machine run it
# under the benchmark lock, e.g. `flock /work/coord/bench.lock scripts/autobahn.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
hosts="${1:-both}"
scope="${2:-quick}"
[ "$hosts" = both ] && hosts="standalone asgi"

PYENV_DIR="${PYENV_ROOT:-$( (pyenv root 2>/dev/null) || echo "$HOME/.pyenv")}"
PY2="$PYENV_DIR/versions/2.7.18/bin/python"
if [ ! -x "$PY2" ]; then
  echo "autobahn.sh: no Python 2.7.18 under $PYENV_DIR/versions: cannot run the suite" >&2
  exit 2
fi
ENV_DIR="$PWD/.ats-env"
if [ ! -d "$ENV_DIR/autobahntestsuite" ]; then
  "$PY2" -m pip install -q --target "$ENV_DIR" autobahntestsuite==25.10.1
fi
cat > "$ENV_DIR/run_wstest.py" <<'EOF'
import os, site, sys
site.addsitedir(os.environ["ATS_ENV"])
from autobahntestsuite.wstest import run
sys.exit(run())
EOF

PY3=.venv/bin/python
free_port() { "$PY3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

for host in $hosts; do
  out="artifacts/autobahn/$host"
  rm -rf "$out"; mkdir -p "$out"
  port="$(free_port)"
  "$PY3" conformance/ws_echo_server.py --hosting "$host" --port "$port" > "$out/server.log" 2>&1 &
  server_pid=$!
  trap 'kill "$server_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    "$PY3" -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
    sleep 0.1
  done
  if [ "$scope" = all ]; then excluded='[]'; else excluded='["12.*", "13.*"]'; fi
  cat > "$out/fuzzingclient.json" <<EOF
{"outdir": "$out/report", "servers": [{"agent": "socketwire-$host", "url": "ws://127.0.0.1:$port"}],
 "cases": ["*"], "exclude-cases": $excluded, "exclude-agent-cases": {}}
EOF
  started=$(date +%s)
  (cd "$out" && ATS_ENV="$ENV_DIR" "$PY2" "$ENV_DIR/run_wstest.py" -m fuzzingclient \
      -s fuzzingclient.json > wstest.log 2>&1) || echo "wstest exited with $?"
  # the report paths are relative to $out (wstest ran there)
  if [ -d "$out/$out/report" ]; then mv "$out/$out/report" "$out/report"; rm -rf "$out/artifacts"; fi
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  trap - EXIT
  echo "== $host ($(( $(date +%s) - started )) s)"
  "$PY3" - "$out/report/index.json" <<'EOF'
import collections, json, sys
index = json.load(open(sys.argv[1]))
[(agent, cases)] = index.items()
behaviour = collections.Counter(c["behavior"] for c in cases.values())
closing = collections.Counter(c["behaviorClose"] for c in cases.values())
def order(case):
    return [int(p) for p in case.split(".")]
print(f"{agent}: {len(cases)} cases; behaviour {dict(sorted(behaviour.items()))}; "
      f"closing {dict(sorted(closing.items()))}")
for case in sorted(cases, key=order):
    c = cases[case]
    if c["behavior"] not in ("OK", "INFORMATIONAL", "UNIMPLEMENTED") or c["behaviorClose"] not in ("OK", "INFORMATIONAL", "UNIMPLEMENTED"):
        print(f"  {case}: {c['behavior']} / closing {c['behaviorClose']}")
EOF
done
