"""Socket.IO v5 packet codec against the Node reference (socket.io-parser) vectors."""

from __future__ import annotations

from typing import Any

import pytest
from _vectors import canon, examples, from_j, ids, load, to_j
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socketwire.exceptions import LocalProtocolError, RemoteProtocolError
from socketwire.protocol import sio
from socketwire.protocol.sio import (
    RESERVED_EVENTS,
    SioDecoder,
    SioPacket,
    SioType,
    decode_text,
    encode_event,
    encode_packet,
    has_binary,
)

V = load("sio_packets.json")

BINARY = (SioType.BINARY_EVENT, SioType.BINARY_ACK)
TEXT_OF = {SioType.BINARY_EVENT: SioType.EVENT, SioType.BINARY_ACK: SioType.ACK}


def wire_of(vector: dict[str, Any]) -> list[str | bytes]:
    return [m if isinstance(m, str) else from_j(m) for m in vector["wire"]]


def packet_of(obj: dict[str, Any]) -> SioPacket:
    """The reference's decoded object as a SioPacket (binary packets come out as 2 / 3)."""
    return SioPacket(SioType(obj["type"]), obj["nsp"], from_j(obj.get("data")), obj.get("id"))


def object_of(packet: SioPacket) -> dict[str, Any]:
    """A SioPacket in the reference's JSON-able form (socket.io-parser reports 5/6 as 2/3)."""
    out: dict[str, Any] = {"type": int(TEXT_OF.get(packet.type, packet.type)), "nsp": packet.nsp}
    if packet.id is not None:
        out["id"] = packet.id
    if packet.data is not None:
        out["data"] = to_j(packet.data)
    return out


def feed_all(messages: list[str | bytes], max_attachments: int = 10) -> list[SioPacket]:
    """Feed messages one by one; a binary packet yields nothing until its last attachment."""
    decoder = SioDecoder(max_attachments)
    out: list[SioPacket] = []
    for message in messages:
        packet = decoder.feed(message)
        if packet is not None:
            out.append(packet)
    assert not decoder.waiting
    return out


def assert_vector(vector: dict[str, Any]) -> None:
    """decode(wire) == object, attachment by attachment, and encode(object) == wire."""
    wire = wire_of(vector)
    expected = vector["object"]
    header = wire[0]
    assert isinstance(header, str)

    decoder = SioDecoder()
    for attachment_index, message in enumerate(wire[:-1]):
        assert decoder.feed(message) is None, f"packet completed early at {attachment_index}"
        assert decoder.waiting
    decoded = decoder.feed(wire[-1])
    assert decoded is not None
    assert not decoder.waiting
    assert canon(object_of(decoded)) == canon(expected)
    assert (decoded.type in BINARY) == (header[0] in "56")
    assert (len(wire) > 1) == (decoded.type in BINARY)

    assert encode_packet(packet_of(expected)) == wire
    assert encode_packet(decoded) == wire  # BINARY_* packets encode the same way


@pytest.mark.parametrize("vector", V["valid"], ids=ids(V["valid"]))
def test_valid_vectors(vector: dict[str, Any]) -> None:
    assert_vector(vector)


TEXT_EVENTS = [
    v for v in V["valid"] if v["object"]["type"] == SioType.EVENT and len(v["wire"]) == 1
]


@pytest.mark.parametrize("vector", TEXT_EVENTS, ids=ids(TEXT_EVENTS))
def test_encode_event_fast_path(vector: dict[str, Any]) -> None:
    obj = vector["object"]
    assert encode_event(obj["nsp"], from_j(obj["data"]), obj.get("id")) == vector["wire"][0]
    assert encode_event(obj["nsp"], tuple(from_j(obj["data"])), obj.get("id")) == vector["wire"][0]


@pytest.mark.parametrize("vector", V["decode_only"], ids=ids(V["decode_only"]))
def test_decode_only_vectors(vector: dict[str, Any]) -> None:
    got = feed_all(wire_of(vector))
    assert [canon(object_of(p)) for p in got] == [canon(o) for o in vector["objects"]]


