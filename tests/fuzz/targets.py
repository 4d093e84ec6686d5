"""atheris fuzz targets, one per decoder socketwire runs on peer input (reliability.md R1).

Each target feeds the fuzzer's bytes to a decoder and accepts only the decoder's documented
errors (``RemoteProtocolError``, ``HandshakeError``, ``WebSocketError``); anything else is
a finding. Run one with atheris (libFuzzer flags after the name):

    python tests/fuzz/targets.py eio_packet -runs=1000000
    python tests/fuzz/targets.py all -runs=20000        # every target in turn

``tests/fuzz/test_fuzz.py`` runs every target briefly in the test suite;
``scripts/fuzz.sh`` runs the long campaign (1e6 inputs each by default).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from urllib.parse import parse_qsl

import atheris

with atheris.instrument_imports():
    from socketwire.exceptions import HandshakeError, RemoteProtocolError
    from socketwire.hosting.wsframes import FrameParser, WebSocketError
    from socketwire.protocol import eio, jsoncodec, sio


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass") if data.isascii() else data.decode(
        "utf-8", "replace")


def eio_packet(data: bytes) -> None:
    """An Engine.IO packet as text (a WebSocket text message) and as binary."""
    for message in (_text(data), data):
        try:
            eio.decode_packet(message)
        except RemoteProtocolError:
            pass


def eio_payload(data: bytes) -> None:
    """A polling payload (record-separated packets, base64 binary)."""
    try:
        eio.decode_payload(_text(data), 16)
    except RemoteProtocolError:
        pass


def eio_open(data: bytes) -> None:
    """The OPEN packet's JSON, as the client decodes it."""
    try:
        eio.decode_open(_text(data))
    except RemoteProtocolError:
        pass


def sio_packet(data: bytes) -> None:
    """A Socket.IO text packet."""
    try:
        sio.decode_text(_text(data), 10)
    except RemoteProtocolError:
        pass


def sio_binary(data: bytes) -> None:
    """Binary reassembly: a header then attachments, split where the input says."""
    fdp = atheris.FuzzedDataProvider(data)
    decoder = sio.SioDecoder(max_attachments=10)
    for _ in range(fdp.ConsumeIntInRange(1, 12)):
        if fdp.ConsumeBool():
            message: str | bytes = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 200))
        else:
            message = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 50))
        try:
            decoder.feed(message)
        except RemoteProtocolError:
            decoder.reset()


def json_loads(data: bytes) -> None:
    """The JSON decoder, on bytes and on text (orjson, then the lone-surrogate fallback)."""
    for text in (data, _text(data)):
        try:
            jsoncodec.loads(text)
        except RemoteProtocolError:
            pass


def handshake_query(data: bytes) -> None:
    """An Engine.IO request's method and query string, as the engine checks them."""
    fdp = atheris.FuzzedDataProvider(data)
    method = fdp.PickValueInList(["GET", "POST", "OPTIONS", "PUT", "__proto__"])
    query = dict(parse_qsl(fdp.ConsumeUnicodeNoSurrogates(300), keep_blank_values=True))
    try:
        eio.check_request(method, query)
        eio.check_version_of(query)
    except HandshakeError:
        pass


def ws_frames(data: bytes) -> None:
    """WebSocket frames from a client, fed in the chunks the input chooses."""
    fdp = atheris.FuzzedDataProvider(data)
    parser = FrameParser(max_size=fdp.ConsumeIntInRange(0, 70_000))
    while fdp.remaining_bytes():
        try:
            parser.feed(fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 512)))
        except WebSocketError:
            return


TARGETS: dict[str, Callable[[bytes], None]] = {
    "eio_packet": eio_packet,
    "eio_payload": eio_payload,
    "eio_open": eio_open,
    "sio_packet": sio_packet,
    "sio_binary": sio_binary,
    "json_loads": json_loads,
    "handshake_query": handshake_query,
    "ws_frames": ws_frames,
}


def main() -> None:
    """``targets.py NAME [libFuzzer flags]``; ``all`` runs each target in a subprocess."""
    name, flags = sys.argv[1], sys.argv[2:]
    if name == "all":
        failed = [t for t in TARGETS
                  if subprocess.call([sys.executable, __file__, t, *flags]) != 0]
        sys.exit(1 if failed else 0)
    target = TARGETS[name]
    atheris.Setup([sys.argv[0], *flags], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
