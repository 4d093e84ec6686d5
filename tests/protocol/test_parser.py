"""The parser seam: the JSON parser's fast paths agree with its general encoder, and the
msgpack parser is wire-compatible with socket.io-msgpack-parser (checked both ways against
the npm package in Node) and refuses bad input cleanly."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from socketwire.exceptions import LocalProtocolError, RemoteProtocolError
from socketwire.protocol.msgpackparser import MsgpackParser
from socketwire.protocol.parser import JSON, JsonParser, Parser, get_parser
from socketwire.protocol.sio import SioPacket, SioType

ROOT = Path(__file__).resolve().parents[2]
MSGPACK = MsgpackParser()

PACKETS = [
    SioPacket(SioType.CONNECT, "/", None),
    SioPacket(SioType.CONNECT, "/admin", {"token": "t", "n": [1, 2.5]}),
    SioPacket(SioType.CONNECT, "/", {"sid": "abc", "pid": "def"}),
    SioPacket(SioType.DISCONNECT, "/chat"),
    SioPacket(SioType.EVENT, "/", ["hello", "é✓😀", 1, -7, 1.5, None, True, {"a": []}]),
    SioPacket(SioType.EVENT, "/x", ["bin", b"\x00\xff", {"deep": [b"", b"ab"]}], 12),
    SioPacket(SioType.ACK, "/", [1, "two", b"\x03"], 4),
    SioPacket(SioType.CONNECT_ERROR, "/", {"message": "nope", "data": {"code": 1}}),
    SioPacket(SioType.CONNECT_ERROR, "/n", "plain text"),
]


def test_get_parser() -> None:
    assert get_parser(None) is JSON and get_parser("json") is JSON
    assert isinstance(get_parser("msgpack"), MsgpackParser)
    custom = JsonParser()
    assert get_parser(custom) is custom
    with pytest.raises(TypeError, match="parser must be"):
        get_parser("xml")


@pytest.mark.parametrize("parser", [JSON, MSGPACK], ids=["json", "msgpack"])
@pytest.mark.parametrize("packet", PACKETS, ids=range(len(PACKETS)))
def test_round_trip(parser: Parser, packet: SioPacket) -> None:
    decoder = parser.decoder()
    got = None
    for message in parser.encode(packet):
        if isinstance(message, str):
            assert message[0] == "4"  # an Engine.IO MESSAGE
            message = message[1:]
        got = decoder.feed(message)
    assert got is not None
    kind = got.type
    if kind in (SioType.BINARY_EVENT, SioType.BINARY_ACK):
        kind = SioType(kind - 3)
    assert (kind, got.nsp, got.data, got.id) == (packet.type, packet.nsp, packet.data, packet.id)


@pytest.mark.parametrize("parser", [JSON, MSGPACK], ids=["json", "msgpack"])
def test_fast_paths_match_encode(parser: Parser) -> None:
    def one(wire: Any) -> list[Any]:
        return wire if isinstance(wire, list) else [wire]

    for nsp in ("/", "/a"):
        for data in (["e", 1, {"k": "v"}], ["e", b"\x01", [b"\x02"]]):
            for ack in (None, 0, 99):
                assert one(parser.event(nsp, data, ack)) == parser.encode(
                    SioPacket(SioType.EVENT, nsp, data, ack))
            assert one(parser.ack(nsp, 5, data)) == parser.encode(
                SioPacket(SioType.ACK, nsp, data, 5))
        assert [parser.connect(nsp, {"sid": "s"})] == parser.encode(
            SioPacket(SioType.CONNECT, nsp, {"sid": "s"}))
        assert [parser.connect(nsp, None)] == parser.encode(SioPacket(SioType.CONNECT, nsp))
        assert [parser.connect_error(nsp, {"message": "m"})] == parser.encode(
            SioPacket(SioType.CONNECT_ERROR, nsp, {"message": "m"}))
        assert [parser.disconnect(nsp)] == parser.encode(SioPacket(SioType.DISCONNECT, nsp))


def test_json_wire_bytes() -> None:
    assert JSON.event("/", ["a", 1]) == '42["a",1]'
    assert JSON.event("/n", ["a"], 3) == '42/n,3["a"]'
    assert JSON.ack("/", 3, [None]) == "433[null]"
    assert JSON.connect("/", {"sid": "x"}) == '40{"sid":"x"}'
    assert JSON.connect_error("/n", {"message": "m"}) == '44/n,{"message":"m"}'
    assert JSON.disconnect("/n") == "41/n,"
    assert JSON.event("/", ["b", b"\x01"]) == ['451-["b",{"_placeholder":true,"num":0}]',
                                               b"\x01"]


@pytest.mark.parametrize("message", [
    "2[\"text\"]",  # text: msgpack packets are binary
    b"\xc1",  # never used byte
    b"\x93\x01\x02\x03",  # an array, not a map
    b"\x82\xa4type\x07\xa3nsp\xa1/",  # type 7
    b"\x82\xa4type\x02\xa3nsp\x01",  # nsp not a string
    b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x90",  # EVENT with no name
    b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x91\xa7connect",  # reserved name
    b"\x83\xa4type\x03\xa3nsp\xa1/\xa4data\x90",  # ACK without id
    b"\x84\xa4type\x03\xa3nsp\xa1/\xa4data\x90\xa2id\xc3",  # id true
    b"\x84\xa4type\x03\xa3nsp\xa1/\xa4data\x90\xa2id\xff",  # id -1
    b"\x83\xa4type\x01\xa3nsp\xa1/\xa4data\x90",  # DISCONNECT with data
    b"\x83\xa4type\x04\xa3nsp\xa1/\xa4data\x01",  # CONNECT_ERROR with a number
    b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x91\xa1e\xc0",  # trailing bytes
])
def test_msgpack_refuses_bad_input(message: str | bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        MSGPACK.decoder().feed(message)


def test_msgpack_undefined_from_notepack_is_absent() -> None:
    # socket.io-msgpack-parser 3 (notepack.io 2) sends a CONNECT without auth like this
    packet = MSGPACK.decoder().feed(b"\x83\xa4type\x00\xa4data\xd4\x00\x00\xa3nsp\xa1/")
    assert packet == SioPacket(SioType.CONNECT, "/", None)


def test_msgpack_unencodable_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError, match="MessagePack"):
        MSGPACK.event("/", ["e", object()])
    with pytest.raises(LocalProtocolError):
        MSGPACK.event("/", ["e", 2**70])
    assert MSGPACK.decoder().feed(MSGPACK.event("/", ["e", {1, 2}])) is not None  # sets: lists


# ------------------------------------------------------------ against socket.io-msgpack-parser

NODE_CHECK = r"""
const { Encoder, Decoder } = require("socket.io-msgpack-parser");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const revive = (v) => Array.isArray(v) ? v.map(revive)
  : v && typeof v === "object" ? (v.$bin !== undefined ? Buffer.from(v.$bin, "base64")
    : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]))) : v;
