"""One Engine.IO session: the transport it holds (swapped on upgrade), its heartbeat timer and
its close.

The rules (what a packet means, when to ping, when the peer is late, the upgrade's steps)
are :class:`~socketwire.protocol.eio_machine.EngineMachine`'s, shared with the client; this
module only acts on them: timers, hooks, the handler above.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from ..protocol.eio import EioType
from ..protocol.eio_machine import (
    EngineMachine,
    Expiry,
    Role,
    SessionState,
    Upgrade,
    Verdict,
    read_message,
)
from ..protocol.reasons import Reason
from .http import HttpRequest, HttpResponse, PreparedMessage, WebSocketChannel
from .polling import OK_HEADERS
from .transport import ChannelTransport, Transport
from .transports import transport_class
from .upgrade import UpgradeHandler, WebSocketSessionHandler

if TYPE_CHECKING:
    from .server import EngineServer

__all__ = ["OK_HEADERS", "EngineSession", "SessionHandler", "SessionState",
           "WebSocketSessionHandler"]

log = logging.getLogger("socketwire.engine")

PING = "2"
_OPEN = SessionState.OPEN
_MESSAGE = EioType.MESSAGE


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


_NULL_HANDLER = _NullHandler()


class EngineSession:
    """A live Engine.IO session. Created by :class:`EngineServer` on a handshake."""

    def __init__(self, server: EngineServer, sid: str, transport: str, request: HttpRequest,
                 channel: WebSocketChannel | None = None) -> None:
        self.server = server
        self.sid = sid
        self.request = request
        self.handler: SessionHandler = _NULL_HANDLER
        self._loop = asyncio.get_running_loop()
        self.machine = EngineMachine(Role.SERVER, server.ping_interval, server.ping_timeout,
                                     self._loop.time())
        #: the :class:`Transport` in use; replaced when an upgrade completes
        self.current: Transport = transport_class(transport).open(self, channel)
        self._upgrade: UpgradeHandler | None = None
        self._paused = False  # reading paused by the layer above
        self._timer: asyncio.TimerHandle | None = None
        self._arm()

    @property
    def transport(self) -> str:
        """The name of the transport in use (``polling``, ``websocket``, ``webtransport``)."""
        return self.current.name

    @property
    def state(self) -> SessionState:
        """Where the session stands: open, closing (a last poll may still come), closed."""
        return self.machine.state

    @property
    def upgrading(self) -> bool:
        """Whether a new transport is being probed."""
        return self.machine.upgrading

    @property
    def upgraded(self) -> bool:
        """Whether the session moved to the transport it upgraded to."""
        return self.machine.upgrade is Upgrade.DONE

    # ------------------------------------------------------------------ sending

    @property
    def writable(self) -> bool:
        """Whether a packet sent now goes out at once (used for volatile packets)."""
        return self.machine.state is _OPEN and self.current.writable

    def send(self, packet: str | bytes) -> None:
        """Send one encoded Engine.IO packet (``str`` text, ``bytes`` binary message)."""
        if self.machine.state is not _OPEN:
            return
        hooks = self.server.hooks
        if hooks.packet_out:
            for hook in hooks.packet_out:
                hook(self, (packet,))
        counter = hooks.packet_counter
        if counter is not None:  # a run of one kind counted inline (PacketCounter)
            if type(packet) is str and packet[:2] == counter.out_key and packet.isascii():
                counter.out_n += 1
                counter.out_chars += len(packet)
            else:
                counter.count_sent(packet)
        self.current.send(packet)

    def send_many(self, packets: list[str | bytes]) -> None:
        """Send packets that belong together (a binary packet and its attachments)."""
        if self.machine.state is not _OPEN:
            return
        hooks = self.server.hooks
        if hooks.packet_out:
            for hook in hooks.packet_out:
                hook(self, packets)
        counter = hooks.packet_counter
        if counter is not None:
            for packet in packets:
                counter.count_sent(packet)
        self.current.send_many(packets)

    def send_prepared(self, message: PreparedMessage) -> None:
        """Send a message encoded once for many sessions (broadcast path)."""
        if self.machine.state is not _OPEN:
            return
        hooks = self.server.hooks
        if hooks.packet_out:
            for hook in hooks.packet_out:
                hook(self, message.packets)
        counter = hooks.packet_counter
        if counter is not None:  # one broadcast's copies: a run of one message
            if message is counter.message:
                counter.message_n += 1
            else:
                counter.count_prepared(message)
        self.current.send_prepared(message)

    def _ping(self) -> None:
        """Send a heartbeat ping (as :meth:`send`; a packet counter counts it apart)."""
        if self.machine.state is not _OPEN:
            return
        hooks = self.server.hooks
        if hooks.packet_out:
            for hook in hooks.packet_out:
                hook(self, (PING,))
        counter = hooks.packet_counter
        if counter is not None:
            counter.pings += 1
        self.current.send(PING)

    def _overflow(self) -> None:
        log.info("session %s: outbound buffer over %d bytes, closing", self.sid,
                 self.server.max_buffered_bytes)
        for hook in self.server.hooks.overflow:
            hook(self)
        if isinstance(self.current, ChannelTransport):
            self.current.abort()  # no close handshake behind data the peer does not read
        self.close(Reason.TRANSPORT_ERROR)

    # ---------------------------------------------------------------- heartbeat

    def _arm(self) -> None:
        # one timer at the machine's deadline: the next ping, or the pong's deadline. Each
        # session keeps its phase (the machine's ping_due), so a loop stall does not bunch
        # every delayed session's pings into one instant for good (issue 13).
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(self.machine.deadline, self._deadline_reached)

    def _deadline_reached(self) -> None:
        self._timer = None
        expiry = self.machine.expire(self._loop.time())
        if expiry is Expiry.TIMEOUT:
            self.close(Reason.PING_TIMEOUT)
            return
        if expiry is Expiry.PING:
            self._ping()
        if self.machine.state is _OPEN:
            self._arm()

    # ---------------------------------------------------------------- receiving

    def receive(self, kind: EioType, data: str | bytes) -> None:
        """Handle one decoded packet from the client, on whatever transport."""
        if kind is _MESSAGE:
            self.receive_message(data)
            return
        machine = self.machine
        if machine.state is not _OPEN:
            return
        verdict = machine.receive(kind, self._loop.time())
        if verdict is Verdict.PEER_CLOSED:
            self.close(Reason.TRANSPORT_CLOSE, client_initiated=True)
        elif verdict is Verdict.PROTOCOL_ERROR:
            self.close(Reason.TRANSPORT_ERROR)
        elif verdict is Verdict.HEARTBEAT:
            self._arm()

    def receive_message(self, data: str | bytes) -> None:
        """Handle one MESSAGE packet's payload (``receive(MESSAGE, data)``; a channel's
        handler calls it directly for a text MESSAGE, the hot path)."""
        machine = self.machine
        if machine.state is not _OPEN:
            return
        if machine.awaiting_pong and machine.message_received(self._loop.time()):
            self._arm()
        hooks = self.server.hooks
        if hooks.packet_in:
            for hook in hooks.packet_in:
                hook(self, data)
        counter = hooks.packet_counter
        if counter is not None:  # a run of one kind counted inline (PacketCounter)
            if data[:1] is counter.in_key and data.isascii():
                counter.in_n += 1
                counter.in_chars += len(data)
            else:
                counter.count_received(data)
        self.handler.on_message(data)

    def on_websocket_message(self, data: str | bytes) -> None:
        """A message from this session's WebSocket (or WebTransport stream)."""
        if type(data) is str and data[:1] == "4":  # the hot path: a text MESSAGE
            self.receive_message(data[1:])
            return
        packet = read_message(data)
        if packet is None:
            self.close(Reason.PARSE_ERROR)
        else:
            self.receive(*packet)

    # ------------------------------------------------------------------ polling

    async def handle_request(self, request: HttpRequest) -> HttpResponse:
        """An HTTP request for this session, answered by its transport."""
        return await self.current.handle_request(request)

    async def flushed(self) -> None:
        """Return once what was written to this session's channel went out (if any).

        Used before refusing a stray poll after an upgrade, so that, as with Node, the peer
        sees the WebSocket's frames before that answer.
        """
        await self.current.flushed()

    def pending_output(self) -> bool:
        """Whether packets wait for the client to fetch them (polling)."""
        return self.current.has_pending()

    # ------------------------------------------------------------- flow control

    def pause_reading(self) -> None:
        """Stop taking packets from the client (its handlers are behind): the WebSocket stops
        reading, a polling POST is answered only once reading resumes."""
        self._paused = True
        self.current.pause_reading()

    def resume_reading(self) -> None:
        """Take packets from the client again."""
        self._paused = False
        self.current.resume_reading()

    # ------------------------------------------------------------------ upgrade

    def can_upgrade_to(self, name: str) -> bool:
        """Whether the client may upgrade this session to the transport ``name`` now."""
        return (self.machine.state is _OPEN and self.machine.upgrade is Upgrade.NONE
                and name in self.current.accepts)

    def begin_upgrade(
        self, channel: WebSocketChannel, transport: str = "websocket"
    ) -> UpgradeHandler:
        """Start upgrading this session to ``channel`` (a WebSocket, or a WebTransport stream:
        polling upgrades to either, a WebSocket to WebTransport, as Node accepts)."""
        self.machine.probe_started()
        self._upgrade = UpgradeHandler(self, transport_class(transport).open(self, channel))
        return self._upgrade

    def _probe_answered(self) -> None:
        self.current.probe_answered()

    def _set_transport(self, new: Transport) -> None:
        """Node's ``setTransport`` at the end of an upgrade: what the old transport still
        buffered goes out on the new one, then the old one is let go."""
        old, self.current = self.current, new
        if self._paused:
            new.pause_reading()
        buffered = old.take_buffered()
        old.discard()
        if buffered:
            new.send_many(buffered)
        if self.server.hooks.upgrade:
            for hook in self.server.hooks.upgrade:
                hook(self)

    def _upgrade_failed(self) -> None:
        self.machine.upgrade_failed()
        self._upgrade = None
        for hook in self.server.hooks.upgrade_failed:
            hook(self)
        if self.current.has_pending():
            self.current.probe_answered()  # a GET held for the probe gets what is buffered

    # ------------------------------------------------------------------ closing

    def close(self, reason: Reason | str = Reason.FORCED_CLOSE, *,
              client_initiated: bool = False) -> None:
        """Close the session and tell the handler why. Safe to call more than once.

        What happens to the transport is its own business (:meth:`Transport.closing`):
        a channel closes at once; polling keeps the close packet for the next GET.
        """
        if self.machine.state is not _OPEN:
            return
        probed = self.machine.upgrade is Upgrade.PROBED
        self.machine.close(reason)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._upgrade is not None and not self._upgrade.done:
            self._upgrade.fail()
        handler = self.handler  # (closing may finish the session, which lets go of it)
        self.current.closing(reason, client_initiated, probed)
        try:
            handler.on_close(reason)
        except Exception:
            log.exception("error in close handler")
        if self.server.hooks.close:
            for hook in self.server.hooks.close:
                hook(self, reason)

    def _finish_later(self, delay: float) -> None:
        """Finish the session after ``delay`` seconds (unless a timer already will)."""
        if self._timer is None:
            self._timer = self._loop.call_later(delay, self._finish)

    def _finish(self) -> None:
        if not self.machine.finished():
            return
        if self._paused:
            self.resume_reading()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.server._forget(self)
        self.current.finished()
        # the layer above is done with it (told in close): no cycle through it left behind
        self.handler = _NULL_HANDLER
