#!/usr/bin/env bash
# Issue 14's benchmark table against Node socket.io and python-socketio in one interleaved run,
# then docs/benchmarks.md and docs/img/bench-*.png regenerated from it. Options go to
# bench/report.py (--quick for a smoke check, --rows, --repeat, --duration, --from FILE).
# Holds /work/coord/bench.lock (or $BENCH_LOCK) when that file's folder exists.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "run scripts/setup.sh first" >&2; exit 1; }
.venv/bin/python -c 'import matplotlib' 2>/dev/null || .venv/bin/python -m pip install -q -e '.[bench]'
lock="${BENCH_LOCK:-/work/coord/bench.lock}"
if [ -d "$(dirname "$lock")" ]; then
  exec flock "$lock" .venv/bin/python bench/report.py "$@"
fi
exec .venv/bin/python bench/report.py "$@"
