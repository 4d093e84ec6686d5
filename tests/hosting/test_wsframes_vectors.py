"""The standalone host's WebSocket codec (hosting/wsframes.py) against the `ws` package, the
library under Node's engine.io: the frames a server writes, and what a server reads from a
client's bytes (messages, control frames, the close code of each violation), fed whole, one
byte at a time and in odd chunks. Vectors: tests/vectors/ws_frames.json, made by
tools/gen_ws_vectors.mjs from ws's Sender and server-side Receiver.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from socketwire.hosting import wsframes
from socketwire.hosting.wsframes import FrameParser, WebSocketError

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "ws_frames.json").read_text())
MASK = bytes.fromhex(VECTORS["mask"])


def _mask(payload: bytes) -> bytes:
    return bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))


def _payload(vector: dict[str, Any]) -> bytes:
    if "payload" in vector:
        return bytes.fromhex(vector["payload"])
    rep = vector["payload_repeat"]
    return bytes([rep["byte"]]) * rep["count"]


def _stream(vector: dict[str, Any]) -> bytes:
    if vector["bytes"] is not None:
        return bytes.fromhex(vector["bytes"])
    out = b""
    for frame in vector["frames"]:
        rep = frame["payload_repeat"]
        out += bytes.fromhex(frame["head"]) + _mask(bytes([rep["byte"]]) * rep["count"])
    return out


def _event(message: wsframes.Message) -> dict[str, Any]:
    """A FrameParser message in the form the vectors give ws's events."""
    opcode, payload = message
    if opcode == wsframes.OP_CLOSE:
        assert isinstance(payload, bytes)
        if not payload:
            return {"kind": "close", "code": 1005, "reason": ""}
        return {"kind": "close", "code": struct.unpack("!H", payload[:2])[0],
                "reason": payload[2:].hex()}
    kind = {wsframes.OP_TEXT: "text", wsframes.OP_BINARY: "binary",
            wsframes.OP_PING: "ping", wsframes.OP_PONG: "pong"}[opcode]
    data = payload.encode() if isinstance(payload, str) else payload
    if len(data) > 300:
        return {"kind": kind, "data_repeat": {"byte": data[0], "count": len(data)}}
    return {"kind": kind, "data": data.hex()}


def _read(stream: bytes, max_payload: int, step: int | None) -> tuple[list[Any], int | None]:
    parser = FrameParser(max_size=max_payload)
    events: list[Any] = []
    chunks = [stream] if step is None else [stream[i:i + step]
                                            for i in range(0, len(stream), step)]
    for chunk in chunks:
        try:
            events += [_event(m) for m in parser.feed(chunk)]
        except WebSocketError as exc:
            events += [_event(m) for m in exc.messages]
            return events, exc.code
    return events, None


SERVER = VECTORS["server_frames"]
CLIENT = VECTORS["client_streams"]


@pytest.mark.parametrize("vector", SERVER, ids=[f"op{v['opcode']}-{len(_payload(v))}"
                                                for v in SERVER])
def test_server_frames_are_what_ws_writes(vector: dict[str, Any]) -> None:
    payload = _payload(vector)
    built = wsframes.frame(vector["opcode"], payload)
    if "frame" in vector:
        assert built == bytes.fromhex(vector["frame"])
    else:
        head = bytes.fromhex(vector["frame_head"])
        assert built == head + payload
    if vector["opcode"] == wsframes.OP_CLOSE:
        code = struct.unpack("!H", payload[:2])[0]
        assert wsframes.close_frame(code, payload[2:].decode()) == built


@pytest.mark.parametrize("vector", CLIENT, ids=[v["description"] for v in CLIENT])
@pytest.mark.parametrize("step", [None, 1, 3])
def test_client_streams_read_as_ws_reads_them(vector: dict[str, Any], step: int | None) -> None:
    stream = _stream(vector)
    if step is not None and len(stream) > 2000:
        step = 4099 if step == 1 else 997  # large frames: odd-sized chunks, not single bytes
    events, error = _read(stream, vector["max_payload"], step)
    assert error == vector["error"]
    assert events == vector["events"]


def test_parsing_a_frame_the_server_built_round_trips() -> None:
    # the server's frames are unmasked; a client's are the same bytes masked
    for opcode, payload in [(wsframes.OP_TEXT, "é✓".encode() * 50),
                            (wsframes.OP_BINARY, bytes(range(256)) * 300)]:
        server = wsframes.frame(opcode, payload)
        n = len(payload)
        head = server[:2 if n < 126 else 4 if n < 65536 else 10]
        client = bytes([head[0], head[1] | 0x80]) + head[2:] + MASK + _mask(payload)
        parser = FrameParser(max_size=10**6)
        got = [m for i in range(0, len(client), 7) for m in parser.feed(client[i:i + 7])]
        expected = payload.decode() if opcode == wsframes.OP_TEXT else payload
        assert got == [(opcode, expected)]
