"""The socket.io-protocol suite's 32 cases, against the Socket.IO conformance server (R33).

The first 16 are the suite's Engine.IO part (handshake, heartbeat, close, upgrade) on
``/socket.io/``; the other 16 its Socket.IO part. Targets: socketwire (standalone and ASGI)
and the Node reference; see ``conftest.py``.

Where the official case relies on the 300 ms + 200 ms heartbeat to see a close, the case here
shows that the close came from the rule under test: either nothing (no ping) arrives before
the close, or the client answers every ping so only the rule can close the session.
"""

from __future__ import annotations

import json

import eio_cases as c
from rawpeer import WS, Peer

# ------------------------------------------------------ Engine.IO part: handshake


async def test_should_open_a_polling_session(sio: Peer) -> None:
    await c.polling_handshake_opens(sio)


async def test_should_fail_polling_with_invalid_eio(sio: Peer) -> None:
    await c.polling_handshake_bad_eio(sio)


async def test_should_fail_polling_with_invalid_transport(sio: Peer) -> None:
    await c.polling_handshake_bad_transport(sio)


async def test_should_fail_polling_with_invalid_method(sio: Peer) -> None:
    await c.polling_handshake_bad_method(sio)


async def test_should_open_a_websocket_session(sio: Peer) -> None:
    await c.ws_handshake_opens(sio)


async def test_should_fail_websocket_with_invalid_eio(sio: Peer) -> None:
    await c.ws_handshake_bad_eio(sio)


async def test_should_fail_websocket_with_invalid_transport(sio: Peer) -> None:
    await c.ws_handshake_bad_transport(sio)


# ------------------------------------------------------ Engine.IO part: heartbeat


async def test_should_send_polling_ping_pong(sio: Peer) -> None:
    await c.polling_ping_pong(sio, echo=False)


async def test_should_close_polling_upon_ping_timeout(sio: Peer) -> None:
    await c.polling_ping_timeout(sio)


async def test_should_send_websocket_ping_pong(sio: Peer) -> None:
    await c.ws_ping_pong(sio, echo=False)


async def test_should_close_websocket_upon_ping_timeout(sio: Peer) -> None:
    await c.ws_ping_timeout(sio)


# ---------------------------------------------------------- Engine.IO part: close


async def test_should_forcefully_close_polling_session(sio: Peer) -> None:
    await c.polling_client_close(sio)


async def test_should_forcefully_close_websocket_session(sio: Peer) -> None:
    await c.ws_client_close(sio)


# -------------------------------------------------------- Engine.IO part: upgrade


async def test_should_upgrade_from_polling_to_websocket(sio: Peer) -> None:
    await c.upgrade_succeeds(sio, echo=False)


async def test_should_ignore_http_requests_with_same_sid(sio: Peer) -> None:
    await c.upgrade_then_polling_refused(sio, echo=False)


async def test_should_ignore_websocket_with_same_sid(sio: Peer) -> None:
    await c.upgrade_then_second_ws_closed(sio, echo=False)


# ---------------------------------------------------------- Socket.IO: connect


def check_connect_reply(reply: str, prefix: str) -> None:
    """A CONNECT reply is ``<prefix>{"sid":"..."}`` with only that key."""
    assert reply.startswith(prefix), reply
    body = json.loads(reply[len(prefix):])
    assert set(body) == {"sid"}
    assert isinstance(body["sid"], str) and body["sid"]


async def connected(sio: Peer) -> WS:
    """A WebSocket session connected to ``/`` (CONNECT reply and ``auth`` read)."""
    ws = await sio.ws()
    check_connect_reply(await ws.sio_connect("40"), "40")
    assert await ws.recv(pong=True) == '42["auth",{}]'
    return ws


async def test_should_allow_connection_to_main_namespace(sio: Peer) -> None:
    ws = await sio.ws()
    check_connect_reply(await ws.sio_connect("40"), "40")
    assert await ws.recv(pong=True) == '42["auth",{}]'


async def test_should_allow_connection_to_main_namespace_with_payload(sio: Peer) -> None:
    ws = await sio.ws()
    check_connect_reply(await ws.sio_connect('40{"token":"123"}'), "40")
    assert await ws.recv(pong=True) == '42["auth",{"token":"123"}]'


async def test_should_allow_connection_to_custom_namespace(sio: Peer) -> None:
    ws = await sio.ws()
    check_connect_reply(await ws.sio_connect("40/custom,"), "40/custom,")
    assert await ws.recv(pong=True) == '42/custom,["auth",{}]'


