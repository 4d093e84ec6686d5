"""EngineSession and its transports over the host contract (engine/http.py), in process: HTTP
requests are HttpRequest objects, a WebSocket is a channel that records what it is sent.

These pin the transport swap of an upgrade (Node's flush semantics): packets keep flowing
over polling while the probe runs; on ``5`` what polling still buffered goes out on the
WebSocket, in order, and polling is over for the session.
"""

from __future__ import annotations

import asyncio

from socketwire.engine.http import HttpRequest, HttpResponse, PreparedMessage, WebSocketHandler
from socketwire.engine.server import EngineServer, WebSocketAcceptance
from socketwire.engine.session import EngineSession
from socketwire.engine.transport import WebSocketTransport
from socketwire.engine.transports import TRANSPORTS
from socketwire.protocol.eio_machine import SessionState


class Recorder:
    """A WebSocketChannel that keeps what the engine sends."""

    def __init__(self) -> None:
        self.sent: list[str | bytes] = []
        self.closed = False
        self.paused = False

    def send(self, packet: str | bytes) -> None:
        self.sent.append(packet)

    def send_prepared(self, message: PreparedMessage) -> None:
        self.sent.extend(message.packets)

    def close(self, code: int = 1000) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def buffered_amount(self) -> int:
        return 0

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    async def flushed(self) -> None:
        pass


class Collect:
    def __init__(self) -> None:
        self.messages: list[str | bytes] = []
        self.reasons: list[str] = []

    def on_message(self, data: str | bytes) -> None:
        self.messages.append(data)

    def on_close(self, reason: str) -> None:
        self.reasons.append(reason)


def request(method: str, sid: str | None = None, transport: str = "polling",
            body: bytes = b"") -> HttpRequest:
    query = {"EIO": "4", "transport": transport}
    if sid is not None:
        query["sid"] = sid

    async def read_body(limit: int) -> bytes:
        return body

    return HttpRequest(method, "/engine.io/", query, {}, read_body=read_body)


async def polling_session() -> tuple[EngineServer, EngineSession, Collect]:
    handler = Collect()
    sessions: list[EngineSession] = []

    def on_session(session: EngineSession) -> None:
        session.handler = handler
        sessions.append(session)

    engine = EngineServer(on_session, ping_interval=60, ping_timeout=60)
    response = await engine.handle_http(request("GET"))
    assert response.status == 200 and response.body.startswith(b'0{"sid":')
    assert b'"upgrades":["websocket"]' in response.body
    return engine, sessions[0], handler


async def get(engine: EngineServer, sid: str) -> HttpResponse:
    return await asyncio.wait_for(engine.handle_http(request("GET", sid)), 5)


async def upgrade_channel(engine: EngineServer, sid: str) -> tuple[Recorder, WebSocketHandler]:
    acceptance = await engine.open_websocket(request("GET", sid, "websocket"))
    assert isinstance(acceptance, WebSocketAcceptance)
    channel = Recorder()
    return channel, acceptance.attach(channel)


def test_the_registry_names_every_transport() -> None:
    assert set(TRANSPORTS) == {"polling", "websocket", "webtransport"}
    assert TRANSPORTS["polling"].upgrades == ("websocket", "webtransport")
    assert TRANSPORTS["websocket"].upgrades == ()  # offered on polling only, as Node


async def test_polling_post_and_get() -> None:
    engine, session, handler = await polling_session()
    ok = await engine.handle_http(request("POST", session.sid, body=b"4hello\x1e4world"))
    assert ok.body == b"ok"
    assert handler.messages == ["hello", "world"]
    session.send("4a")
    session.send("4b")
    assert session.transport == "polling" and session.pending_output()
    assert (await get(engine, session.sid)).body == b"4a\x1e4b"


async def test_packets_flow_over_polling_during_the_probe_then_move_on_upgrade() -> None:
    engine, session, _ = await polling_session()
    channel, ws = await upgrade_channel(engine, session.sid)
    assert session.upgrading and session.transport == "polling"
    pending = asyncio.ensure_future(get(engine, session.sid))
    await asyncio.sleep(0)
    session.send("4during-probe")  # the pending GET gets it: polling flows until "5"
    assert (await pending).body == b"4during-probe"
    ws.on_message("2probe")
    assert channel.sent == ["3probe"]
    session.send("4buffered")  # no GET waiting: stays in the polling buffer
    ws.on_message("5")
    assert session.upgraded and isinstance(session.current, WebSocketTransport)
    assert channel.sent == ["3probe", "4buffered"]  # the buffer moved, in order
    session.send("4after")
    assert channel.sent[-1] == "4after"
    stray = await get(engine, session.sid)
    assert stray.status == 400  # polling is over for the session


async def test_a_failed_probe_leaves_the_session_on_polling() -> None:
    engine, session, _ = await polling_session()
    channel, ws = await upgrade_channel(engine, session.sid)
    ws.on_message("5")  # no probe first
    assert channel.closed and not session.upgrading and session.transport == "polling"
    session.send("4still")
    assert (await get(engine, session.sid)).body == b"4still"
    channel2, ws2 = await upgrade_channel(engine, session.sid)  # another attempt may follow
    ws2.on_message("2probe")
    ws2.on_message("5")
    assert session.transport == "websocket" and channel2.sent == ["3probe"]


async def test_a_second_websocket_after_the_upgrade_is_refused() -> None:
    engine, session, _ = await polling_session()
    channel, ws = await upgrade_channel(engine, session.sid)
    ws.on_message("2probe")
    ws.on_message("5")
    late, _ = await upgrade_channel(engine, session.sid)
    await asyncio.sleep(0.1)
    assert late.closed and not channel.closed


async def test_reading_paused_before_the_upgrade_stays_paused_on_the_websocket() -> None:
    engine, session, handler = await polling_session()
    session.pause_reading()
    channel, ws = await upgrade_channel(engine, session.sid)
    ws.on_message("2probe")
    ws.on_message("5")
    assert channel.paused
    session.resume_reading()
    assert not channel.paused
    ws.on_message("4over-ws")
    assert handler.messages == ["over-ws"]


async def test_close_over_polling_keeps_the_close_packet_for_the_next_get() -> None:
    engine, session, handler = await polling_session()
    session.send("4last")
    session.close()
    assert session.state is SessionState.CLOSING and handler.reasons == ["forced close"]
    assert (await get(engine, session.sid)).body == b"4last"
    assert (await get(engine, session.sid)).body == b"1"
    assert session.state is SessionState.CLOSED and session.sid not in engine.sessions


async def test_a_close_packet_from_the_websocket_closes_at_once() -> None:
    engine, session, handler = await polling_session()
    channel, ws = await upgrade_channel(engine, session.sid)
    ws.on_message("2probe")
    ws.on_message("5")
    ws.on_message("1")
    assert channel.closed and handler.reasons == ["transport close"]
    assert session.state is SessionState.CLOSED


async def test_a_ping_from_the_client_is_a_transport_error() -> None:
    engine, session, handler = await polling_session()
    await engine.handle_http(request("POST", session.sid, body=b"2"))
    assert handler.reasons == ["transport error"]