def assert_rejected(messages: list[str | bytes], error_at: int | None) -> None:
    """Feeding raises RemoteProtocolError (only that) at message ``error_at`` (any, if None)."""
    decoder = SioDecoder()
    for index, message in enumerate(messages):
        if error_at is not None and index < error_at:
            decoder.feed(message)
            continue
        try:
            decoder.feed(message)
        except RemoteProtocolError:
            assert error_at is None or index == error_at
            assert not decoder.waiting
            return
        assert error_at is None, f"accepted message {index}"
    pytest.fail("no RemoteProtocolError")


@pytest.mark.parametrize("vector", V["invalid"], ids=ids(V["invalid"]))
def test_invalid_vectors(vector: dict[str, Any]) -> None:
    assert_rejected(wire_of(vector), vector["error_at"])


@pytest.mark.parametrize("vector", V["lenient"], ids=ids(V["lenient"]))
def test_reference_lenient_inputs_are_rejected(vector: dict[str, Any]) -> None:
    """The reference accepts these; socketwire rejects them on purpose (see "reason")."""
    assert vector["reason"]
    assert_rejected(wire_of(vector), None)


def test_vector_files_cover_the_brief() -> None:
    valid = V["valid"]
    assert any(v["object"].get("id") == 0 for v in valid)
    assert any(v["object"].get("id", 0) > 2**31 for v in valid)
    assert any(len(v["wire"]) > 3 for v in valid)
    assert any(v["object"]["type"] == SioType.ACK and v["object"]["data"] == [] for v in valid)
    assert any(v["object"]["type"] == SioType.CONNECT and "data" in v["object"] for v in valid)
    assert any(v["object"]["type"] == SioType.CONNECT and "data" not in v["object"] for v in valid)
    assert any(
        v["object"]["type"] == SioType.CONNECT_ERROR and "data" in v["object"].get("data", "")
        for v in valid
    )
    assert len(V["invalid"]) > 50


# ------------------------------------------------------------------------------ decoder details


def test_decode_text_returns_attachment_count() -> None:
    packet, attachments = decode_text('52-/admin,7["a",{"_placeholder":true,"num":1}]')
    assert attachments == 2
    assert packet == SioPacket(
        SioType.BINARY_EVENT, "/admin", ["a", {"_placeholder": True, "num": 1}], 7
    )


def test_max_attachments_is_configurable() -> None:
    header = '53-["a",{"_placeholder":true,"num":0}]'
    with pytest.raises(RemoteProtocolError):
        SioDecoder(max_attachments=2).feed(header)
    decoder = SioDecoder(max_attachments=3)
    assert decoder.feed(header) is None
    assert decoder.feed(b"1") is None
    assert decoder.feed(b"2") is None
    assert decoder.feed(b"3") == SioPacket(SioType.BINARY_EVENT, "/", ["a", b"1"])


def test_reset_drops_a_pending_packet() -> None:
    decoder = SioDecoder()
    assert decoder.feed('51-["a",{"_placeholder":true,"num":0}]') is None
    assert decoder.waiting
    decoder.reset()
    assert not decoder.waiting
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"late")
    assert decoder.feed('2["b"]') == SioPacket(SioType.EVENT, "/", ["b"])


