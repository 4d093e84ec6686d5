"""The cluster message codec against vectors made by the Node adapters themselves
(tools/gen_cluster_vectors.mjs -> tests/vectors/cluster_messages.json), both directions."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from _vectors import canon, from_j, load
from hypothesis import given
from hypothesis import strategies as st

from socketwire.exceptions import RemoteProtocolError
from socketwire.protocol.cluster import (
    MessageType,
    decode_message,
    decode_session,
    decode_stream_entry,
    encode_message,
    encode_session,
    encode_stream_entry,
    hash_code,
    pack,
    packet_from_wire,
    packet_to_wire,
    stream_name,
    unpack,
)
from socketwire.protocol.sio import SioPacket, SioType

V = load("cluster_messages.json")


def real(case: dict[str, Any]) -> dict[str, Any]:
    """The case's message with the adapter's real uid back in place of "UID"."""
    message: dict[str, Any] = from_j(case["message"])
    message["uid"] = case["uid"]
    return message


@pytest.mark.parametrize("case", V["sharded"], ids=lambda c: f'{c["mode"]}: {c["name"]}')
def test_sharded_payloads_both_ways(case: dict[str, Any]) -> None:
    payload = base64.b64decode(case["payload"])
    message = real(case)
    assert (payload[0] == ord("{")) is case["json"]
    assert canon(decode_message(payload)) == canon(message)
    assert encode_message(message) == payload  # byte for byte


@pytest.mark.parametrize("case", V["streams"], ids=lambda c: c["name"])
def test_streams_entries_and_pubsub_payloads_both_ways(case: dict[str, Any]) -> None:
    message = real(case)
    if case["cmd"] == "XADD":
        fields = dict(case["fields"], uid=case["uid"])
        assert case["stream"] == "socket.io"
        assert encode_stream_entry(message) == fields
        assert canon(decode_stream_entry(fields)) == canon(message)
    else:  # transient messages: raw msgpack of the whole message
        payload = base64.b64decode(case["payload"])
        assert pack(message) == payload
        assert canon(unpack(payload)) == canon(message)
        assert canon(decode_message(payload)) == canon(message)


def test_which_streams_messages_are_transient() -> None:
    transient = {(c["name"]) for c in V["streams"] if c["cmd"] != "XADD"}
    assert transient == {
        "broadcast with ack", "remote socket emit with ack", "fetch sockets",
        "server side emit", "server side emit with ack", "server side emit with binary",
        "fetch sockets response", "fetch sockets response with binary data",
        "server side emit response", "server side emit response with binary",
        "broadcast client count", "broadcast ack", "broadcast ack with binary",
    }


def test_session_both_ways() -> None:
    case = V["session"]
    assert encode_session(case["session"]) == case["value"]
    assert decode_session(case["value"]) == case["session"]
    assert case["key"] == "sio:session:PPPPPPPPPPPPPPPPPPPP" and case["px"] == 120000


@pytest.mark.parametrize("case", V["msgpack"], ids=lambda c: c["name"])
def test_raw_msgpack_of_both_node_packages(case: dict[str, Any]) -> None:
    if "decode_only" in case:
        assert unpack(base64.b64decode(case["decode_only"])) == from_j(case["check"])
        return
    notepack = base64.b64decode(case["notepack"])
    msgpack = base64.b64decode(case["msgpack"])
    value = from_j(case["value"])
    if case["name"] == "a date":  # a JavaScript Date: a timestamp, read as Date.toJSON()
        assert unpack(notepack) == unpack(msgpack) == {"when": "2026-12-01T08:00:00.250Z"}
        return
    if case["name"] == "undefined member":  # notepack drops it, @msgpack/msgpack writes nil
        assert unpack(notepack) == value
        assert unpack(msgpack) == {**value, "dropped": None}
        assert pack(value) == notepack
        return
    assert canon(unpack(notepack)) == canon(value)
    assert canon(unpack(msgpack)) == canon(value)
    assert pack(value) == notepack == msgpack


@pytest.mark.parametrize("case", V["hashes"], ids=lambda c: c["nsp"])
def test_stream_names_and_hash_codes(case: dict[str, Any]) -> None:
    assert hash_code(case["nsp"]) == case["hash"]
    for count, name in case["streams"].items():
        assert stream_name("socket.io", int(count), case["nsp"]) == name


def test_packets_on_the_wire() -> None:
    packet = SioPacket(SioType.EVENT, "/chat", ["ev", b"\x00", {"a": 1}], 7)
    assert packet_to_wire(packet) == {"type": 2, "data": ["ev", b"\x00", {"a": 1}]}
    back = packet_from_wire({"type": 2, "data": ["ev", 1]}, "/chat")
    assert back == SioPacket(SioType.EVENT, "/chat", ["ev", 1])
    assert packet_from_wire({"type": 5, "data": ["ev", b"x"]}, "/") is not None
    for bad in (None, [], {"type": 3, "data": ["x"]}, {"type": 2}, {"type": 2, "data": []},
                {"type": 2, "data": "x"}):
        assert packet_from_wire(bad, "/") is None


@pytest.mark.parametrize("payload", [
    b"", b"{", b"{}", b'{"type": "3"}', b'{"type": 3, "uid": 1}', b"[1,2]", b"\xc1",
    pack([1, 2]), pack({"type": True}), b"\x92\x01",
])
def test_invalid_payloads_raise_remote_protocol_error(payload: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_message(payload)


def test_invalid_stream_entries_and_sessions_raise() -> None:
    for fields in ({"type": "x"}, {"type": "3", "data": "not base64!"},
                   {"type": "3", "data": "{broken"}, {}):
        with pytest.raises(RemoteProtocolError):
            decode_stream_entry(fields)
    for text in ("***", base64.b64encode(pack([1])).decode(), base64.b64encode(b"\xc1").decode()):
        with pytest.raises(RemoteProtocolError):
            decode_session(text)


def test_message_types_are_nodes_numbering() -> None:
    assert [(t.name, t.value) for t in MessageType][:3] == [
        ("INITIAL_HEARTBEAT", 1), ("HEARTBEAT", 2), ("BROADCAST", 3)]
    assert MessageType.ADAPTER_CLOSE == 13 and len(MessageType) == 13


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values, st.booleans())
def test_any_broadcast_round_trips(value: Any, binary: bool) -> None:
    data = ["ev", value, b"\x01"] if binary else ["ev", value]
    message = {"uid": "u", "nsp": "/", "type": 3,
               "data": {"packet": {"type": 2, "data": data}, "opts": {"rooms": [], "except": [],
                                                                       "flags": {}}}}
    assert decode_message(encode_message(message)) == message  # type: ignore[arg-type]
    entry = encode_stream_entry(message)  # type: ignore[arg-type]
    assert decode_stream_entry(entry) == message


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_remote_protocol_error(payload: bytes) -> None:
    try:
        message = decode_message(payload)
    except RemoteProtocolError:
        return
    assert isinstance(message, dict) and isinstance(message["type"], int)


@given(st.dictionaries(st.sampled_from(["uid", "nsp", "type", "data"]),
                       st.text(max_size=20), max_size=4))
def test_any_stream_fields_decode_or_raise(fields: dict[str, str]) -> None:
    try:
        decode_stream_entry(fields)
    except RemoteProtocolError:
        pass


@pytest.mark.parametrize("kind", ["\u00b2", "\u0663", "", "-", "3.0", " 3"])
def test_stream_entry_types_that_are_not_ascii_integers_are_refused(kind: str) -> None:
    # "\u00b2".isdigit() is true but int() refuses it (found by the hypothesis test above)
    with pytest.raises(RemoteProtocolError):
        decode_stream_entry({"uid": "x", "nsp": "/", "type": kind})


def test_deeply_nested_payloads_are_refused_not_crashing() -> None:
    deep = b"\x91" * 100_000 + b"\xc0"  # 100 000 nested arrays
    with pytest.raises(RemoteProtocolError):
        decode_message(deep)
    with pytest.raises(RemoteProtocolError):
        decode_message(b"{" + b'"a":[' * 100_000)
