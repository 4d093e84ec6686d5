"""One Engine.IO session: its transport (polling, WebSocket or WebTransport), heartbeat and
upgrade."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..exceptions import RemoteProtocolError
from ..protocol import eio
from ..protocol.eio import EioType
from .http import HttpRequest, HttpResponse, PreparedMessage, WebSocketChannel

if TYPE_CHECKING:
    from .server import EngineServer

__all__ = ["EngineSession", "SessionHandler", "SessionState"]

log = logging.getLogger("socketwire.engine")

NOOP = "6"
CLOSE = "1"
PING = "2"
OK_HEADERS = [("Content-Type", "text/html"), ("Content-Length", "2")]
# packets per long-polling answer: the rest go in the next GET. Node sends everything at once;
# python-engineio clients drop a whole payload of more than 16 packets, so we stop there.
POLL_BATCH = 16
CLOSE_TIMEOUT = 30.0  # how long a closed polling session waits for the GET that is told so
# reasons after which Node drops a polling session at once (no "1" kept for a later GET)
_GONE_AT_ONCE = frozenset({"ping timeout", "parse error", "transport error", "transport close"})


class SessionHandler(Protocol):
    """What the layer above (the Socket.IO server, or an echo app) implements."""

    def on_message(self, data: str | bytes) -> None:
        """A MESSAGE packet arrived."""

    def on_close(self, reason: str) -> None:
        """The session is closed; ``reason`` is one of Node's engine reasons."""


class _NullHandler:
    def on_message(self, data: str | bytes) -> None:
        pass

    def on_close(self, reason: str) -> None:
        pass


class SessionState(enum.Enum):
    """Lifecycle of a session."""

    OPEN = "open"
    CLOSING = "closing"  # closed for the application; a last poll may still fetch "1"
    CLOSED = "closed"


