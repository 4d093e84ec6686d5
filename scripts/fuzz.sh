#!/usr/bin/env bash
# The long fuzzing campaign: every atheris target of tests/fuzz/targets.py, RUNS inputs each
# (default 1,000,000), one after the other, under nice. Findings (crash-* files) and each
# target's log go to artifacts/fuzz/; the exit status is non-zero if any target found one.
#
#   scripts/fuzz.sh [RUNS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(.venv/bin/python -c \
    'import sys; sys.argv=["x"]; sys.path.insert(0, "tests/fuzz"); import targets; print("\n".join(targets.TARGETS))')
fi
out=artifacts/fuzz
mkdir -p "$out"
status=0
for target in "${targets[@]}"; do
  started=$(date +%s)
  if nice .venv/bin/python tests/fuzz/targets.py "$target" -runs="$runs" \
      -artifact_prefix="$out/$target-" -print_final_stats=1 > "$out/$target.log" 2>&1; then
    verdict="0 findings"
  else
    verdict="FINDING (see $out/$target.log)"
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$target.log" | grep -o '[0-9]*$' || true)
  echo "$target: ${execs:-?} inputs in $(( $(date +%s) - started )) s, $verdict"
done
exit $status
