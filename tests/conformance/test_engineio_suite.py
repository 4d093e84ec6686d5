"""The engine.io-protocol suite's 24 cases, against the Engine.IO echo server (R33).

Targets: socketwire (standalone and ASGI hosting) and the Node reference; see ``conftest.py``.
"""

from __future__ import annotations

import eio_cases as c
from rawpeer import Peer

# handshake


async def test_polling_handshake_opens_a_session(eio: Peer) -> None:
    await c.polling_handshake_opens(eio)


async def test_polling_handshake_fails_with_invalid_eio(eio: Peer) -> None:
    await c.polling_handshake_bad_eio(eio)


async def test_polling_handshake_fails_with_invalid_transport(eio: Peer) -> None:
    await c.polling_handshake_bad_transport(eio)


async def test_polling_handshake_fails_with_invalid_method(eio: Peer) -> None:
    await c.polling_handshake_bad_method(eio)


async def test_ws_handshake_opens_a_session(eio: Peer) -> None:
    await c.ws_handshake_opens(eio)


async def test_ws_handshake_fails_with_invalid_eio(eio: Peer) -> None:
    await c.ws_handshake_bad_eio(eio)


async def test_ws_handshake_fails_with_invalid_transport(eio: Peer) -> None:
    await c.ws_handshake_bad_transport(eio)


# message


async def test_polling_one_plain_text_packet(eio: Peer) -> None:
    await c.polling_one_text_packet(eio)


async def test_polling_several_plain_text_packets(eio: Peer) -> None:
    await c.polling_several_text_packets(eio)


async def test_polling_plain_text_and_binary_packets(eio: Peer) -> None:
    await c.polling_text_and_binary(eio)


async def test_polling_closes_upon_invalid_packet_format(eio: Peer) -> None:
    await c.polling_invalid_packet(eio)


async def test_polling_closes_upon_duplicate_poll_requests(eio: Peer) -> None:
    await c.polling_duplicate_get(eio)


async def test_ws_plain_text_packet(eio: Peer) -> None:
    await c.ws_text_packet(eio)


async def test_ws_binary_packet(eio: Peer) -> None:
    await c.ws_binary_packet(eio)


async def test_ws_closes_upon_invalid_packet_format(eio: Peer) -> None:
    await c.ws_invalid_packet(eio)


# heartbeat


async def test_polling_sends_ping_pong_packets(eio: Peer) -> None:
    await c.polling_ping_pong(eio, echo=True)


async def test_polling_closes_upon_ping_timeout(eio: Peer) -> None:
    await c.polling_ping_timeout(eio)


async def test_ws_sends_ping_pong_packets(eio: Peer) -> None:
    await c.ws_ping_pong(eio, echo=True)


async def test_ws_closes_upon_ping_timeout(eio: Peer) -> None:
    await c.ws_ping_timeout(eio)


# close


async def test_polling_forcefully_closes_the_session(eio: Peer) -> None:
    await c.polling_client_close(eio)


async def test_ws_forcefully_closes_the_session(eio: Peer) -> None:
    await c.ws_client_close(eio)


# upgrade


async def test_upgrade_from_polling_to_websocket(eio: Peer) -> None:
    await c.upgrade_succeeds(eio, echo=True)


async def test_upgrade_ignores_http_requests_with_same_sid(eio: Peer) -> None:
    await c.upgrade_then_polling_refused(eio, echo=True)


async def test_upgrade_ignores_websocket_with_same_sid(eio: Peer) -> None:
    await c.upgrade_then_second_ws_closed(eio, echo=True)
