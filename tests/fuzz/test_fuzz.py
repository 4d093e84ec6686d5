"""A short run of every atheris target (tests/fuzz/targets.py) in the test suite: 10,000
inputs each, in a subprocess (libFuzzer owns the process it runs in). The long campaign is
``scripts/fuzz.sh`` (1e6 inputs per target; figures in docs/reliability.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from targets import TARGETS  # noqa: E402


@pytest.mark.parametrize("target", list(TARGETS))
def test_fuzz_target_short_run(target: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(HERE / "targets.py"), target, "-runs=10000",
         f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done 10000 runs" in proc.stderr
    assert not list(tmp_path.iterdir()), "atheris wrote a crash input"


def test_the_issue_13_overflow_input_is_a_finding_for_the_json_target() -> None:
    """The target would have caught issue 13's OverflowError: that input is handled now."""
    from targets import json_loads, sio_packet

    big = b'["x","\\ud800",1' + b"0" * 400 + b"]"
    json_loads(big)
    sio_packet(b"2" + big)
