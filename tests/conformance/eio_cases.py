"""The Engine.IO cases shared by both protocol suites, written against a raw :class:`Peer`.

Each case follows one case of the official suites (same requests, same expected bytes) and
checks a little more where the official case is weak: exact error bodies, and closes that must
come from the rule under test rather than from the 300 ms + 200 ms heartbeat. ``echo`` says
whether the server echoes messages (the engine.io suite's server) or is the Socket.IO suite's
server, where a CONNECT shows that the session still works.
"""

from __future__ import annotations

import asyncio
import json

from rawpeer import OPEN_KEYS, RS, WS, Peer, error_body

PING_INTERVAL = 300
PING_TIMEOUT = 200
POLLING = "EIO=4&transport=polling"


def check_open(info: dict[str, object], upgrades: list[str]) -> None:
    """The OPEN packet has exactly the five keys and the suite's values."""
    assert set(info) == OPEN_KEYS
    assert isinstance(info["sid"], str) and info["sid"]
    assert info["upgrades"] == upgrades
    assert info["pingInterval"] == PING_INTERVAL
    assert info["pingTimeout"] == PING_TIMEOUT
    assert info["maxPayload"] == 1_000_000


async def still_works(ws: WS, echo: bool) -> None:
    """The session on ``ws`` is alive: an echo comes back, or a CONNECT is answered."""
    if echo:
        await ws.send("4hello")
        assert await ws.recv(pong=True) == "4hello"
    else:
        await ws.send("40")
        reply = await ws.recv(pong=True)
        assert isinstance(reply, str) and reply.startswith("40"), reply
        assert set(json.loads(reply[2:])) == {"sid"}
        assert await ws.recv(pong=True) == '42["auth",{}]'


# ------------------------------------------------------------------ handshake


async def polling_handshake_opens(peer: Peer) -> None:
    """handshake > HTTP long-polling > successfully opens a session."""
    reply = await peer.get(POLLING)
    assert reply.status == 200
    assert reply.headers["content-type"].lower().startswith("text/plain")
    assert reply.text.startswith("0")
    check_open(json.loads(reply.text[1:]), ["websocket"])


async def polling_handshake_bad_eio(peer: Peer) -> None:
    """handshake > HTTP long-polling > fails with an invalid 'EIO' query parameter."""
    for query in ("transport=polling", "EIO=abc&transport=polling", "EIO=3&transport=polling"):
        reply = await peer.get(query)
        assert reply.status == 400, query
        assert reply.headers["content-type"] == "application/json"
        assert reply.json() == error_body(5), query


async def polling_handshake_bad_transport(peer: Peer) -> None:
    """handshake > HTTP long-polling > fails with an invalid 'transport' query parameter."""
    for query in ("EIO=4", "EIO=4&transport=abc", "EIO=4&transport=__proto__"):
        reply = await peer.get(query)
        assert reply.status == 400, query
        assert reply.json() == error_body(0), query


async def polling_handshake_bad_method(peer: Peer) -> None:
    """handshake > HTTP long-polling > fails with an invalid request method."""
    for method in ("POST", "PUT"):
        reply = await peer.request(method, POLLING)
        assert reply.status == 400, method
        assert reply.json() == error_body(2), method


async def ws_handshake_opens(peer: Peer) -> None:
    """handshake > WebSocket > successfully opens a session."""
    ws = await peer.ws()
    check_open(await ws.open_info(), [])


async def ws_handshake_bad_eio(peer: Peer) -> None:
    """handshake > WebSocket > fails with an invalid 'EIO' query parameter.

    (The official case never awaits the close.) Here no session may open: socketwire answers
    400; Node accepts the upgrade and closes it before sending anything.
    """
    for query in ("transport=websocket", "EIO=abc&transport=websocket"):
        assert await peer.ws_refused(query, may_accept=True) in (101, 400), query


async def ws_handshake_bad_transport(peer: Peer) -> None:
    """handshake > WebSocket > fails with an invalid 'transport' query parameter (400)."""
    for query in ("EIO=4", "EIO=4&transport=abc"):
        assert await peer.ws_refused(query) == 400, query


