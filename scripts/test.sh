#!/usr/bin/env bash
# The whole test suite: installs what it needs (scripts/setup.sh), then lint, types and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check src tests conformance bench
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
