"""The standalone host's WebSocket side: an upgraded connection's frames in and out.

:class:`WebSocketProtocol` takes a TCP transport over from the HTTP protocol after the 101
(``transport.set_protocol``) and is the engine's
:class:`~socketwire.engine.http.WebSocketChannel` for it: RFC 6455 frames
(:mod:`socketwire.hosting.wsframes`), the closing handshake, and flow control both ways.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..engine.http import HttpRequest, PreparedMessage, WebSocketHandler
from . import wsframes
from ._abort import abort_transport

if TYPE_CHECKING:
    from .standalone import StandaloneServer

__all__ = ["HOLD_LIMIT", "WS_CLOSE_TIMEOUT", "WS_HIGH_WATER", "WS_LOW_WATER", "WebSocketProtocol",
           "WriteCork", "handshake_response"]

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# A WebSocket gets larger write-buffer marks than HTTP, as what it is sent is mostly the
# application's (bounded by max_buffered_bytes) and its pongs must still be read while it
# catches up.
WS_HIGH_WATER = 1024 * 1024
WS_LOW_WATER = 256 * 1024
WS_CLOSE_TIMEOUT = 1.0  # how long a close frame of ours waits for the peer's
# What the write cork holds for one connection before writing it anyway: one write of that
# size costs about what several do, and the engine's max_buffered_bytes check (which sees
# what the transport holds, not what is held here) stays at most this far behind.
HOLD_LIMIT = 16 * 1024
_TEXT_HEADS = wsframes.TEXT_HEADS


def handshake_response(key: str, headers: list[tuple[str, str]]) -> bytes:
    """The 101 answer accepting a WebSocket whose ``Sec-WebSocket-Key`` is ``key``."""
    accept = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
    ).encode("latin-1")


class WriteCork:
    """Writes held while one read's messages are handled, then written together.

    When a read from a peer completes two messages or more, the frames the server produces
    while handling them (replies, every recipient's copy of each broadcast) are held per
    connection and, once the last of those messages is handled, go out as one transport
    write per connection: a read that carried four broadcasts costs each recipient one
    ``send`` of four frames instead of four, and the recipient one read. Nothing waits past
    the end of the read that produced it, and a connection's held frames are written as
    soon as they reach ``HOLD_LIMIT`` bytes. A read with one message writes at once, as
    holding would only add work. One cork per :class:`StandaloneServer` (one event loop).
    """

    __slots__ = ("active", "held")

    def __init__(self) -> None:
        self.active = False
        self.held: list[WebSocketProtocol] = []

    def release(self) -> None:
        """Stop holding, and write what every connection held (in the order it was held)."""
        self.active = False
        held = self.held
        if held:
            self.held = []
            for ws in held:  # WebSocketProtocol._flush, inlined
                out = ws._held
                if out is not None:
                    ws._held = None
                    if not ws._gone:
                        ws.transport.write(out)


class WebSocketProtocol(asyncio.Protocol):
    """One upgraded connection: frames in and out, RFC 6455 closing handshake, flow control.
    It is also the engine's :class:`~socketwire.engine.http.WebSocketChannel` for it."""

    __slots__ = ("_backlog", "_close_timer", "_closing", "_cork", "_engine_paused", "_gone",
                 "_held", "_read_paused", "_write_paused", "buffered_amount", "handler",
                 "parser", "request", "server", "transport")

    def __init__(self, server: StandaloneServer, transport: asyncio.Transport,
                 request: HttpRequest) -> None:
        self.server = server
        self.transport = transport
        self.request = request
        self.parser = wsframes.FrameParser(server.app.max_http_buffer_size,
                                           server.ws_max_fragments)
        self.handler: WebSocketHandler | None = None
        self._closing = False  # a close frame of ours is out: nothing else will be
        self._gone = False  # the TCP connection is closed (or closing) for good
        self._close_timer: asyncio.TimerHandle | None = None
        self._engine_paused = False
        self._write_paused = False
        self._read_paused = False
        # messages held while the engine paused reading; a deque (~600 bytes) only then
        self._backlog: deque[wsframes.Message] | None = None
        self._cork = server.cork
        #: the channel's ``buffered_amount()``: bytes written but not yet taken by the kernel.
        #: The transport's own method, called by the engine after every send without a
        #: Python frame in between; frames held by the cork are not written yet and are not
        #: counted (they are written, then counted, every ``HOLD_LIMIT`` bytes).
        self.buffered_amount: Callable[[], int] = transport.get_write_buffer_size
        # frames held by the cork (None: nothing held; every write then goes straight out)
        self._held: bytearray | None = None

    def start(self, acceptance: Any, pending: bytes) -> None:
        """Attach the engine's handler, then handle the bytes that came with the upgrade."""
        self.handler = acceptance.attach(self)
        if pending:
            self.data_received(pending)

    # ------------------------------------------------- the engine's channel

    def send(self, packet: str | bytes) -> None:
        """Queue one message: text for ``str``, binary for ``bytes``."""
        if self._closing:
            return
        if type(packet) is str:
            data = packet.encode()
            n = len(data)
            # wsframes.frame for a small text frame, without its call (this runs per message)
            data = _TEXT_HEADS[n] + data if n < 126 else wsframes.frame(wsframes.OP_TEXT, data)
        elif isinstance(packet, str):
            data = wsframes.frame(wsframes.OP_TEXT, packet.encode())
        else:
            data = wsframes.frame(wsframes.OP_BINARY, packet)
        if self._held is None and not self._cork.active:
            self.transport.write(data)  # the common case, without _write's call
        else:
            self._write(data)

    def send_prepared(self, message: PreparedMessage) -> None:
        """Queue a broadcast's frames, built once for every recipient."""
        if self._closing:
            return
        frames = message.ws_frames
        if frames is None:
            frames = message.ws_frames = b"".join(
                wsframes.frame(wsframes.OP_TEXT, p.encode()) if isinstance(p, str)
                else wsframes.frame(wsframes.OP_BINARY, p)
                for p in message.packets
            )
        held = self._held  # _write, inlined: this runs once per recipient
        if held is not None:
            held += frames
            if len(held) >= HOLD_LIMIT:
                self._flush()
        elif self._cork.active and len(frames) < HOLD_LIMIT:
            self._held = bytearray(frames)
            self._cork.held.append(self)
        else:
            self.transport.write(frames)

    def _write(self, data: bytes) -> None:
        """Write ``data``, after what is held; held too while the cork is (see
        :class:`WriteCork`), until ``HOLD_LIMIT`` bytes are."""
        held = self._held
        if held is not None:
            held += data
            if len(held) >= HOLD_LIMIT:
                self._flush()
        elif self._cork.active and len(data) < HOLD_LIMIT:
            self._held = bytearray(data)
            self._cork.held.append(self)
        else:
            self.transport.write(data)

    def _flush(self) -> None:
        """Write what the cork held, in one transport write."""
        held = self._held
        if held is not None:
            self._held = None
            if not self._gone:
                self.transport.write(held)

    def close(self, code: int = 1000) -> None:
        """Start the closing handshake; the TCP connection ends on the peer's close frame,
        or after ``WS_CLOSE_TIMEOUT``."""
        if self._closing:
            return
        self._closing = True
        if self.transport.is_closing():
            return
        self._write(wsframes.close_frame(code))
        self._close_timer = asyncio.get_running_loop().call_later(WS_CLOSE_TIMEOUT,
                                                                  self._close_timed_out)
        if self._engine_paused or self._write_paused:
            self._set_reading()  # the peer's close frame must be read

    def abort(self) -> None:
        """Drop the connection and its unsent data at once (a slow consumer over the cap)."""
        self._closing = True
        self._end(abort=True)

    async def flushed(self) -> None:
        """Writes reach the transport by the end of the read being handled."""
        return None

    def pause_reading(self) -> None:
        """Stop delivering messages (flow control from the engine)."""
        if not self._engine_paused:
            self._engine_paused = True
            self._set_reading()

    def resume_reading(self) -> None:
        """Deliver the messages held back, then read again."""
        if not self._engine_paused:
            return
        self._engine_paused = False
        backlog, self._backlog = self._backlog, None
        if backlog:
            self._deliver_batch(backlog)
        self._set_reading()

    # ------------------------------------------------------- asyncio protocol

    def pause_writing(self) -> None:
        """The peer is not taking our frames: stop reading it."""
        self._write_paused = True
        self._set_reading()

    def resume_writing(self) -> None:
        """The peer reads again: so do we."""
        self._write_paused = False
        self._set_reading()

    def _set_reading(self) -> None:
        transport = self.transport
        if self._gone or transport.is_closing():
            return
        pause = (self._engine_paused or self._write_paused) and not self._closing
        if pause != self._read_paused:
            self._read_paused = pause
            if pause:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is gone: the engine's handler hears of it once."""
        self._gone = True
        self._closing = True
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self.server.forget(self)
        self._backlog = None
        self._held = None
        self._notify_closed()

    def eof_received(self) -> bool:
        """The peer is done sending: close our side too (``connection_lost`` follows)."""
        return False

    def data_received(self, data: bytes) -> None:
        """Bytes from the peer: complete messages go to the engine's handler."""
        if self._gone:
            return
        # the hot path: one small text frame, delivered as _deliver would, without its loop
        text = self.parser.single_text(data)
        if text is not None:
            if not self._closing and not self._engine_paused:
                handler = self.handler
                if handler is not None:
                    handler.on_message(text)
                return
            self._deliver(deque([(wsframes.OP_TEXT, text)]) if self._engine_paused
                          else [(wsframes.OP_TEXT, text)])
            return
        try:
            messages = self.parser.feed(data)
        except wsframes.WebSocketError as exc:
            self._deliver(exc.messages)
            self._fail(exc.code, exc.in_close_frame)
            return
        if messages:
            if len(messages) > 1:
                self._deliver_batch(deque(messages) if self._engine_paused else messages)
            else:
                self._deliver(deque(messages) if self._engine_paused else messages)

    def _deliver_batch(self, messages: list[wsframes.Message] | deque[wsframes.Message]
                       ) -> None:
        """Deliver ``messages``; two or more are handled under the cork (see
        :class:`WriteCork`), unless it is held already (it is released by whoever took it)."""
        cork = self._cork
        if len(messages) < 2 or cork.active:
            self._deliver(messages)
            return
        cork.active = True
        try:
            self._deliver(messages)
        finally:
            cork.release()

    def _deliver(self, messages: list[wsframes.Message] | deque[wsframes.Message]) -> None:
        for index, (opcode, payload) in enumerate(messages):
            if self._gone:
                return
            if opcode == wsframes.OP_CLOSE:
                self._closed_by_peer(payload)  # type: ignore[arg-type]
                return
            if self._closing:
                continue  # after our close frame only the peer's close matters
            if opcode == wsframes.OP_PING:
                self._write(wsframes.frame(wsframes.OP_PONG, payload))  # type: ignore[arg-type]
                continue
            if opcode == wsframes.OP_PONG:
                continue
            if self._engine_paused:  # the engine paused reading: keep the rest for later
                if self._backlog is None:
                    self._backlog = deque()
                self._backlog.extend(list(messages)[index:])
                return
            handler = self.handler
            if handler is not None:
                handler.on_message(payload)

    def _fail(self, code: int, peer_closed: bool = False) -> None:
        """The peer broke the protocol: close frame with ``code``; the peer's reply (read with
        a fresh parser, since the stream is out of step) ends the connection, or our frame
        does at once when the offence was the peer's own (invalid) close frame."""
        self.parser = wsframes.FrameParser(125)
        if self._closing:
            self._end(abort=True)
            return
        self.close(code)
        if peer_closed:
            self._end()
        self._notify_closed()

    def _closed_by_peer(self, payload: bytes) -> None:
        if not self._closing:
            self._closing = True
            # echo the status code (RFC 6455 section 5.5.1), without the reason
            self._write(wsframes.frame(wsframes.OP_CLOSE, payload[:2]))
        self._end()
        self._notify_closed()

    def _close_timed_out(self) -> None:
        self._close_timer = None
        self._end(abort=True)

    def _end(self, abort: bool = False) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self._gone:
            return
        if abort:
            self._held = None  # dropped with the rest of the unsent data
        else:
            self._flush()  # held frames (our close frame) go out before the close
        self._gone = True
        self._backlog = None
        if abort:
            abort_transport(self.transport)
        else:
            self.transport.close()  # what is queued (our close frame) goes out first

    def _notify_closed(self) -> None:
        handler, self.handler = self.handler, None
        if handler is not None:
            handler.on_close()