# ------------------------------------------------------------------ heartbeat


async def polling_ping_pong(peer: Peer, echo: bool) -> None:
    """heartbeat > HTTP long-polling > sends ping/pong packets (four rounds: the last ping
    proves that the pongs counted). On the Socket.IO server, "/" is joined first so that
    connectTimeout (1 s) cannot end the session during the rounds."""
    sid, _ = await peer.handshake()
    if not echo:
        await peer.push(sid, "40")
        reply = await peer.poll(sid)
        connect, auth = reply.text.split(RS)
        assert connect.startswith("40{") and auth == '42["auth",{}]', reply.text
    for _ in range(4):
        reply = await peer.poll(sid)
        assert (reply.status, reply.text) == (200, "2")
        pushed = await peer.push(sid, "3")
        assert (pushed.status, pushed.text) == (200, "ok")


async def polling_ping_timeout(peer: Peer) -> None:
    """heartbeat > HTTP long-polling > closes the session upon ping timeout."""
    sid, _ = await peer.handshake()
    await asyncio.sleep((PING_INTERVAL + PING_TIMEOUT) / 1000 + 0.15)
    reply = await peer.poll(sid)
    assert reply.status == 400
    assert reply.json() == error_body(1)


async def ws_ping_pong(peer: Peer, echo: bool) -> None:
    """heartbeat > WebSocket > sends ping/pong packets (four rounds; "/" joined first on the
    Socket.IO server, as for polling)."""
    ws = await peer.ws()
    await ws.open_info()
    if not echo:
        await ws.send("40")
        assert str(await ws.recv()).startswith("40{")
        assert await ws.recv() == '42["auth",{}]'
    for _ in range(4):
        assert await ws.recv() == "2"
        await ws.send("3")


async def ws_ping_timeout(peer: Peer) -> None:
    """heartbeat > WebSocket > closes the session upon ping timeout (after one ping)."""
    ws = await peer.ws()
    await ws.open_info()
    assert await ws.closed() == ["2"]


# ---------------------------------------------------------------------- close


async def polling_client_close(peer: Peer) -> None:
    """close > HTTP long-polling > forcefully closes the session: the pending GET gets ``6``."""
    sid, _ = await peer.handshake()
    poll = asyncio.ensure_future(peer.poll(sid))
    await asyncio.sleep(0.05)  # the GET is parked before the close arrives
    pushed = await peer.push(sid, "1")
    assert (pushed.status, pushed.text) == (200, "ok")
    reply = await poll
    assert (reply.status, reply.text) == (200, "6")
    after = await peer.poll(sid)
    assert after.status == 400
    assert after.json() == error_body(1)


async def ws_client_close(peer: Peer) -> None:
    """close > WebSocket > forcefully closes the session.

    socketwire closes at once. Node 6.6 ignores a ``1`` on a WebSocket (only its polling
    transport handles it), so there the heartbeat closes the session after one ping, which
    is all the official case checks; both are accepted here.
    """
    ws = await peer.ws()
    await ws.open_info()
    await ws.send("1")
    assert await ws.closed() in ([], ["2"])


# -------------------------------------------------------------------- upgrade


async def upgrade_succeeds(peer: Peer, echo: bool) -> None:
    """upgrade > successfully upgrades from HTTP long-polling to WebSocket."""
    sid, _ = await peer.handshake()
    ws = await peer.ws(f"EIO=4&transport=websocket&sid={sid}")
    await ws.send("2probe")
    assert await ws.recv() == "3probe"
    reply = await peer.poll(sid)
    assert (reply.status, reply.text) == (200, "6")
    await ws.send("5")
    await still_works(ws, echo)


