"""What ``pip install "socketwire[EXTRA]"`` brings: the extras the README tells people to use."""

from __future__ import annotations

import re
from importlib import metadata

import pytest


def requirements(extra: str) -> set[str]:
    """Distribution names required by ``socketwire[extra]``."""
    names = set()
    for req in metadata.requires("socketwire") or []:
        spec, _, marker = req.partition(";")
        if re.search(rf"""extra\s*==\s*["']{extra}["']""", marker):
            names.add(re.split(r"[\s\[<>=!~]", spec.strip(), maxsplit=1)[0].lower())
    return names


@pytest.mark.parametrize("extra, needed", [
    # uvicorn alone has no WebSocket library: clients would stay on long-polling
    ("asgi", {"uvicorn", "websockets"}),
    ("metrics", {"prometheus-client"}),
])
def test_extras(extra: str, needed: set[str]) -> None:
    assert needed <= requirements(extra)


def test_test_extra_pulls_in_the_others() -> None:
    test = requirements("test")
    # the build backend either keeps "socketwire[asgi,metrics]" or writes out its requirements
    if not any(name.startswith("socketwire") for name in test):
        assert requirements("asgi") | requirements("metrics") <= test