def test_attachments_accept_bytes_like_and_return_bytes() -> None:
    decoder = SioDecoder()
    decoder.feed('52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
    decoder.feed(bytearray(b"x"))
    packet = decoder.feed(memoryview(b"y"))
    assert packet is not None
    assert packet.data == ["a", b"x", b"y"]
    assert all(type(b) is bytes for b in packet.data[1:])


def test_decoder_is_reusable_after_each_packet() -> None:
    decoder = SioDecoder()
    for i in range(3):
        assert decoder.feed(f'5{1}-/n,{i}["e",{{"_placeholder":true,"num":0}}]') is None
        got = decoder.feed(bytes([i]))
        assert got == SioPacket(SioType.BINARY_EVENT, "/n", ["e", bytes([i])], i)
        assert decoder.feed(f'2["t",{i}]') == SioPacket(SioType.EVENT, "/", ["t", i])


def test_ack_id_digit_cap() -> None:
    assert decode_text('29007199254740991["a"]')[0].id == 2**53 - 1
    assert decode_text('29999999999999999["a"]')[0].id == 9999999999999999  # 16 digits
    with pytest.raises(RemoteProtocolError):
        decode_text('212345678901234567["a"]')  # 17 digits


# ------------------------------------------------------------------------------ encoder details


def test_encoder_switches_to_binary_types() -> None:
    assert encode_packet(SioPacket(SioType.EVENT, "/", ["a", b"\x01"], 3)) == [
        '51-3["a",{"_placeholder":true,"num":0}]',
        b"\x01",
    ]
    assert encode_packet(SioPacket(SioType.ACK, "/x", [(b"", bytearray(b"z"))], 0)) == [
        '62-/x,0[[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]]',
        b"",
        b"z",
    ]


def test_encoder_accepts_tuples_and_memoryviews() -> None:
    assert encode_packet(SioPacket(SioType.EVENT, "/", ("a", (1, 2)))) == ['2["a",[1,2]]']
    out = encode_packet(SioPacket(SioType.EVENT, "/", ["a", {"k": memoryview(b"mv")}]))
    assert out == ['51-["a",{"k":{"_placeholder":true,"num":0}}]', b"mv"]
    assert type(out[1]) is bytes


def test_encoder_leaves_connect_and_disconnect_alone() -> None:
    assert encode_packet(SioPacket(SioType.CONNECT)) == ["0"]
    assert encode_packet(SioPacket(SioType.DISCONNECT, "/admin")) == ["1/admin,"]
    assert encode_packet(SioPacket(SioType.CONNECT, "/admin", {"sid": "x"})) == [
        '0/admin,{"sid":"x"}'
    ]


def test_binary_types_without_bytes_encode_as_text_packets() -> None:
    """socket.io-parser refuses an attachment count of 0, so never send "50-"."""
    assert encode_packet(SioPacket(SioType.BINARY_EVENT, "/", ["a"])) == ['2["a"]']
    assert encode_packet(SioPacket(SioType.BINARY_ACK, "/x", [], 1)) == ["3/x,1[]"]


def test_bytes_nested_deep_are_found() -> None:
    """socket.io-parser's hasBinary has no depth limit; socketwire goes as deep as orjson."""
    value: Any = b"deep"
    for _ in range(200):
        value = [value]
    assert has_binary(value)
    wire = encode_packet(SioPacket(SioType.EVENT, "/", ["e", value]))
    assert wire[0].startswith("51-") and wire[1:] == [b"deep"]
    (decoded,) = feed_all(wire)
    assert decoded.data == ["e", value]


def test_has_binary() -> None:
    assert not has_binary(["a", 1, None, {"b": [True, "c"]}])
    assert has_binary(["a", {"b": [1, b""]}])
    assert has_binary(bytearray())
    assert has_binary(({"x": memoryview(b"1")},))


def test_check_event_name() -> None:
    for name in RESERVED_EVENTS:
        with pytest.raises(LocalProtocolError):
            sio.check_event_name(name)
    sio.check_event_name("message")
    sio.check_event_name("Connect")


def test_reserved_events_match_the_reference() -> None:
    assert RESERVED_EVENTS == {
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    }


# ------------------------------------------------------------------------------ R4: linear time


def _rejects(text: str) -> None:
    with pytest.raises(RemoteProtocolError):
        SioDecoder().feed(text)


MB = 1_000_000
ADVERSARIAL = {
    "binary count of 1e6 nines": "5" + "9" * MB,
    "namespace of 1e6 chars, no comma": "2/" + "a" * MB,
    "1e5-deep [[[": "2" + "[" * 100_000,
    "1e5-deep {: in a binary header": "51-" + '{"a":' * 100_000,
    "ack id of 1e6 digits": "2" + "1" * MB + '["a"]',
    "ack id of 1e6 digits, no payload": "2" + "1" * MB,
    "1e5-deep [[[ after an ack id and namespace": "2/a,1" + "[" * 100_000,
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_input_is_rejected(text: str) -> None:
    """R4: each is rejected with RemoteProtocolError (never RecursionError). How long that
    takes next to a benign 1 MB packet is measured by bench/micro_codecs.py, not here."""
    _rejects(text)


@pytest.mark.parametrize("depth", [100, 500, 1000, 1020])
def test_deep_binary_payload_within_the_json_limit(depth: int) -> None:
    """Nesting that the JSON parser accepts must not overflow the placeholder walk."""
    header = '51-["deep",' + "[" * depth + '{"_placeholder":true,"num":0}' + "]" * depth + "]"
    decoder = SioDecoder()
    assert decoder.feed(header) is None
    packet = decoder.feed(b"\x00")
    assert packet is not None
    value = packet.data[1]
    for _ in range(depth):
        assert isinstance(value, list) and len(value) == 1
        value = value[0]
    assert value == b"\x00"


@pytest.mark.parametrize("depth", [1000, 1020])
def test_deep_binary_payload_with_a_bad_placeholder(depth: int) -> None:
    header = '51-["deep",' + '{"k":' * depth + '{"_placeholder":true,"num":1}' + "}" * depth + "]"
    decoder = SioDecoder()
    assert decoder.feed(header) is None
    with pytest.raises(RemoteProtocolError):
        decoder.feed(b"\x00")


# ------------------------------------------------------------------------------ properties

JSON_SAFE_INT = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
KEY = TEXT.filter(lambda k: k != "_placeholder")
LEAF = (
    st.none()
    | st.booleans()
    | JSON_SAFE_INT
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
    | st.binary(max_size=16)
)
VALUE = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEY, inner, max_size=4),
    max_leaves=12,
)
EVENT_NAME = TEXT.filter(lambda n: n not in RESERVED_EVENTS) | JSON_SAFE_INT
NSP = st.just("/") | st.text(
    st.characters(exclude_characters=",", exclude_categories=("Cs",)), min_size=1, max_size=8
).map(lambda s: "/" + s)
ACK_ID = st.none() | st.integers(min_value=0, max_value=2**53 - 1)


