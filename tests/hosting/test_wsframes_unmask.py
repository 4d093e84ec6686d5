"""The frame parser's unmasking: the compiled helper (websockets' C ``apply_mask``) and the
pure-Python fallback agree, and the parser (its one-frame fast path included) behaves the same
with either."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator

import pytest

from socketwire.hosting import wsframes
from socketwire.hosting.wsframes import FrameParser, WebSocketError

IMPLEMENTATIONS: dict[str, Callable[[bytes, bytes], bytes]] = {
    "python": wsframes.unmask_python}
if importlib.util.find_spec("websockets.speedups") is not None:
    IMPLEMENTATIONS["compiled"] = wsframes._unmask_compiled


def reference(data: bytes, mask: bytes) -> bytes:
    return bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def masked(opcode: int, payload: bytes, fin: bool = True, mask: bytes | None = None) -> bytes:
    mask = os.urandom(4) if mask is None else mask
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        head = bytes([first, 0x80 | n])
    elif n < 65536:
        head = bytes([first, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + reference(payload, mask)


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def implementation(request: pytest.FixtureRequest,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(wsframes, "unmask", IMPLEMENTATIONS[request.param])
    yield request.param


def test_the_compiled_helper_is_used_when_installed() -> None:
    if "compiled" in IMPLEMENTATIONS:
        assert wsframes.unmask is wsframes._unmask_compiled
    else:
        assert wsframes.unmask is wsframes.unmask_python


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 31, 32, 125, 126, 1000, 4097, 65536, 70001])
def test_implementations_agree(size: int) -> None:
    data = os.urandom(size)
    for mask in (os.urandom(4), b"\x00\x00\x00\x00", b"\xff\xff\xff\xff"):
        want = reference(data, mask)
        for fn in IMPLEMENTATIONS.values():
            got = fn(data, mask)
            assert got == want and type(got) is bytes
            assert fn(memoryview(data), mask) == want


def test_parser_with_either(implementation: str) -> None:
    parser = FrameParser(max_size=1000)
    text = "é✓😀 hi" * 5
    assert parser.feed(masked(0x1, text.encode())) == [(0x1, text)]  # the one-frame fast path
    assert parser.feed(masked(0x1, b"")) == [(0x1, "")]
    two = masked(0x1, b"a") + masked(0x2, b"\x00\x01")
    assert parser.feed(two) == [(0x1, "a"), (0x2, b"\x00\x01")]
    frame = masked(0x1, b"split")
    assert parser.feed(frame[:3]) == []
    assert parser.feed(frame[3:]) == [(0x1, "split")]
    assert parser.feed(masked(0x1, b"fr", fin=False)) == []
    assert parser.feed(masked(0x0, b"ag")) == [(0x1, "frag")]
    big = b"x" * 900
    assert parser.feed(masked(0x1, big)) == [(0x1, big.decode())]


def test_fast_path_errors_with_either(implementation: str) -> None:
    with pytest.raises(WebSocketError) as info:
        FrameParser().feed(masked(0x1, b"\xff\xfe"))
    assert info.value.code == 1007
    with pytest.raises(WebSocketError) as info:
        FrameParser(max_size=10).feed(masked(0x1, b"x" * 11))
    assert info.value.code == 1009
    parser = FrameParser()
    assert parser.feed(masked(0x1, b"ab", fin=False)) == []
    with pytest.raises(WebSocketError) as info:  # a new message while one is fragmented
        parser.feed(masked(0x1, b"c"))
    assert info.value.code == 1002
