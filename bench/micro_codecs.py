"""Micro-benchmarks behind socketwire's dependency choices (JSON codec, HTTP parser, frames).

    python bench/micro_codecs.py

Prints nanoseconds per operation for each candidate on the same input; the figures are
recorded in docs/benchmarks.md. Candidates that are not installed are skipped.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable

import orjson

from socketwire.hosting import wsframes

EVENT = ["chat message", {"user": "ana", "text": "héllo wörld " * 3, "ts": 1732700000000}]
REQUEST = (
    b"GET /socket.io/?EIO=4&transport=polling&t=N8hyd6w&sid=lv_VI97HAXpY6yYWAAAC HTTP/1.1\r\n"
    b"Host: 127.0.0.1:3000\r\nUser-Agent: bench\r\nAccept: */*\r\nConnection: keep-alive\r\n"
    b"Origin: http://localhost:8080\r\n\r\n"
)


def ns_per_op(fn: Callable[[], object], number: int = 50_000) -> float:
    """Best of five runs, in nanoseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e9


def bench_json() -> dict[str, float]:
    """Encode and decode one event payload."""
    text = json.dumps(EVENT, separators=(",", ":"), ensure_ascii=False)
    return {
        "json.dumps (compact, raw UTF-8)": ns_per_op(
            lambda: json.dumps(EVENT, separators=(",", ":"), ensure_ascii=False)
        ),
        "orjson.dumps().decode()": ns_per_op(lambda: orjson.dumps(EVENT).decode()),
        "json.loads": ns_per_op(lambda: json.loads(text)),
        "orjson.loads": ns_per_op(lambda: orjson.loads(text)),
    }


def bench_http() -> dict[str, float]:
    """Parse one polling GET request."""
    out: dict[str, float] = {}
    try:
        import httptools

        class Sink:
            def on_header(self, name: bytes, value: bytes) -> None:
                pass

        def parse_httptools() -> None:
            parser = httptools.HttpRequestParser(Sink())
            parser.feed_data(REQUEST)

        out["httptools"] = ns_per_op(parse_httptools, 20_000)
    except ImportError:
        pass
    try:
        import h11

        def parse_h11() -> None:
            conn = h11.Connection(h11.SERVER)
            conn.receive_data(REQUEST)
            conn.next_event()

        out["h11"] = ns_per_op(parse_h11, 20_000)
    except ImportError:
        pass
    return out


def bench_frames() -> dict[str, float]:
    """Parse one masked 100-byte client text frame and build one server frame."""
    payload = b"42" + orjson.dumps(EVENT)
    mask = b"\x12\x34\x56\x78"
    masked = wsframes.unmask(payload, mask)
    frame = bytes([0x81, 0x80 | len(payload)]) + mask + masked if len(payload) < 126 else (
        bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big") + mask + masked
    )
    parser = wsframes.FrameParser()
    out = {
        "socketwire wsframes: parse masked frame": ns_per_op(lambda: parser.feed(frame)),
        "socketwire wsframes: build frame": ns_per_op(
            lambda: wsframes.frame(wsframes.OP_TEXT, payload)
        ),
    }
    try:
        from wsproto.frame_protocol import FrameProtocol

        def parse_wsproto() -> None:
            proto = FrameProtocol(client=False, extensions=[])
            proto.receive_bytes(frame)
            list(proto.received_frames())

        out["wsproto: parse masked frame"] = ns_per_op(parse_wsproto, 20_000)
    except ImportError:
        pass
    try:
        from websockets.frames import Frame, Opcode

        out["websockets: build frame"] = ns_per_op(
            lambda: Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
        )
    except ImportError:
        pass
    return out


def bench_adversarial() -> dict[str, float]:
    """R4: 1 MB adversarial packets next to a benign 1 MB packet (linear-time decoding)."""
    from socketwire.exceptions import RemoteProtocolError
    from socketwire.protocol.eio import decode_payload
    from socketwire.protocol.sio import SioDecoder

    mb = 1_000_000
    cases = {
        "benign 1 MB event": '2["a","' + "x" * mb + '"]',
        "binary count of 1e6 nines": "5" + "9" * mb,
        "namespace of 1e6 chars, no comma": "2/" + "a" * mb,
        "1e5-deep [[[": "2" + "[" * 100_000,
        "ack id of 1e6 digits": "2" + "1" * mb + '["a"]',
    }

    def run(text: str) -> None:
        try:
            SioDecoder().feed(text)
        except RemoteProtocolError:
            pass

    out = {name: ns_per_op(lambda t=text: run(t), 3) for name, text in cases.items()}

    def payload() -> None:
        try:
            decode_payload("\x1e" * mb)
        except RemoteProtocolError:
            pass

    out["polling body of 1e6 separators"] = ns_per_op(payload, 3)
    return out


def main() -> None:
    """Run every group and print a table."""
    for title, group in (("JSON", bench_json), ("HTTP parse", bench_http),
                         ("WebSocket frames", bench_frames),
                         ("Adversarial 1 MB inputs (R4)", bench_adversarial)):
        print(f"## {title}")
        for name, value in group().items():
            print(f"{name:45s} {value:10.0f} ns/op")


if __name__ == "__main__":
    main()
