"""Engine.IO v4 codec against the Node reference (engine.io-parser, engine.io) vectors."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from _vectors import examples, from_j, ids, load
from hypothesis import given, settings
from hypothesis import strategies as st

from socketwire.exceptions import HandshakeError, RemoteProtocolError
from socketwire.protocol import eio
from socketwire.protocol.eio import (
    SEPARATOR,
    EioType,
    OpenInfo,
    check_request,
    decode_open,
    decode_packet,
    decode_payload,
    encode_open,
    encode_payload,
)

P = load("eio_packets.json")
PAYLOADS = load("eio_payloads.json")


def packet_of(obj: dict[str, Any]) -> tuple[EioType, str | bytes]:
    """The reference's {type, data?} as socketwire's (EioType, payload); no data is ""."""
    return EioType[obj["type"].upper()], from_j(obj.get("data", ""))


def encode_ws(packet: tuple[EioType, str | bytes]) -> str | bytes:
    """A packet as one WebSocket message: binary as raw bytes, text as type digit + data."""
    kind, data = packet
    if isinstance(data, bytes):
        assert kind == EioType.MESSAGE
        return data
    return str(int(kind)) + data


def assert_packet(vector: dict[str, Any]) -> None:
    """decode(wire) == object and encode(object) == wire, for both transports' forms."""
    expected = packet_of(vector["object"])
    ws = from_j(vector["wire"]["websocket"])
    polling = vector["wire"]["polling"]

    assert decode_packet(ws) == expected
    assert type(decode_packet(ws)[1]) is type(expected[1])
    assert decode_payload(polling) == [expected]
    assert encode_ws(expected) == ws
    assert encode_payload([encode_ws(expected)]) == polling


@pytest.mark.parametrize("vector", P["packets"], ids=ids(P["packets"]))
def test_packet_vectors(vector: dict[str, Any]) -> None:
    assert_packet(vector)


def test_packet_types_match_the_reference() -> None:
    seen = {v["object"]["type"]: v["wire"]["polling"][0] for v in P["packets"]}
    for name, digit in seen.items():
        if digit != "b":
            assert str(int(EioType[name.upper()])) == digit
    assert {t.name.lower() for t in EioType} == set(seen)


@pytest.mark.parametrize("vector", P["invalid"], ids=ids(P["invalid"]))
def test_invalid_packet_vectors(vector: dict[str, Any]) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_packet(vector["wire"])
    with pytest.raises(RemoteProtocolError):
        decode_payload(vector["wire"])


@pytest.mark.parametrize("vector", P["lenient"], ids=ids(P["lenient"]))
def test_reference_lenient_packets_are_rejected(vector: dict[str, Any]) -> None:
    assert vector["reason"]
    with pytest.raises(RemoteProtocolError):
        decode_packet(vector["wire"])


def test_bytes_like_packets_are_binary_messages() -> None:
    assert decode_packet(bytearray(b"\x04ab")) == (EioType.MESSAGE, b"\x04ab")
    assert decode_packet(memoryview(b"")) == (EioType.MESSAGE, b"")
    assert type(decode_packet(memoryview(b"x"))[1]) is bytes


# ------------------------------------------------------------------------------ payloads


def assert_payload(vector: dict[str, Any]) -> None:
    """decode_payload(wire) == packets and encode_payload(packets) == wire."""
    expected = [packet_of(o) for o in vector["objects"]]
    websocket = [from_j(m) for m in vector["websocket"]]
    assert decode_payload(vector["wire"]) == expected
    assert encode_payload(websocket) == vector["wire"]
    assert encode_payload(encode_ws(p) for p in expected) == vector["wire"]


@pytest.mark.parametrize("vector", PAYLOADS["valid"], ids=ids(PAYLOADS["valid"]))
def test_payload_vectors(vector: dict[str, Any]) -> None:
    assert_payload(vector)


@pytest.mark.parametrize("vector", PAYLOADS["invalid"], ids=ids(PAYLOADS["invalid"]))
def test_invalid_payload_vectors(vector: dict[str, Any]) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_payload(vector["wire"])


@pytest.mark.parametrize("vector", PAYLOADS["lenient"], ids=ids(PAYLOADS["lenient"]))
def test_reference_lenient_payloads_are_rejected(vector: dict[str, Any]) -> None:
    assert vector["reason"]
    with pytest.raises(RemoteProtocolError):
        decode_payload(vector["wire"])