const wire = (v) => Buffer.isBuffer(v) ? { $bin: v.toString("base64") } : Array.isArray(v)
  ? v.map(wire) : v && typeof v === "object"
  ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wire(x)])) : v;
const decoded = input.ours.map((b64) => {
  const d = new Decoder(); let out = null;
  d.on("decoded", (p) => { out = p; });
  d.add(Buffer.from(b64, "base64"));
  return wire(out);
});
const encoded = input.packets.map((p) => new Encoder().encode(revive(p))[0].toString("base64"));
process.stdout.write(JSON.stringify({ decoded, encoded }));
"""


def _to_wire(v: Any) -> Any:
    if isinstance(v, bytes):
        return {"$bin": base64.b64encode(v).decode()}
    if isinstance(v, list):
        return [_to_wire(x) for x in v]
    if isinstance(v, dict):
        return {k: _to_wire(x) for k, x in v.items()}
    return v


def _from_wire(v: Any) -> Any:
    if isinstance(v, dict):
        if set(v) == {"$bin"}:
            return base64.b64decode(v["$bin"])
        return {k: _from_wire(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_from_wire(x) for x in v]
    return v


def test_msgpack_against_socket_io_msgpack_parser() -> None:
    if shutil.which("node") is None:
        raise RuntimeError("this test needs node and the npm packages (npm ci)")
    ours = [base64.b64encode(MSGPACK.encode(p)[0]).decode() for p in PACKETS]  # type: ignore[arg-type]
    theirs = []
    for p in PACKETS:
        obj: dict[str, Any] = {"type": int(p.type), "nsp": p.nsp}
        if p.data is not None:
            obj["data"] = _to_wire(p.data)
        if p.id is not None:
            obj["id"] = p.id
        theirs.append(obj)
    done = subprocess.run(["node", "-e", NODE_CHECK], cwd=ROOT, check=True, capture_output=True,
                          input=json.dumps({"ours": ours, "packets": theirs}), text=True,
                          timeout=30)
    result = json.loads(done.stdout)
    for packet, seen in zip(PACKETS, result["decoded"], strict=True):
        seen = _from_wire(seen)
        assert seen["type"] == int(packet.type) and seen["nsp"] == packet.nsp
        assert seen.get("data") == packet.data and seen.get("id") == packet.id
    decoder = MSGPACK.decoder()
    for packet, b64 in zip(PACKETS, result["encoded"], strict=True):
        assert decoder.feed(base64.b64decode(b64)) == packet


def test_json_fast_paths_fall_back_for_what_orjson_refuses() -> None:
    """``event``/``ack`` try one plain orjson call first; sets, lone surrogates, integers
    past 64 bits and bytes take the general encoder, with the same bytes as ``encode``."""
    for data in (["e", {1, 2}], ["e", "\ud800x"], ["e", 2**70], ["e", (1, b"\x01")],
                 ["e", bytearray(b"\x02")], ["e", memoryview(b"\x03")]):
        for ack in (None, 7):
            wire = JSON.event("/", data, ack)
            assert (wire if isinstance(wire, list) else [wire]) == JSON.encode(
                SioPacket(SioType.EVENT, "/", data, ack))
        wire = JSON.ack("/q", 3, data)
        assert (wire if isinstance(wire, list) else [wire]) == JSON.encode(
            SioPacket(SioType.ACK, "/q", data, 3))
    assert JSON.event("/", ["e", "\ud800"]) == '42["e","\\ud800"]'
    with pytest.raises(LocalProtocolError):
        JSON.event("/", ["e", object()])
    with pytest.raises(LocalProtocolError):
        JSON.ack("/", 1, [object()])