class EngineSession:
    """A live Engine.IO session. Created by :class:`EngineServer` on a handshake."""

    def __init__(self, server: EngineServer, sid: str, transport: str, request: HttpRequest):
        self.server = server
        self.sid = sid
        self.transport = transport
        self.request = request
        self.state = SessionState.OPEN
        self.handler: SessionHandler = _NullHandler()
        self.upgrading = False
        self.upgraded = False
        self._probed = False
        self._buffer: list[str | bytes] = []
        self._buffer_size = 0
        self._poll: asyncio.Future[None] | None = None
        self._post_active = False
        self._ws: WebSocketChannel | None = None
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._awaiting_pong = False
        self._refreshed = False
        self._close_packet = CLOSE
        self._paused_for_upgrade = False  # closed while the client paused polling to upgrade
        self._upgrade: _UpgradeHandler | None = None
        self._reading: asyncio.Future[None] | None = None  # set while reading is paused
        self._ping_due = self._loop.time()
        self._schedule_ping()

    # ------------------------------------------------------------------ sending

    @property
    def writable(self) -> bool:
        """Whether a packet sent now goes out at once (used for volatile packets)."""
        if self.state is not SessionState.OPEN:
            return False
        if self._ws is not None and not self.upgrading:
            return self._ws.buffered_amount() < self.server.volatile_threshold
        return self._poll is not None  # as Node: a pending GET, upgrade or not

    def send(self, packet: str | bytes) -> None:
        """Send one encoded Engine.IO packet (``str`` text, ``bytes`` binary message)."""
        if self.state is not SessionState.OPEN:
            return
        hooks = self.server.hooks
        if hooks.packet_out:
            for hook in hooks.packet_out:
                hook(self, (packet,))
        log = hooks.packet_log
        if log is not None:
            if not log.pending:
                log.wake()
            log.outgoing.append(packet)
        ws = self._ws
        if ws is not None and not self.upgrading:
            ws.send(packet)
            if ws.buffered_amount() > self.server.max_buffered_bytes:
                self._overflow()
            return
        self._buffer.append(packet)
        self._buffer_size += len(packet)
        self._after_buffering()

    def send_many(self, packets: list[str | bytes]) -> None:
        """Send packets that belong together (a binary packet and its attachments)."""
        if self.state is not SessionState.OPEN:
            return
        hooks = self.server.hooks
        if hooks.packet_out:
            for hook in hooks.packet_out:
                hook(self, packets)
        log = hooks.packet_log
        if log is not None:
            if not log.pending:
                log.wake()
            log.outgoing.extend(packets)
        ws = self._ws
        if ws is not None and not self.upgrading:
            for p in packets:
                ws.send(p)
            if ws.buffered_amount() > self.server.max_buffered_bytes:
                self._overflow()
            return
        self._buffer.extend(packets)
        self._buffer_size += sum(len(p) for p in packets)
        self._after_buffering()

    def send_prepared(self, message: PreparedMessage) -> None:
        """Send a message encoded once for many sessions (broadcast path)."""
        if self.state is not SessionState.OPEN:
            return
        hooks = self.server.hooks
        if hooks.packet_out:
            for hook in hooks.packet_out:
                hook(self, message.packets)
        log = hooks.packet_log
        if log is not None:
            if not log.pending:
                log.wake()
            log.outgoing.extend(message.packets)
        ws = self._ws
        if ws is not None and not self.upgrading:
            ws.send_prepared(message)
            if ws.buffered_amount() > self.server.max_buffered_bytes:
                self._overflow()
            return
        self._buffer.extend(message.packets)
        self._buffer_size += message.size
        self._after_buffering()

    def _after_buffering(self) -> None:
        if self._buffer_size > self.server.max_buffered_bytes:
            self._overflow()
        elif self._poll is not None and not self._poll.done():
            self._poll.set_result(None)  # during an upgrade too: polling flows until "5"

    def _overflow(self) -> None:
        log.info("session %s: outbound buffer over %d bytes, closing", self.sid,
                 self.server.max_buffered_bytes)
        for hook in self.server.hooks.overflow:
            hook(self)
        abort = getattr(self._ws, "abort", None)
        if abort is not None:
            abort()  # no close handshake behind data the peer does not read: drop it now
        self.close("transport error")

    # ---------------------------------------------------------------- heartbeat

    def _schedule_ping(self) -> None:
        # each session keeps its phase: the next ping is due one interval after the last one
        # was due, not one interval after the pong. Otherwise a loop stall bunches every
        # session it delayed into the same instant for good, and 10,000 pings due together
        # stall the loop again (issue 13: hundreds of milliseconds at 10,000 clients).
        now = self._loop.time()
        due = max(self._ping_due + self.server.ping_interval, now)
        self._ping_due = due
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(due, self._send_ping)

    def _set_timer(self, delay: float, callback: Callable[[], None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(delay, callback)

    def _send_ping(self) -> None:
        self._awaiting_pong = True
        self._refreshed = False
        self.send(PING)
        self._set_timer(self.server.ping_timeout, self._ping_timed_out)

    def _ping_timed_out(self) -> None:
        self._timer = None
        self.close("ping timeout")

    # ---------------------------------------------------------------- receiving

    def receive(self, kind: EioType, data: str | bytes) -> None:
        """Handle one decoded packet from the client, on whatever transport."""
        if self.state is not SessionState.OPEN:
            return
        if kind is EioType.MESSAGE:
            if self._awaiting_pong and not self._refreshed:
                self._refreshed = True
                self._set_timer(self.server.ping_timeout, self._ping_timed_out)
            hooks = self.server.hooks
            if hooks.packet_in:
                for hook in hooks.packet_in:
                    hook(self, data)
            log = hooks.packet_log
            if log is not None:
                if not log.pending:
                    log.wake()
                log.incoming.append(data)
            self.handler.on_message(data)
        elif kind is EioType.PONG:
            if self._awaiting_pong:
                self._awaiting_pong = False
                self._schedule_ping()
        elif kind is EioType.PING:
            self.close("transport error")  # v4: only the server pings
        elif kind is EioType.CLOSE:
            self.close("transport close", client_initiated=True)
        # OPEN, UPGRADE and NOOP from a client are ignored, as Node does

    # ------------------------------------------------------------------ polling

    async def handle_poll(self) -> HttpResponse:
        """A long-polling GET: answer with what is buffered, or wait for something."""
        if self._poll is not None:
            self.close("transport error")  # overlap from client; the first GET gets "1"
            return self.server.error_response(3)
        if self.upgrading and not self._probed and not self._buffer:
            await self._wait_for_probe()
        if self._probed and self.state is SessionState.OPEN and not self._buffer:
            return await self._poll_while_upgrading()
        if self.upgraded:
            await self.flushed()
            return self.server.error_response(3)
        if not self._buffer and self.state is SessionState.OPEN:
            fut: asyncio.Future[None] = self._loop.create_future()
            self._poll = fut
            try:
                await fut
            except asyncio.CancelledError:
                if self._poll is fut:
                    self._poll = None
                    self.close("transport error")
                raise
            finally:
                if self._poll is fut:
                    self._poll = None
        return self._take_poll_answer()

    def _take_poll_answer(self) -> HttpResponse:
        """The answer to a GET: what is buffered (up to ``POLL_BATCH``), or the close."""
        packets = self._buffer
        if len(packets) > POLL_BATCH and self.state is SessionState.OPEN:
            # (once closing, everything goes at once: the server may be going away)
            cut = POLL_BATCH
            while cut < len(packets) and isinstance(packets[cut], bytes):
                cut += 1  # a binary packet's attachments stay with it
            packets, self._buffer = packets[:cut], packets[cut:]
            self._buffer_size = sum(len(p) for p in self._buffer)
        else:
            self._buffer = []
            self._buffer_size = 0
        if self.state is SessionState.CLOSING:
            if packets:
                # as Node: what was buffered goes out alone, the close packet in the next GET.
                # socket.io-client handles Socket.IO packets a tick after the Engine.IO close
                # of the same payload, so "41" + "1" together looked like "transport close".
                if self._paused_for_upgrade and not self._buffer:
                    self._finish()  # the client polls no more: this was its last GET
                elif self._timer is None:
                    self._timer = self._loop.call_later(CLOSE_TIMEOUT, self._finish)
                return _payload_response(packets)
            packets.append(self._close_packet)
            self._finish()
        return _payload_response(packets or [NOOP])

    async def flushed(self) -> None:
        """Return once what was written to this session's WebSocket went out (if any).

        Used before refusing a stray poll after an upgrade, so that, as with Node, the peer
        sees the WebSocket's frames before that answer; a short pause covers hosts whose
        WebSocket writes lag behind their HTTP responses.
        """
        if self._ws is not None:
            await self._ws.flushed()
            await asyncio.sleep(0.01)

    async def _wait_for_probe(self) -> None:
        # A WebSocket is connected for the upgrade but its probe has not been read yet (its
        # frames may still sit in the host's queues): give it up to 100 ms before answering.
        for _ in range(20):
            await asyncio.sleep(0.005)
            if (self._probed or not self.upgrading or self._buffer
                    or self.state is not SessionState.OPEN):
                return

    async def _poll_while_upgrading(self) -> HttpResponse:
        # As Node: a GET during the upgrade gets what is sent meanwhile, else a noop within
        # 100 ms, or 400 if the upgrade completes meanwhile (polling is over for it then).
        fut: asyncio.Future[None] = self._loop.create_future()
        self._poll = fut
        timer = self._loop.call_later(0.1, self._release_poll)
        try:
            await fut
        finally:
            timer.cancel()
            if self._poll is fut:
                self._poll = None
        if self._buffer and not self.upgraded and self.state is not SessionState.CLOSED:
            # what was sent meanwhile; when closing, the close packet follows in the next GET
            # (a DISCONNECT sent right before closing reached the client as "transport close")
            return self._take_poll_answer()
        if self.state is SessionState.CLOSING:
            self._finish()
            return _payload_response([self._close_packet])
        await self.flushed()
        if self.upgraded or self.state is not SessionState.OPEN:
            return self.server.error_response(3)
        return _payload_response([NOOP])

    async def handle_post(self, request: HttpRequest) -> HttpResponse:
        """A long-polling POST: decode the payload and deliver its packets."""
        if self._post_active:
            self.close("transport error")
            return self.server.error_response(3)
        if request.headers.get("content-type", "").startswith("application/octet-stream"):
            self.close("transport error")
            return self.server.error_response(3)
        self._post_active = True
        try:
            raw = await request.read_body(self.server.max_http_buffer_size)
        except asyncio.CancelledError:
            self.close("transport error")
            raise
        except Exception:  # BodyTooLarge or a broken connection
            return HttpResponse(413, [("Content-Length", "0")], b"", close=True)
        finally:
            self._post_active = False
        try:
            packets = eio.decode_payload(raw.decode("utf-8"))
        except (RemoteProtocolError, UnicodeDecodeError):
            self.close("parse error")
            return HttpResponse(200, list(OK_HEADERS), b"ok")
        for kind, data in packets:
            if self.state is not SessionState.OPEN:
                if kind is EioType.CLOSE and self.state is SessionState.CLOSING:
                    self._finish()  # as Node: the client closes too, no GET will follow
                break
            self.receive(kind, data)
        if self._reading is not None:
            await self._reading  # paused: the client's next POST waits for this answer
        return HttpResponse(200, list(OK_HEADERS), b"ok")

    # ------------------------------------------------------------- flow control

    def pause_reading(self) -> None:
        """Stop taking packets from the client (its handlers are behind): the WebSocket stops
        reading, a polling POST is answered only once reading resumes."""
        if self._reading is None:
            self._reading = self._loop.create_future()
        self._set_channel_reading(False)

    def resume_reading(self) -> None:
        """Take packets from the client again."""
        waiter, self._reading = self._reading, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._set_channel_reading(True)

    def _set_channel_reading(self, on: bool) -> None:
        channel = self._ws
        if channel is None:
            return
        switch = getattr(channel, "resume_reading" if on else "pause_reading", None)
        if switch is not None:
            switch()

    def _release_poll(self) -> None:
        if self._poll is not None and not self._poll.done():
            self._poll.set_result(None)

    # ---------------------------------------------------------------- websocket

    def attach_websocket(self, channel: WebSocketChannel) -> None:
        """Use ``channel`` as this (WebSocket-only) session's transport."""
        self._ws = channel

    def on_websocket_message(self, data: str | bytes) -> None:
        """A message from this session's WebSocket."""
        if type(data) is str and data[:1] == "4":  # the hot path: a text MESSAGE
            self.receive(EioType.MESSAGE, data[1:])
            return
        try:
            kind, payload = eio.decode_packet(data)
        except RemoteProtocolError:
            self.close("parse error")
            return
        self.receive(kind, payload)

    def begin_upgrade(
        self, channel: WebSocketChannel, transport: str = "websocket"
    ) -> _UpgradeHandler:
        """Start upgrading this session to ``channel`` (a WebSocket, or a WebTransport stream:
        polling upgrades to either, a WebSocket to WebTransport, as Node accepts)."""
        self.upgrading = True
        self._upgrade = _UpgradeHandler(self, channel, transport)
        return self._upgrade

    def _probe_received(self) -> None:
        self._probed = True
        self._release_poll()  # the pending GET gets a noop so the client can pause polling

    def _complete_upgrade(self, channel: WebSocketChannel, transport: str) -> None:
        self.upgrading = False
        self.upgraded = True
        self._probed = False
        self.transport = transport
        previous, self._ws = self._ws, channel
        self._release_poll()
        buffered, self._buffer, self._buffer_size = self._buffer, [], 0
        for p in buffered:
            channel.send(p)
        if previous is not None:  # a WebSocket upgraded to WebTransport: the old one goes
            previous.close()
        if self.server.hooks.upgrade:
            for hook in self.server.hooks.upgrade:
                hook(self)

    def _abort_upgrade(self) -> None:
        self.upgrading = False
        self._upgrade = None
        self._probed = False
        for hook in self.server.hooks.upgrade_failed:
            hook(self)
        if self._buffer:
            self._release_poll()

    # ------------------------------------------------------------------ closing

    def close(self, reason: str = "forced close", *, client_initiated: bool = False) -> None:
        """Close the session and tell the handler why. Safe to call more than once.

        Over polling, as in Node, a GET gets what is still buffered, and the next one ``1``
        (``6`` when the client itself sent ``1``); the session waits up to ``CLOSE_TIMEOUT``
        for that GET.
        """
        if self.state is not SessionState.OPEN:
            return
        self.state = SessionState.CLOSING
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._paused_for_upgrade = self._probed
        if self._upgrade is not None and not self._upgrade.done:
            self._upgrade._fail()
        if client_initiated:
            self._buffer = []
            self._close_packet = NOOP
        if self._ws is not None:
            self._ws.close()
            self._finish()
        elif self._poll is not None:
            self._release_poll()  # the GET answers, then finishes the session
        elif client_initiated and self.server.client_close_grace > 0:
            # --workers: the client's GET may still be on its way through another worker; it
            # gets its "6" if it comes within the grace, and the session is gone after it
            self._timer = self._loop.call_later(self.server.client_close_grace, self._finish)
        elif client_initiated or reason in _GONE_AT_ONCE:
            self._finish()  # as in Node: a broken session is gone, the next GET gets 400
        else:
            self._timer = self._loop.call_later(CLOSE_TIMEOUT, self._finish)
        try:
            self.handler.on_close(reason)
        except Exception:
            log.exception("error in close handler")
        if self.server.hooks.close:
            for hook in self.server.hooks.close:
                hook(self, reason)

    def _finish(self) -> None:
        if self.state is SessionState.CLOSED:
            return
        self.state = SessionState.CLOSED
        if self._reading is not None:
            self.resume_reading()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.server._forget(self)
        self._buffer = []
        self._buffer_size = 0


def _payload_response(packets: list[str | bytes]) -> HttpResponse:
    body = eio.encode_payload(packets).encode()
    return HttpResponse(
        200,
        [("Content-Type", "text/plain; charset=UTF-8"), ("Content-Length", str(len(body)))],
        body,
    )


class _UpgradeHandler:
    """Receives the messages of a WebSocket while it is being upgraded to."""

    __slots__ = ("channel", "done", "session", "timer", "transport")

    def __init__(
        self, session: EngineSession, channel: WebSocketChannel, transport: str = "websocket"
    ) -> None:
        self.session = session
        self.channel = channel
        self.transport = transport
        self.done = False
        self.timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            session.server.upgrade_timeout, self._timeout
        )

    def _timeout(self) -> None:
        self.timer = None
        if not self.done:
            self._fail()

    def _fail(self) -> None:
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.channel.close()
        self.session._abort_upgrade()

    def on_message(self, data: str | bytes) -> None:
        """Probe and upgrade packets; after the upgrade, regular packets."""
        session = self.session
        if self.done:
            if session._ws is self.channel:
                session.on_websocket_message(data)
            return
        if session.state is not SessionState.OPEN:
            self._fail()
        elif data == "2probe":
            self.channel.send("3probe")
            session._probe_received()
        elif data == "5" and session._probed:
            self.done = True
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            session._complete_upgrade(self.channel, self.transport)
        else:
            self._fail()

    def on_close(self) -> None:
        """The WebSocket went away: before the upgrade, polling goes on."""
        if not self.done:
            self._fail()
        elif self.session._ws is self.channel:
            self.session.close("transport close")


class WebSocketSessionHandler:
    """Receives the messages of a session opened on a WebSocket (or a WebTransport stream).

    Once the session has moved to another channel (a WebSocket upgraded to WebTransport),
    the old one's messages and close are ignored."""

    __slots__ = ("channel", "session")

    def __init__(self, session: EngineSession, channel: WebSocketChannel | None = None) -> None:
        self.session = session
        self.channel = channel

    def on_message(self, data: str | bytes) -> None:
        """Decode and deliver one message."""
        if self.channel is None or self.session._ws is self.channel:
            self.session.on_websocket_message(data)

    def on_close(self) -> None:
        """The connection is gone."""
        if self.channel is None or self.session._ws is self.channel:
            self.session.close("transport close")
