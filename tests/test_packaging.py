"""What ``pip install socketwire`` and ``pip install "socketwire[EXTRA]"`` bring: the extras the
README tells people to use, read from this tree's pyproject.toml (not from the metadata of
whatever copy happens to be installed, which may be older than the sources under test)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

PROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())[
    "project"]


def names(requirements: list[str]) -> set[str]:
    """Distribution names of requirement strings (extras, versions and markers dropped)."""
    return {re.split(r"[\s\[<>=!~;]", req.strip(), maxsplit=1)[0].lower() for req in requirements}


def requirements(extra: str) -> set[str]:
    """Distribution names required by ``socketwire[extra]``."""
    return names(PROJECT["optional-dependencies"][extra])


def test_plain_install_brings_a_websocket_library_for_uvicorn() -> None:
    # the README's host table: uvicorn finds `websockets` because socketwire itself needs it
    assert "websockets" in names(PROJECT["dependencies"])


@pytest.mark.parametrize("extra, needed", [
    # uvicorn alone has no WebSocket library: clients would stay on long-polling
    ("asgi", {"uvicorn", "websockets"}),
    ("metrics", {"prometheus-client"}),
])
def test_extras(extra: str, needed: set[str]) -> None:
    assert needed <= requirements(extra)


def test_test_extra_pulls_in_the_others() -> None:
    test = PROJECT["optional-dependencies"]["test"]
    pulled = set()
    for req in test:
        found = re.fullmatch(r"socketwire\[([\w,]+)\]", req.strip())
        if found:
            pulled |= set(found.group(1).split(","))
    assert {"asgi", "metrics"} <= pulled or requirements("asgi") | requirements("metrics") <= (
        names(test))