def test_max_packets() -> None:
    body = SEPARATOR.join(["4a"] * 5)
    assert len(decode_payload(body, max_packets=5)) == 5
    assert len(decode_payload(body)) == 5
    with pytest.raises(RemoteProtocolError):
        decode_payload(body, max_packets=4)


def test_record_separator_inside_a_text_packet_splits_it() -> None:
    """Over polling, a raw \\x1e in a message cannot be told from the separator (as in Node):
    Socket.IO's JSON escapes it, so it only happens with raw Engine.IO messages."""
    assert encode_payload(["4a\x1e4b"]) == "4a\x1e4b"
    assert decode_payload("4a\x1e4b") == [(EioType.MESSAGE, "a"), (EioType.MESSAGE, "b")]


# ------------------------------------------------------------------------------ open packet


@pytest.mark.parametrize(
    "vector", P["open"], ids=[f"{v['description']} ({v['transport']})" for v in P["open"]]
)
def test_encode_open_matches_engine_io(vector: dict[str, Any]) -> None:
    obj = vector["object"]
    info = OpenInfo(
        sid=obj["sid"],
        upgrades=tuple(obj["upgrades"]),
        ping_interval=obj["pingInterval"] / 1000,
        ping_timeout=obj["pingTimeout"] / 1000,
        max_payload=obj["maxPayload"],
    )
    assert encode_open(info) == vector["wire"]
    assert decode_open(vector["wire"][1:]) == info


def test_encode_open_exact_bytes() -> None:
    info = OpenInfo("lv_VI97HAXpY6yYWAAAC", ("websocket",), 25, 20, 1_000_000)
    assert encode_open(info) == (
        '0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,'
        '"pingTimeout":20000,"maxPayload":1000000}'
    )
    # sub-second values keep their exact milliseconds (python-engineio sends 0 here)
    got = json.loads(encode_open(OpenInfo("s", (), 0.3, 0.2, 1000))[1:])
    assert got == {"sid": "s", "upgrades": [], "pingInterval": 300, "pingTimeout": 200,
                   "maxPayload": 1000}  # fmt: skip
    assert all(type(got[k]) is int for k in ("pingInterval", "pingTimeout", "maxPayload"))
    assert list(got) == ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]
    # float noise never leaks into the JSON
    odd = json.loads(encode_open(OpenInfo("s", (), 0.1 + 0.2, 1.0005, 1))[1:])
    assert (odd["pingInterval"], type(odd["pingInterval"])) == (300, int)
    assert type(odd["pingTimeout"]) is int


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "null",
        "[]",
        '"x"',
        "{",
        '{"upgrades":[]}',
        '{"sid":"a","pingInterval":"x","pingTimeout":1}',
        '{"sid":"a","pingInterval":1}',
        '{"sid":"a","pingInterval":{},"pingTimeout":1}',
        "[" * 100_000,
        # numbers beyond a double (issue 13: float() raised OverflowError)
        '{"sid":"a","pingInterval":' + "1" * 400 + ',"pingTimeout":1,"x":"\\ud800"}',
        '{"sid":"a","pingInterval":1,"pingTimeout":1,"maxPayload":"1e999"}',
        '{"sid":"a","pingInterval":"1e999","pingTimeout":1}',
        '{"sid":"a","pingInterval":1e300,"pingTimeout":1}',
        '{"sid":"a","pingInterval":-1,"pingTimeout":1}',
    ],
)
def test_decode_open_rejects(payload: str) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_open(payload)


def test_decode_open_defaults() -> None:
    info = decode_open('{"sid":"a","pingInterval":25000,"pingTimeout":20000}')
    assert info == OpenInfo("a", (), 25.0, 20.0, 1_000_000)


# ------------------------------------------------------------------------------ check_request


def _query(text: str) -> dict[str, str]:
    return dict(parse_qsl(text, keep_blank_values=True))


REQUESTS = P["requests"]


@pytest.mark.parametrize(
    "vector",
    REQUESTS,
    ids=[f"{r['method']} ?{r['query']} [{','.join(r['transports'])}]" for r in REQUESTS],
)
def test_check_request_matches_engine_io(vector: dict[str, Any]) -> None:
    """Same error code as a live engine.io server, checks applied in Node's order."""
    query = _query(vector["query"])
    transports = tuple(vector["transports"])
    if vector["code"] is None:
        handshake = check_request(vector["method"], query, transports)
        assert handshake.transport == query["transport"]
        assert handshake.sid is None
    else:
        with pytest.raises(HandshakeError) as info:
            check_request(vector["method"], query, transports)
        assert info.value.code == vector["code"]
        assert info.value.status == vector["status"] == 400