async def test_should_allow_connection_to_custom_namespace_with_payload(sio: Peer) -> None:
    ws = await sio.ws()
    check_connect_reply(await ws.sio_connect('40/custom,{"token":"abc"}'), "40/custom,")
    assert await ws.recv(pong=True) == '42/custom,["auth",{"token":"abc"}]'


async def test_should_disallow_connection_to_unknown_namespace(sio: Peer) -> None:
    ws = await sio.ws()
    assert await ws.sio_connect("40/random") == '44/random,{"message":"Invalid namespace"}'
    # the Engine.IO connection stays open: "/" can still be joined
    await ws.send("40")
    check_connect_reply(await ws.recv(pong=True), "40")
    assert await ws.recv(pong=True) == '42["auth",{}]'


async def test_should_disallow_connection_with_invalid_handshake(sio: Peer) -> None:
    ws = await sio.ws()
    await ws.open_info()
    await ws.send("4abc")
    assert await ws.closed() == []  # closed at once, not by the heartbeat after a ping


async def test_should_close_connection_if_no_handshake_received(sio: Peer) -> None:
    ws = await sio.ws()
    await ws.open_info()
    # every ping is answered, so only connectTimeout (1 s) can close the session: with a
    # 300 ms ping interval, pings were answered before it did
    seen = await ws.closed(timeout=4, pong=True)
    assert set(seen) == {"2"} and len(seen) >= 2, seen


# ------------------------------------------------------- Socket.IO: disconnect


async def test_should_disconnect_from_main_namespace(sio: Peer) -> None:
    ws = await connected(sio)
    await ws.send("41")
    assert await ws.recv() == "2"  # the Engine.IO session lives on
    await ws.send("3")
    await ws.send("40")  # and "/" can be joined again
    check_connect_reply(await ws.recv(pong=True), "40")
    assert await ws.recv(pong=True) == '42["auth",{}]'


async def test_should_connect_then_disconnect_from_custom_namespace(sio: Peer) -> None:
    ws = await connected(sio)
    assert await ws.recv() == "2"
    await ws.send("3")
    await ws.send("40/custom")
    check_connect_reply(await ws.recv(pong=True), "40/custom,")
    assert await ws.recv(pong=True) == '42/custom,["auth",{}]'
    await ws.send("41/custom")
    await ws.send('42["message","message to main namespace"]')
    assert await ws.recv(pong=True) == '42["message-back","message to main namespace"]'


# ---------------------------------------------------------- Socket.IO: message

PLACEHOLDERS = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}'


async def test_should_send_plain_text_packet(sio: Peer) -> None:
    ws = await connected(sio)
    await ws.send('42["message",1,"2",{"3":[true]}]')
    assert await ws.recv(pong=True) == '42["message-back",1,"2",{"3":[true]}]'


async def test_should_send_packet_with_binary_attachments(sio: Peer) -> None:
    ws = await connected(sio)
    await ws.send(f'452-["message",{PLACEHOLDERS}]')
    await ws.send(bytes([1, 2, 3]))
    await ws.send(bytes([4, 5, 6]))
    assert await ws.recv(pong=True) == f'452-["message-back",{PLACEHOLDERS}]'
    assert await ws.recv(pong=True) == bytes([1, 2, 3])
    assert await ws.recv(pong=True) == bytes([4, 5, 6])


async def test_should_send_plain_text_packet_with_ack(sio: Peer) -> None:
    ws = await connected(sio)
    await ws.send('42456["message-with-ack",1,"2",{"3":[false]}]')
    assert await ws.recv(pong=True) == '43456[1,"2",{"3":[false]}]'


async def test_should_send_packet_with_binary_attachments_and_ack(sio: Peer) -> None:
    ws = await connected(sio)
    await ws.send(f'452-789["message-with-ack",{PLACEHOLDERS}]')
    await ws.send(bytes([1, 2, 3]))
    await ws.send(bytes([4, 5, 6]))
    assert await ws.recv(pong=True) == f"462-789[{PLACEHOLDERS}]"
    assert await ws.recv(pong=True) == bytes([1, 2, 3])
    assert await ws.recv(pong=True) == bytes([4, 5, 6])


async def test_should_close_upon_unknown_packet_type(sio: Peer) -> None:
    ws = await connected(sio)
    await ws.send("4abc")
    assert await ws.closed() == []


async def test_should_close_upon_invalid_payload_format(sio: Peer) -> None:
    ws = await connected(sio)
    await ws.send("42{}")
    assert await ws.closed() == []


async def test_should_close_upon_invalid_ack_id(sio: Peer) -> None:
    ws = await connected(sio)
    await ws.send('42abc["message-with-ack",1,"2",{"3":[false]}]')
    assert await ws.closed() == []