def _same(a: Any, b: Any) -> bool:
    return canon(a) == canon(b)


def _check_attachment_limit(wire: list[str | bytes]) -> None:
    """Like socket.io-parser, the encoder does not cap attachments; the default decoder (and
    every Node peer) refuses more than 10."""
    if len(wire) > 11:
        with pytest.raises(RemoteProtocolError):
            feed_all(wire)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nsp=NSP, name=EVENT_NAME, args=st.lists(VALUE, max_size=4), ack_id=ACK_ID)
def test_event_round_trip(nsp: str, name: str | int, args: list[Any], ack_id: int | None) -> None:
    packet = SioPacket(SioType.EVENT, nsp, [name, *args], ack_id)
    wire = encode_packet(packet)
    assert isinstance(wire[0], str)
    assert all(isinstance(b, bytes) for b in wire[1:])
    _check_attachment_limit(wire)
    (decoded,) = feed_all(wire, max_attachments=len(wire))
    assert decoded.type == (SioType.BINARY_EVENT if len(wire) > 1 else SioType.EVENT)
    assert (decoded.nsp, decoded.id) == (nsp, ack_id)
    assert _same(decoded.data, packet.data)
    assert encode_packet(decoded) == wire


@settings(max_examples=examples(150), deadline=None)
@given(nsp=NSP, args=st.lists(VALUE, max_size=4), ack_id=st.integers(0, 2**53 - 1))
def test_ack_round_trip(nsp: str, args: list[Any], ack_id: int) -> None:
    wire = encode_packet(SioPacket(SioType.ACK, nsp, args, ack_id))
    _check_attachment_limit(wire)
    (decoded,) = feed_all(wire, max_attachments=len(wire))
    assert decoded.type == (SioType.BINARY_ACK if len(wire) > 1 else SioType.ACK)
    assert (decoded.nsp, decoded.id) == (nsp, ack_id)
    assert _same(decoded.data, args)


MESSAGE = st.text(max_size=40) | st.binary(max_size=8)
HEADERISH = st.from_regex(r"\A[0-79a ]?([0-9]{0,3}-)?(/[a-z,]{0,3},?)?[0-9]{0,4}", fullmatch=True)
JSONISH = st.sampled_from(
    ['["a"]', "[]", "{}", '["connect"]', '{"_placeholder":true,"num":0}', "[", "null", '"x"', "1"]
)
STRUCTURED = st.builds(lambda h, j: h + j, HEADERISH, JSONISH | st.text(max_size=10))


