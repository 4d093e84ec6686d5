"""The WebTransport stream framing against engine.io-parser's own streams (both directions).

Vectors: tests/vectors/eio_webtransport.json, made by tools/gen_wt_vectors.mjs from the
reference encoder and decoder streams.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from _vectors import load

from socketwire.exceptions import RemoteProtocolError
from socketwire.protocol import eio
from socketwire.protocol.eio import EioType
from socketwire.protocol.wtframes import FrameDecoder, encode_frame, frame_header, session_id_of

VECTORS = load("eio_webtransport.json")
ERROR = {"type": "error", "data": "parser error"}


def _data(spec: Any) -> str | bytes:
    if isinstance(spec, str):
        return spec
    if "$bytes" in spec:
        return base64.b64decode(spec["$bytes"])
    text = spec["$repeat"] * spec["count"]
    return text.encode("latin-1") if spec["binary"] else text


def _bytes(spec: dict[str, Any]) -> bytes | None:
    return bytes.fromhex(spec["hex"]) if "hex" in spec else None


def _matches(frame: bytes, spec: dict[str, Any]) -> bool:
    if "hex" in spec:
        return frame == bytes.fromhex(spec["hex"])
    return (
        len(frame) == spec["length"]
        and frame[:16].hex() == spec["head"]
        and hashlib.sha256(frame).hexdigest() == spec["sha256"]
    )


def _packet(obj: dict[str, Any]) -> str | bytes:
    """A reference packet object as socketwire's encoded packet (``"4hi"`` or bytes)."""
    data = _data(obj["data"]) if "data" in obj else ""
    if isinstance(data, bytes):
        return data
    return str(EioType[obj["type"].upper()].value) + data


def _as_reference(items: list[str | bytes], error: str | None) -> list[dict[str, Any]]:
    """What the reference decoder stream yields for these frames (stopping at an error)."""
    out: list[dict[str, Any]] = []
    for item in items:
        try:
            kind, data = eio.decode_packet(item)
        except RemoteProtocolError:
            out.append(ERROR)
            return out
        obj: dict[str, Any] = {"type": kind.name.lower()}
        if isinstance(data, bytes):
            obj["data"] = {"$bytes": base64.b64encode(data).decode()}
        elif data:
            obj["data"] = data
        out.append(obj)
    if error is not None:
        out.append(ERROR)
    return out


def _decode(stream: bytes, max_payload: int, step: int | None) -> list[dict[str, Any]]:
    decoder = FrameDecoder(max_payload)
    items: list[str | bytes] = []
    if step is None:
        items += decoder.feed(stream)
    else:
        for i in range(0, len(stream), step):
            items += decoder.feed(stream[i:i + step])
    return _as_reference(items, decoder.error)


def _reference_form(obj: dict[str, Any]) -> dict[str, Any]:
    if "data" in obj and isinstance(obj["data"], dict) and "$repeat" in obj["data"]:
        data = _data(obj["data"])
        if isinstance(data, bytes):
            return {"type": obj["type"], "data": {"$bytes": base64.b64encode(data).decode()}}
        return {"type": obj["type"], "data": data}
    return obj


ENCODE = VECTORS["encode"]
DECODE = VECTORS["decode"]


@pytest.mark.parametrize("vector", ENCODE, ids=[v["description"] for v in ENCODE])
def test_encode_frame_writes_what_the_reference_writes(vector: dict[str, Any]) -> None:
    assert _matches(encode_frame(_packet(vector["packet"])), vector["frame"])


@pytest.mark.parametrize("vector", ENCODE, ids=[v["description"] for v in ENCODE])
@pytest.mark.parametrize("step", [None, 1, 7])
def test_decoder_reads_the_reference_frames(vector: dict[str, Any], step: int | None) -> None:
    frame = encode_frame(_packet(vector["packet"]))
    assert _matches(frame, vector["frame"])  # (the frame is the reference's, see above)
    if step == 1 and len(frame) > 1000:
        step = 997  # a byte at a time over 64 KiB is slow for nothing: odd-sized chunks
    assert _decode(frame, 10**9, step) == [_reference_form(vector["decoded"])]


@pytest.mark.parametrize("vector", DECODE, ids=[v["description"] for v in DECODE])
@pytest.mark.parametrize("step", [None, 1, 2, 3])
def test_decoder_reads_streams_as_the_reference(vector: dict[str, Any], step: int | None) -> None:
    stream = _bytes(vector["bytes"])
    assert stream is not None
    assert _decode(stream, vector["max_payload"], step) == vector["packets"]


def test_frames_split_anywhere_in_a_long_stream() -> None:
    packets: list[str | bytes] = ["4" + "x" * n for n in (0, 1, 124, 125, 126, 300, 70000)]
    packets += [bytes([n % 256]) * n for n in (1, 125, 126, 65535, 65536)]
    stream = b"".join(encode_frame(p) for p in packets)
    for step in (1, 5, 126, 4096):
        if step == 1:
            short = b"".join(encode_frame(p) for p in packets if len(p) < 500)
            decoder = FrameDecoder(10**6)
            got = [x for i in range(len(short)) for x in decoder.feed(short[i:i + 1])]
            assert got == [p for p in packets if len(p) < 500]
            continue
        decoder = FrameDecoder(10**6)
        got = [x for i in range(0, len(stream), step) for x in decoder.feed(stream[i:i + step])]
        assert got == packets
        assert decoder.error is None


def test_nothing_is_read_after_a_framing_error() -> None:
    decoder = FrameDecoder(10)
    assert decoder.feed(encode_frame("4ok") + b"\x00" + encode_frame("4lost")) == ["4ok"]
    assert decoder.error == "empty WebTransport frame"
    assert decoder.feed(encode_frame("4later")) == []


def test_header_lengths() -> None:
    assert frame_header(125, False) == b"\x7d"
    assert frame_header(126, True) == b"\xfe\x00\x7e"
    assert frame_header(65535, False) == b"\x7e\xff\xff"
    assert frame_header(65536, True) == b"\xff" + (65536).to_bytes(8, "big")


def test_session_id_of_the_first_open_packet() -> None:
    assert session_id_of('{"sid":"abc"}') == "abc"
    for payload in ("", "{", '{"sid":1}', '["abc"]', '"abc"', "{}"):
        assert session_id_of(payload) is None
