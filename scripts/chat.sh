#!/usr/bin/env bash
# Installs socketwire into .venv and starts the chat app at http://localhost:3000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
exec .venv/bin/socketwire chat "$@"