@settings(max_examples=examples(400), deadline=None)
@given(st.lists(MESSAGE | STRUCTURED, max_size=6))
def test_random_input_raises_only_remote_protocol_error(messages: list[str | bytes]) -> None:
    decoder = SioDecoder()
    for message in messages:
        try:
            decoder.feed(message)
        except RemoteProtocolError:
            decoder = SioDecoder()


def _outcome(text: str) -> Any:
    try:
        packet, attachments = decode_text(text)
    except RemoteProtocolError:
        return "refused"
    return packet.type, packet.data, packet.id, attachments


TAIL = st.text(st.sampled_from('0123456789²٣ []{}"a,connect-'), max_size=24)


@settings(max_examples=examples(400), deadline=None)
@given(tail=TAIL | st.builds(lambda i, j: i + j, st.integers(0, 10**18).map(str), JSONISH))
def test_event_fast_path_decodes_as_the_general_path(tail: str) -> None:
    """A packet on "/" starting with "2" takes the fast path; the same packet on another
    namespace takes the general one: both accept and refuse alike."""
    assert _outcome("2" + tail) == _outcome("2/n," + tail)


@pytest.mark.parametrize(("text", "expected"), [
    ('2["a"]', (SioType.EVENT, ["a"], None, 0)),
    ('221["a",1]', (SioType.EVENT, ["a", 1], 21, 0)),
    ('2007["a"]', (SioType.EVENT, ["a"], 7, 0)),
    ('2[1]', (SioType.EVENT, [1], None, 0)),
    ("2" + "9" * 16 + '["a"]', (SioType.EVENT, ["a"], int("9" * 16), 0)),
    ("2" + "9" * 17 + '["a"]', "refused"),
    ('2²["a"]', "refused"),
    ('2 ["a"]', "refused"),
    ('2["connect"]', "refused"),
    ("2[]", "refused"),
    ("2[", "refused"),
    ('21{"a":1}', "refused"),
])
def test_event_fast_path_edges(text: str, expected: Any) -> None:
    assert _outcome(text) == expected


def _routed(decoder: SioDecoder, message: str | bytes) -> Any:
    """What ServerConnection.on_message gets: the hot path first, then feed."""
    try:
        event = decoder.main_event(message)
        if event is not None:
            return SioType.EVENT, "/", event[0], event[1]
        packet = decoder.feed(message)
    except RemoteProtocolError:
        return "refused"
    return None if packet is None else (packet.type, packet.nsp, packet.data, packet.id)


def _fed(decoder: SioDecoder, message: str | bytes) -> Any:
    try:
        packet = decoder.feed(message)
    except RemoteProtocolError:
        return "refused"
    return None if packet is None else (packet.type, packet.nsp, packet.data, packet.id)


@settings(max_examples=examples(400), deadline=None)
@given(st.lists(MESSAGE | STRUCTURED | TAIL.map(lambda t: "2" + t), max_size=8))
def test_main_event_then_feed_decodes_as_feed_alone(messages: list[str | bytes]) -> None:
    """The decoder's hot path (main_event, then feed when it declines) gives every message
    the outcome feed alone gives it, attachments pending or not."""
    fast, plain = SioDecoder(), SioDecoder()
    for message in messages:
        outcome = _routed(fast, message)
        assert outcome == _fed(plain, message)
        if outcome == "refused":
            fast, plain = SioDecoder(), SioDecoder()


def test_main_event_declines_while_attachments_are_awaited() -> None:
    decoder = SioDecoder()
    assert decoder.main_event('2["a",1]') == (["a", 1], None)
    assert decoder.main_event('23["a"]') == (["a"], 3)
    assert decoder.feed('51-["a",{"_placeholder":true,"num":0}]') is None
    assert decoder.main_event('2["a"]') is None  # feed refuses it: text while waiting
    with pytest.raises(RemoteProtocolError):
        decoder.feed('2["a"]')
    assert decoder.main_event(b"\x01") is None  # bytes are never the hot path
    assert decoder.main_event('2/chat,["a"]') is None
    assert decoder.main_event('3["a"]') is None