def test_request_vectors_cover_the_codes() -> None:
    assert {r["code"] for r in REQUESTS} == {None, 0, 2, 5}
    # Node's order: transport (0) before method (2) before protocol version (5)
    bad_all = [
        r for r in REQUESTS if r["query"] == "EIO=3&transport=bogus" and r["method"] != "GET"
    ]
    assert bad_all and all(r["code"] == 0 for r in bad_all)
    post_v3 = [
        r for r in REQUESTS if r["query"] == "EIO=3&transport=polling" and r["method"] == "POST"
    ]
    assert post_v3 and all(r["code"] in (0, 2) for r in post_v3)


def test_check_request_with_sid_skips_the_handshake_checks() -> None:
    """With a sid, the method and EIO checks belong to the session (Node: codes 1 and 3)."""
    got = check_request("POST", {"transport": "polling", "sid": "abc"})
    assert (got.transport, got.sid) == ("polling", "abc")
    got = check_request("GET", {"transport": "websocket", "sid": "abc", "EIO": "3"})
    assert (got.transport, got.sid) == ("websocket", "abc")
    with pytest.raises(HandshakeError) as info:
        check_request("POST", {"transport": "bogus", "sid": "abc"})
    assert info.value.code == 0


def test_handshake_error_messages() -> None:
    assert HandshakeError(0).message == "Transport unknown"
    assert HandshakeError(2).message == "Bad handshake method"
    assert HandshakeError(5).message == "Unsupported protocol version"
    assert (HandshakeError(4).status, HandshakeError(3).status) == (403, 400)


# ------------------------------------------------------------------------------ R4 and properties


def test_large_payloads_decode_or_fail_cleanly() -> None:
    """R4: large bodies decode, adversarial ones raise RemoteProtocolError (timings are in
    bench/micro_codecs.py)."""
    many = SEPARATOR.join(["4x"] * 200_000)
    big_binary = "b" + base64.b64encode(b"\xff" * 750_000).decode()
    assert len(decode_payload(many)) == 200_000
    assert decode_payload(big_binary) == [(EioType.MESSAGE, b"\xff" * 750_000)]
    assert decode_payload("4" + "x" * 1_000_000) == [(EioType.MESSAGE, "x" * 1_000_000)]
    for body in (SEPARATOR * 1_000_000, "b" + "!" * 1_000_000, "9" * 1_000_000):
        with pytest.raises(RemoteProtocolError):
            decode_payload(body)


PACKET = st.one_of(
    st.binary(max_size=32),
    st.builds(
        lambda kind, text: str(int(kind)) + text,
        st.sampled_from(list(EioType)),
        st.text(st.characters(exclude_characters=SEPARATOR), max_size=20),
    ),
)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(PACKET, min_size=1, max_size=8))
def test_payload_round_trip(packets: list[str | bytes]) -> None:
    decoded = decode_payload(encode_payload(packets))
    assert [encode_ws(p) for p in decoded] == packets
    assert decoded == [decode_packet(p) for p in packets]


RANDOM_BODY = st.text(max_size=60) | st.lists(
    st.sampled_from(["4a", "b", "bAQ==", "b!", "2", "", "x", "7", "\x1e", "bAQIDBA", "0{}"])
).map("".join)


@settings(max_examples=examples(400), deadline=None)
@given(RANDOM_BODY)
def test_random_bodies_raise_only_remote_protocol_error(body: str) -> None:
    try:
        packets = decode_payload(body, max_packets=8)
    except RemoteProtocolError:
        return
    assert 1 <= len(packets) <= 8
    for kind, data in packets:
        assert isinstance(kind, EioType)
        assert isinstance(data, (str, bytes))


@settings(max_examples=examples(200), deadline=None)
@given(st.text(max_size=30) | st.binary(max_size=30))
def test_random_packets_raise_only_remote_protocol_error(data: str | bytes) -> None:
    try:
        decode_packet(data)
    except RemoteProtocolError:
        pass


QUERY_PART = st.text(st.sampled_from("aZ09=&+%-_.~;é/ ?#") | st.characters(), max_size=30)


@settings(max_examples=examples(400), deadline=None)
@given(QUERY_PART | st.sampled_from([
    "EIO=4&transport=polling&sid=abc", "a=1&a=2", "a&b=&=c", "x=%41%zz%E2%9C%93+y", "&&", "=",
    "k=v=w", "%2B=+", "a=%ff"]))
def test_parse_query_matches_urllib(qs: str) -> None:
    assert eio.parse_query(qs) == dict(parse_qsl(qs, keep_blank_values=True))
