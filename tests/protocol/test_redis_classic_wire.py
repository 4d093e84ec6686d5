"""socketwire.protocol.redis_classic: channel names, flags and message shapes as Node's classic
adapter and emitter write them (the bytes themselves are checked against Node in
tests/cluster/test_cluster_emitter.py and test_cluster_classic.py)."""

from __future__ import annotations

import orjson

from socketwire.protocol import notepack
from socketwire.protocol import redis_classic as wire


def test_channels() -> None:
    ch = wire.Channels.of("socket.io", "/chat", "abc123")
    assert ch.broadcast == "socket.io#/chat#"
    assert ch.pattern == "socket.io#/chat#*"
    assert ch.request == "socket.io-request#/chat#"
    assert ch.response == "socket.io-response#/chat#"
    assert ch.specific_response == "socket.io-response#/chat#abc123#"
    assert ch.for_rooms(["r"]) == "socket.io#/chat#r#"
    assert ch.for_rooms([]) == ch.for_rooms(["a", "b"]) == "socket.io#/chat#"
    assert ch.room_of("socket.io#/chat#r#") == "r"
    assert ch.room_of("socket.io#/chat#") == ""
    assert ch.room_of("socket.io#/chat#with#hash#") == "with#hash"
    assert ch.room_of("socket.io#/#r#") is None
    assert len(wire.new_uid()) == 6 and wire.new_uid().isalnum()


def test_flags_both_ways() -> None:
    assert wire.flags_to_wire() == {}
    assert wire.flags_to_wire(volatile=True, compress=False, timeout=1.5) == {
        "volatile": True, "compress": False, "timeout": 1500}
    assert wire.flags_to_wire(expect_single_response=True) == {"expectSingleResponse": True}
    assert wire.flags_from_wire({"volatile": True, "timeout": 2500, "broadcast": True}) == {
        "volatile": True, "timeout": 2.5}
    assert wire.flags_from_wire({"timeout": "x", "compress": False}) == {"compress": False}
    assert wire.flags_from_wire(None) == {}


def test_broadcast_round_trip_and_bad_shapes() -> None:
    payload = wire.encode_broadcast("u1", ["ev", b"\x01"], "/", ["r"], ["e"], {"volatile": True})
    assert notepack.loads(payload) == ["u1", {"type": 2, "data": ["ev", b"\x01"], "nsp": "/"},
                                       {"rooms": ["r"], "except": ["e"],
                                        "flags": {"volatile": True}}]
    msg = wire.decode_broadcast(payload)
    assert msg is not None and msg.rooms == {"r"} and msg.except_rooms == {"e"}
    # numeric rooms from a JavaScript server become their string
    js = notepack.dumps(["x", {"type": 2, "data": ["e"]}, {"rooms": [1, 2.5], "except": [3.0]}])
    msg = wire.decode_broadcast(js)
    assert msg is not None and msg.nsp == "/" and msg.rooms == {"1", "2.5"}
    assert msg.except_rooms == {"3"}
    for bad in (b"\xc1", notepack.dumps(1), notepack.dumps(["u"]),
                notepack.dumps(["u", {"data": []}]), notepack.dumps(["u", "packet"])):
        assert wire.decode_broadcast(bad) is None


def test_requests() -> None:
    ack = wire.encode_broadcast_ack_request("u1", "req1", ["ev"], "/", [], [], {"timeout": 500})
    assert notepack.loads(ack) == {"uid": "u1", "requestId": "req1", "type": 7,
                                   "packet": {"type": 2, "data": ["ev"], "nsp": "/"},
                                   "opts": {"rooms": [], "except": [], "flags": {"timeout": 500}}}
    assert notepack.loads(wire.encode_broadcast_ack("req1", ["a", "b"])) == {
        "type": 9, "requestId": "req1", "packet": "a"}  # the first argument, as Node
    assert notepack.loads(wire.encode_broadcast_ack("req1", [])) == {"type": 9,
                                                                    "requestId": "req1"}
    assert wire.decode_request(orjson.dumps({"type": 1})) == {"type": 1}
    assert wire.decode_request(ack) is not None
    assert wire.decode_request(b"[1]") is None and wire.decode_request(b"{x") is None
    assert wire.target_of({"opts": {"rooms": ["a"], "except": ["b", 5]}}) == (
        frozenset({"a"}), frozenset({"b", "5"}))
    assert wire.target_of({"opts": "nope"}) == (frozenset(), frozenset())
    assert wire.rooms_of("r") == ["r"] and wire.rooms_of(["a", None, 1]) == ["a", "1"]
