"""The stream of one WebTransport session as the engine's message channel, with flow
control (see :mod:`socketwire.hosting.http3`, which creates it)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from ..engine.http import PreparedMessage, WebSocketHandler
from ..protocol.wtframes import encode_frame

if TYPE_CHECKING:
    from .http3 import _H3Protocol

__all__ = ["WT_HIGH_WATER", "WT_LOW_WATER", "WebTransportChannel"]

# Backpressure, as the WebSocket host's: a session whose stream holds more than the high-water
# mark of data the peer has not acknowledged is not read from (its packets are held, and its
# stream's receive window stops growing, so the peer can send at most one window more) until
# that falls below the low one. What the engine sends past its max_buffered_bytes drops the
# session (abort()).
WT_HIGH_WATER = 1024 * 1024
WT_LOW_WATER = 256 * 1024


class WebTransportChannel:
    """The stream of one WebTransport session, as the engine's message channel: every
    Engine.IO packet sent is one frame on the stream. Reading pauses while the peer is
    behind on what it was sent (``WT_HIGH_WATER`` / ``WT_LOW_WATER``) or while the engine
    asks (:meth:`pause_reading`); the packets that arrive meanwhile are delivered, in order,
    when both allow it again."""

    __slots__ = ("_backlog", "_closed", "_engine_paused", "_protocol", "_write_paused",
                 "handler", "session_id", "stream_id")

    def __init__(self, protocol: _H3Protocol, session_id: int, stream_id: int) -> None:
        self._protocol = protocol
        self.session_id = session_id
        self.stream_id = stream_id
        self.handler: WebSocketHandler | None = None
        self._closed = False
        self._engine_paused = False
        self._write_paused = False
        self._backlog: deque[str | bytes] = deque()

    @property
    def reading_paused(self) -> bool:
        """Whether the peer's packets are held back now."""
        return self._engine_paused or self._write_paused

    def send(self, packet: str | bytes) -> None:
        """Queue one packet on the stream."""
        self._write(encode_frame(packet))

    def send_prepared(self, message: PreparedMessage) -> None:
        """Queue a broadcast's packets (framed once, shared by every recipient)."""
        frames = message.wt_frames
        if frames is None:
            frames = message.wt_frames = b"".join(encode_frame(p) for p in message.packets)
        self._write(frames)

    def _write(self, data: bytes) -> None:
        if self._closed:
            return
        protocol = self._protocol
        protocol._quic.send_stream_data(self.stream_id, data)
        protocol.transmit_soon()
        if not self._write_paused and protocol.unacknowledged(self.stream_id) > WT_HIGH_WATER:
            self._write_paused = True  # the peer is behind: stop reading it
            protocol.watch_drain(self)

    def check_drained(self) -> bool:
        """Resume reading once the peer has caught up (below ``WT_LOW_WATER``); tell
        whether it has."""
        if self._closed or self._protocol.unacknowledged(self.stream_id) < WT_LOW_WATER:
            self._write_paused = False
            self._update()
            return True
        return False

    def pause_reading(self) -> None:
        """Hold the peer's packets back (flow control from the engine)."""
        if not self._engine_paused:
            self._engine_paused = True
            self._update()

    def resume_reading(self) -> None:
        """Deliver the packets held back, then keep delivering."""
        if self._engine_paused:
            self._engine_paused = False
            self._update()

    def deliver(self, packet: str | bytes) -> None:
        """A packet from the peer: to the engine's handler, or held while reading pauses."""
        if self._backlog or self.reading_paused:
            self._backlog.append(packet)
            return
        handler = self.handler
        if handler is not None:
            handler.on_message(packet)

    def _update(self) -> None:
        paused = self.reading_paused
        self._protocol.hold_window(self.stream_id, paused and not self._closed)
        backlog = self._backlog
        while backlog and not self.reading_paused and self.handler is not None:
            self.handler.on_message(backlog.popleft())

    def close(self, code: int = 1000) -> None:
        """End the stream and the session (after what is queued)."""
        if self._closed:
            return
        self._closed = True
        self._backlog.clear()
        self._protocol.hold_window(self.stream_id, False)
        self._protocol.end_session(self.session_id, self.stream_id)

    def abort(self) -> None:
        """Drop the stream and everything queued on it at once, then end the session."""
        if self._closed:
            return
        self._closed = True
        self._backlog.clear()
        self._protocol.hold_window(self.stream_id, False)
        self._protocol.end_session(self.session_id, self.stream_id, reset=True)

    def buffered_amount(self) -> int:
        """Bytes written to the stream that the peer has not acknowledged yet."""
        return self._protocol.unacknowledged(self.stream_id)

    async def flushed(self) -> None:
        """Hand what is queued to the network now."""
        self._protocol.transmit()
        await asyncio.sleep(0)

    def _closed_by_peer(self) -> None:
        self._closed = True
        self._backlog.clear()
        self._protocol.hold_window(self.stream_id, False)
        handler, self.handler = self.handler, None
        if handler is not None:
            handler.on_close()

