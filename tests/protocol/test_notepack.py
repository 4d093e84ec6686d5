"""socketwire.protocol.notepack against the real notepack.io (run in Node), both directions."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from socketwire.protocol import notepack

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.node

NODE_ENCODE = r"""
const msgpack = require("notepack.io");
const cases = {
  scalars: [0, 1, -1, 127, 128, 255, 256, 65535, 65536, -32, -33, -129, 2 ** 32, 2 ** 40,
            -(2 ** 40), 1.5, -0.25, true, false, null, "", "é", "x".repeat(40), "y".repeat(300)],
  nested: {a: [1, {b: "c"}], d: {}, e: []},
  binary: ["ev", Buffer.from([0, 1, 2, 255])],
  undefinedMember: {keep: 1, drop: undefined},
  undefinedInArray: [1, undefined, 2],
  date: new Date(Date.UTC(2026, 11, 1, 9, 30, 0, 123)),
  dateOld: new Date(Date.UTC(1969, 0, 1)),
  dateFar: new Date(Date.UTC(2500, 0, 1, 0, 0, 0, 1)),
  broadcast: ["abcdef", {type: 2, data: ["hello", 1, {x: true}], nsp: "/"},
              {rooms: ["r1"], except: ["s1"], flags: {volatile: true}}],
};
const out = {};
for (const [k, v] of Object.entries(cases)) out[k] = msgpack.encode(v).toString("hex");
process.stdout.write(JSON.stringify(out));
"""

NODE_DECODE = r"""
const msgpack = require("notepack.io");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = {};
for (const [k, hex] of Object.entries(input)) {
  const v = msgpack.decode(Buffer.from(hex, "hex"));
  out[k] = JSON.stringify(v, (key, value) =>
    value && value.type === "Buffer" && Array.isArray(value.data) ? {$bin: value.data} : value);
}
process.stdout.write(JSON.stringify(out));
"""


def node(script: str, stdin: str = "") -> Any:
    exe = shutil.which("node")
    assert exe, "node is needed (scripts/setup.sh test)"
    out = subprocess.run([exe, "-e", script], input=stdin, capture_output=True, text=True,
                         cwd=ROOT, timeout=30, check=True)
    return json.loads(out.stdout)


def test_decodes_what_notepack_writes() -> None:
    enc = {k: bytes.fromhex(v) for k, v in node(NODE_ENCODE).items()}
    assert notepack.loads(enc["scalars"]) == [
        0, 1, -1, 127, 128, 255, 256, 65535, 65536, -32, -33, -129, 2**32, 2**40, -(2**40),
        1.5, -0.25, True, False, None, "", "é", "x" * 40, "y" * 300]
    assert notepack.loads(enc["nested"]) == {"a": [1, {"b": "c"}], "d": {}, "e": []}
    assert notepack.loads(enc["binary"]) == ["ev", b"\x00\x01\x02\xff"]
    assert notepack.loads(enc["undefinedMember"]) == {"keep": 1}  # notepack 3 drops it
    assert notepack.loads(enc["undefinedInArray"]) == [1, None, 2]
    assert notepack.loads(enc["date"]) == "2026-12-01T09:30:00.123Z"
    assert notepack.loads(enc["dateOld"]) == "1969-01-01T00:00:00.000Z"
    assert notepack.loads(enc["dateFar"]) == "2500-01-01T00:00:00.001Z"
    assert notepack.loads(enc["broadcast"]) == [
        "abcdef", {"type": 2, "data": ["hello", 1, {"x": True}], "nsp": "/"},
        {"rooms": ["r1"], "except": ["s1"], "flags": {"volatile": True}}]


def test_writes_the_same_bytes_as_notepack() -> None:
    enc = {k: bytes.fromhex(v) for k, v in node(NODE_ENCODE).items()}
    for name in ("scalars", "nested", "binary", "broadcast"):
        assert notepack.dumps(notepack.loads(enc[name])) == enc[name], name


def test_notepack_reads_what_we_write() -> None:
    import datetime as dt

    values: dict[str, Any] = {
        "bin": [b"\x00\xff", bytearray(b"ab"), memoryview(b"cd")],
        "tuple": ("a", 1, 2.5),
        "date": dt.datetime(2026, 12, 1, 9, 30, 0, 123000, tzinfo=dt.UTC),
        "big": [2**53, -(2**53), 2**63],
    }
    hexes = {k: notepack.dumps(v).hex() for k, v in values.items()}
    got = node(NODE_DECODE, json.dumps(hexes))
    assert json.loads(got["bin"]) == [{"$bin": [0, 255]}, {"$bin": [97, 98]}, {"$bin": [99, 100]}]
    assert json.loads(got["tuple"]) == ["a", 1, 2.5]
    assert json.loads(got["date"]) == "2026-12-01T09:30:00.123Z"
    big = json.loads(got["big"])
    assert big[:2] == [2**53, -(2**53)]
    assert float(big[2]) == float(2**63)  # a JavaScript number: uint64 read as a double


def test_legacy_notepack_2_forms() -> None:
    # fixext1 type 0 = undefined; fixext8 type 0 = Date in ms; ext8 type 0 = ArrayBuffer
    undefined_member = b"\x82\xa1a\x01\xa1b\xd4\x00\x00"
    assert notepack.loads(undefined_member) == {"a": 1}
    assert notepack.loads(b"\x92\x01\xd4\x00\x00") == [1, None]
    ms = (1_764_581_400_123).to_bytes(8, "big", signed=True)
    assert notepack.loads(b"\xd7\x00" + ms) == "2025-12-01T09:30:00.123Z"
    assert notepack.loads(b"\xc7\x03\x00abc") == b"abc"
    assert notepack.loads(b"\xd5\x05ab") == [5, b"ab"]  # unknown ext: [type, bytes]


def test_json_side_and_decoder_choice() -> None:
    assert notepack.dumps_json({"a": b"\x01\x02"}) == b'{"a":{"type":"Buffer","data":[1,2]}}'
    assert notepack.loads_any(b'{"type":1,"requestId":"x"}') == {"type": 1, "requestId": "x"}
    assert notepack.loads_any(notepack.dumps({"type": 9})) == {"type": 9}
    with pytest.raises(ValueError):
        notepack.loads(b"\xc1")
    with pytest.raises(ValueError):
        notepack.loads_any(b"{not json")


VECTORS = json.loads((ROOT / "tests" / "vectors" / "notepack_ext.json").read_text())


def _expected(value: Any) -> Any:
    """notepack's decoded value (tagged JSON) as notepack.loads gives it: ArrayBuffer and
    Buffer as bytes, a Date as its JSON string, undefined dropped from maps, None elsewhere."""
    if isinstance(value, list):
        return [None if _undefined(v) else _expected(v) for v in value]
    if isinstance(value, dict):
        if "$buffer" in value or "$arraybuffer" in value:
            return base64.b64decode(value.get("$buffer", value.get("$arraybuffer")))
        if "$date" in value:
            return value["$date"]
        if _undefined(value):
            return None
        return {k: _expected(v) for k, v in value.items() if not _undefined(v)}
    return value


def _undefined(value: Any) -> bool:
    return isinstance(value, dict) and value.get("$undefined") is True


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_type0_extensions_by_their_framing_as_notepack_3(case: dict[str, Any]) -> None:
    # vectors decoded by notepack.io itself (tools/gen_notepack_vectors.mjs): undefined,
    # ArrayBuffer, Date and [0, Buffer] told apart by the framing byte, not the size
    assert "value" in case["notepack3"], case
    assert notepack.loads(bytes.fromhex(case["hex"])) == _expected(case["notepack3"]["value"])


def test_vectors_come_from_notepack_3() -> None:
    assert VECTORS["versions"]["notepack.io"].startswith("3.")


def test_truncated_type0_extensions_are_refused_not_crashing() -> None:
    for case in VECTORS["cases"]:
        data = bytes.fromhex(case["hex"])
        for cut in range(len(data)):
            with pytest.raises(ValueError):
                notepack.loads(data[:cut])


def _as_parser_reads(value: Any) -> Any:
    """notepack 2's decoded value as socketwire's msgpack parser gives it: as notepack.loads,
    but ``undefined`` is ``None`` in maps too (a member present, as in the Node server)."""
    if _undefined(value):
        return None
    if isinstance(value, list):
        return [_as_parser_reads(v) for v in value]
    if isinstance(value, dict) and not ({"$buffer", "$arraybuffer", "$date"} & set(value)):
        return {k: _as_parser_reads(v) for k, v in value.items()}
    return _expected(value)


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_the_msgpack_parser_reads_type0_extensions_as_notepack_2(case: dict[str, Any]) -> None:
    # socket.io-msgpack-parser decodes with notepack.io 2 (its Node build): an EVENT carrying
    # the vector's value as its argument
    from socketwire.protocol.msgpackparser import MsgpackParser

    value = bytes.fromhex(case["hex"])
    message = b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x92\xa2ev" + value
    packet = MsgpackParser().decoder().feed(message)
    assert packet is not None and "value" in case["notepack2"]
    assert packet.data == ["ev", _as_parser_reads(case["notepack2"]["value"])]


def test_vectors_come_from_notepack_2_too() -> None:
    assert VECTORS["versions"]["notepack.io (socket.io-msgpack-parser)"].startswith("2.")
