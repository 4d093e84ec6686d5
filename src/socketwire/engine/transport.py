"""What carries one session's packets: the :class:`Transport` base and the message-channel
transports (WebSocket, WebTransport stream).

A session holds one transport (:attr:`EngineSession.current`) and swaps it on upgrade, as
Node's ``Socket.setTransport`` does; until the upgrade completes, packets keep flowing over
the old one. Each transport owns its state: the polling buffer, pending GET and POST guard
(:mod:`.polling`), or the host's channel here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, ClassVar

from ..protocol.reasons import Reason
from .http import HttpRequest, HttpResponse, PreparedMessage, WebSocketChannel

if TYPE_CHECKING:
    from .session import EngineSession

__all__ = ["ChannelTransport", "Transport", "WebSocketTransport", "WebTransportTransport"]


class Transport:
    """One way of carrying a session's packets (Node's ``Transport``)."""

    name: ClassVar[str] = ""
    #: the upgrades the OPEN packet offers on this transport (Node: ``upgradesTo``)
    upgrades: ClassVar[tuple[str, ...]] = ()
    #: the transports a session on this one may upgrade to when the client asks
    accepts: ClassVar[tuple[str, ...]] = ()
    #: whether it opens with an HTTP request to the engine's path (a polling handshake)
    over_http: ClassVar[bool] = False

    __slots__ = ("session",)

    def __init__(self, session: EngineSession) -> None:
        self.session = session

    @classmethod
    def open(cls, session: EngineSession, channel: WebSocketChannel | None) -> Transport:
        """A transport of this kind for ``session`` (over ``channel`` when it has one)."""
        raise NotImplementedError

    @property
    def writable(self) -> bool:
        """Whether a packet sent now goes out at once (volatile packets are dropped if not)."""
        raise NotImplementedError

    def send(self, packet: str | bytes) -> None:
        """Send one encoded Engine.IO packet."""
        raise NotImplementedError

    def send_many(self, packets: list[str | bytes]) -> None:
        """Send packets that belong together (a binary packet and its attachments)."""
        raise NotImplementedError

    def send_prepared(self, message: PreparedMessage) -> None:
        """Send a message encoded once for many sessions."""
        raise NotImplementedError

    def take_buffered(self) -> list[str | bytes]:
        """Remove and return what is waiting to go out (moved to the next transport)."""
        return []

    def has_pending(self) -> bool:
        """Whether packets wait for the peer to fetch them."""
        return False

    def probe_answered(self) -> None:
        """The new transport's probe was answered: the peer is about to pause this one."""

    def discard(self) -> None:
        """The session moved to another transport: let go of this one."""

    def pause_reading(self) -> None:
        """Take no more packets from the peer until :meth:`resume_reading`."""

    def resume_reading(self) -> None:
        """Take packets from the peer again."""

    def closing(self, reason: Reason | str, client_initiated: bool, probed: bool) -> None:
        """The session was closed for the application: close this transport now or once
        the peer fetched the rest (calling :meth:`EngineSession._finish` then). ``probed``:
        the peer had paused this transport for an upgrade."""
        raise NotImplementedError

    def finished(self) -> None:
        """The session is over: drop what is left."""

    async def flushed(self) -> None:
        """Return once what was sent so far has been handed to the network."""

    def handle_request_now(
        self, request: HttpRequest, body: bytes
    ) -> HttpResponse | Awaitable[HttpResponse] | None:
        """The answer to an HTTP request whose ``body`` is in, if it is ready at once (an
        awaitable: the request is taken, its answer comes later); ``None`` (nothing done):
        :meth:`handle_request` answers it."""
        return None

    async def handle_request(self, request: HttpRequest) -> HttpResponse:
        """An HTTP request for this session (only polling takes them): refused with 400,
        once what this transport was sent went out (as Node)."""
        await self.session.flushed()
        return self.session.server.error_response(3)


class ChannelTransport(Transport):
    """A host's message channel: one Engine.IO packet per message."""

    __slots__ = ("channel",)

    def __init__(self, session: EngineSession, channel: WebSocketChannel) -> None:
        super().__init__(session)
        self.channel = channel

    @classmethod
    def open(cls, session: EngineSession, channel: WebSocketChannel | None) -> Transport:
        """A channel transport over ``channel``."""
        if channel is None:
            raise ValueError(f"the {cls.name} transport needs a channel")
        return cls(session, channel)

    @property
    def writable(self) -> bool:
        """Whether less than ``volatile_threshold`` bytes are queued on the channel."""
        return self.channel.buffered_amount() < self.session.server.volatile_threshold

    def send(self, packet: str | bytes) -> None:
        """Queue the packet on the channel; a slow consumer past the limit is dropped."""
        channel = self.channel
        channel.send(packet)
        if channel.buffered_amount() > self.session.server.max_buffered_bytes:
            self.session._overflow()

    def send_many(self, packets: list[str | bytes]) -> None:
        """Queue the packets on the channel, one message each."""
        channel = self.channel
        for p in packets:
            channel.send(p)
        if channel.buffered_amount() > self.session.server.max_buffered_bytes:
            self.session._overflow()

    def send_prepared(self, message: PreparedMessage) -> None:
        """Queue a prepared message (its frames may be built once for all sessions)."""
        channel = self.channel
        channel.send_prepared(message)
        if channel.buffered_amount() > self.session.server.max_buffered_bytes:
            self.session._overflow()

    def discard(self) -> None:
        """Close the old channel (a WebSocket upgraded to WebTransport)."""
        self.channel.close()

    def abort(self) -> None:
        """Drop the channel and what is queued on it (no close handshake)."""
        self.channel.abort()

    def pause_reading(self) -> None:
        """Ask the host to stop reading the channel."""
        self.channel.pause_reading()

    def resume_reading(self) -> None:
        """Ask the host to read the channel again."""
        self.channel.resume_reading()

    def closing(self, reason: Reason | str, client_initiated: bool, probed: bool) -> None:
        """Close the channel (after what is queued); the session is over at once."""
        self.channel.close()
        self.session._finish()

    async def flushed(self) -> None:
        """Wait for the channel's queue, then a short pause for hosts whose WebSocket writes
        lag behind their HTTP responses."""
        await self.channel.flushed()
        await asyncio.sleep(0.01)


class WebSocketTransport(ChannelTransport):
    """Engine.IO over a WebSocket."""

    name = "websocket"
    accepts = ("webtransport",)  # not offered, but taken from a client that asks, as Node
    __slots__ = ()


class WebTransportTransport(ChannelTransport):
    """Engine.IO over the bidirectional stream of a WebTransport session (HTTP/3)."""

    name = "webtransport"
    __slots__ = ()