async def upgrade_then_polling_refused(peer: Peer, echo: bool) -> None:
    """upgrade > ignores HTTP requests with same sid after upgrade."""
    sid, _ = await peer.handshake()
    ws = await peer.ws(f"EIO=4&transport=websocket&sid={sid}")
    await ws.send("2probe")
    await ws.send("5")
    reply = await peer.poll(sid)
    assert reply.status == 400
    assert reply.json() == error_body(3)
    assert await ws.recv() == "3probe"
    await still_works(ws, echo)


async def upgrade_then_second_ws_closed(peer: Peer, echo: bool) -> None:
    """upgrade > ignores WebSocket connection with same sid after upgrade (101, then closed)."""
    sid, _ = await peer.handshake()
    ws = await peer.ws(f"EIO=4&transport=websocket&sid={sid}")
    await ws.send("2probe")
    await ws.send("5")
    assert await ws.recv() == "3probe"
    second = await peer.ws(f"EIO=4&transport=websocket&sid={sid}")
    assert await second.closed() == []
    await still_works(ws, echo)


# -------------------------------------------------------- engine suite: message


async def polling_one_text_packet(peer: Peer) -> None:
    """message > HTTP long-polling > a payload containing one plain text packet."""
    sid, _ = await peer.handshake()
    pushed = await peer.push(sid, "4hello")
    assert (pushed.status, pushed.text) == (200, "ok")
    reply = await peer.poll(sid)
    assert (reply.status, reply.text) == (200, "4hello")


async def polling_several_text_packets(peer: Peer) -> None:
    """message > HTTP long-polling > several plain text packets, echoed in one payload."""
    sid, _ = await peer.handshake()
    body = RS.join(["4test1", "4test2", "4test3"])
    pushed = await peer.push(sid, body)
    assert (pushed.status, pushed.text) == (200, "ok")
    reply = await peer.poll(sid)
    assert (reply.status, reply.text) == (200, body)


async def polling_text_and_binary(peer: Peer) -> None:
    """message > HTTP long-polling > plain text and binary (``b`` + base64) packets."""
    sid, _ = await peer.handshake()
    body = "4hello" + RS + "bAQIDBA=="
    pushed = await peer.push(sid, body)
    assert (pushed.status, pushed.text) == (200, "ok")
    reply = await peer.poll(sid)
    assert (reply.status, reply.text) == (200, body)


async def polling_invalid_packet(peer: Peer) -> None:
    """message > HTTP long-polling > closes the session upon invalid packet format."""
    sid, _ = await peer.handshake()
    pushed = await peer.push(sid, "abc")
    assert pushed.status in (200, 400)  # Node answers "ok", then the sid is gone
    reply = await peer.poll(sid)
    assert reply.status == 400
    assert reply.json() == error_body(1)


async def polling_duplicate_get(peer: Peer) -> None:
    """message > HTTP long-polling > closes the session upon duplicate poll requests."""
    sid, _ = await peer.handshake()
    first = asyncio.ensure_future(peer.poll(sid))
    await asyncio.sleep(0.05)
    second = await peer.get(f"{POLLING}&sid={sid}&t=burst")
    assert second.status in (400, 500)
    reply = await first
    assert (reply.status, reply.text) == (200, "1")
    after = await peer.poll(sid)
    assert after.status == 400
    assert after.json() == error_body(1)


async def ws_text_packet(peer: Peer) -> None:
    """message > WebSocket > sends and receives a plain text packet."""
    ws = await peer.ws()
    await ws.open_info()
    await ws.send("4hello")
    assert await ws.recv() == "4hello"


async def ws_binary_packet(peer: Peer) -> None:
    """message > WebSocket > sends and receives a binary packet (raw bytes, no type byte)."""
    ws = await peer.ws()
    await ws.open_info()
    await ws.send(bytes([1, 2, 3, 4]))
    assert await ws.recv() == bytes([1, 2, 3, 4])


async def ws_invalid_packet(peer: Peer) -> None:
    """message > WebSocket > closes the session upon invalid packet format (before any ping:
    a server ignoring ``abc`` would ping at 300 ms and only then time out)."""
    ws = await peer.ws()
    await ws.open_info()
    await ws.send("abc")
    assert await ws.closed() == []
