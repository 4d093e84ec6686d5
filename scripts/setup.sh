#!/usr/bin/env bash
# Installs everything socketwire and its tests need on a fresh Debian machine:
# Debian packages (chromium, node, redis-server) when missing, a .venv with the package and its test
# extras, and the npm packages used by the interop tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-test}"

need_apt=()
if [ "$mode" = "test" ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
  command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "$mode" = "test" ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
  npm ci --no-audit --no-fund --loglevel=error
else
  .venv/bin/python -m pip install -q -e .
fi
