"""HTTP long-polling: the transport every polling session starts on.

:class:`PollingTransport` owns the outbound buffer, the pending GET, the POST guard and the
batching of answers; it answers the session's GETs and POSTs (:meth:`handle_request`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from ..exceptions import RemoteProtocolError
from ..protocol import eio
from ..protocol.eio import EioType
from ..protocol.eio_machine import SessionState, Upgrade
from ..protocol.reasons import Reason
from .http import HttpRequest, HttpResponse, PreparedMessage, WebSocketChannel
from .transport import Transport

if TYPE_CHECKING:
    from .session import EngineSession

__all__ = ["CLOSE_TIMEOUT", "OK_HEADERS", "POLL_BATCH", "PollingTransport"]

NOOP = "6"
CLOSE = "1"
OK_HEADERS = [("Content-Type", "text/html"), ("Content-Length", "2")]
# packets per long-polling answer: the rest go in the next GET. Node sends everything at once;
# python-engineio clients drop a whole payload of more than 16 packets, so we stop there.
POLL_BATCH = 16
CLOSE_TIMEOUT = 30.0  # how long a closed polling session waits for the GET that is told so
# reasons after which Node drops a polling session at once (no "1" kept for a later GET)
_GONE_AT_ONCE = frozenset({Reason.PING_TIMEOUT, Reason.PARSE_ERROR, Reason.TRANSPORT_ERROR,
                           Reason.TRANSPORT_CLOSE})
_PROBE_WAIT_STEP = 0.005  # seconds; a GET waits up to 20 steps for a connected probe
_UPGRADE_POLL = 0.1  # seconds a GET during the upgrade waits before a noop, as Node's check


class PollingTransport(Transport):
    """Engine.IO over HTTP long-polling GETs (server to client) and POSTs (client to server)."""

    name = "polling"
    upgrades = ("websocket", "webtransport")
    accepts = upgrades
    over_http = True

    __slots__ = ("_buffer", "_close_packet", "_last_get", "_poll", "_post_active", "_reading",
                 "_size")

    def __init__(self, session: EngineSession) -> None:
        super().__init__(session)
        self._buffer: list[str | bytes] = []
        self._size = 0
        self._poll: asyncio.Future[None] | None = None
        self._post_active = False
        self._reading: asyncio.Future[None] | None = None  # set while reading is paused
        self._close_packet = CLOSE
        self._last_get = False  # closed while the client paused polling to upgrade

    @classmethod
    def open(cls, session: EngineSession, channel: WebSocketChannel | None) -> Transport:
        """A polling transport (it has no channel)."""
        return cls(session)

    # ------------------------------------------------------------------ sending

    @property
    def writable(self) -> bool:
        """As Node: a GET is waiting (upgrade or not)."""
        return self._poll is not None

    def send(self, packet: str | bytes) -> None:
        """Buffer the packet for the pending or the next GET."""
        self._buffer.append(packet)
        self._size += len(packet)
        self._after_buffering()

    def send_many(self, packets: list[str | bytes]) -> None:
        """Buffer the packets together."""
        self._buffer.extend(packets)
        self._size += sum(len(p) for p in packets)
        self._after_buffering()

    def send_prepared(self, message: PreparedMessage) -> None:
        """Buffer a prepared message's packets."""
        self._buffer.extend(message.packets)
        self._size += message.size
        self._after_buffering()

    def _after_buffering(self) -> None:
        if self._size > self.session.server.max_buffered_bytes:
            self.session._overflow()
        elif self._poll is not None and not self._poll.done():
            self._poll.set_result(None)  # during an upgrade too: polling flows until "5"

    def _release_poll(self) -> None:
        if self._poll is not None and not self._poll.done():
            self._poll.set_result(None)

    def take_buffered(self) -> list[str | bytes]:
        """The buffer, emptied (the upgrade moves it to the new transport)."""
        out, self._buffer, self._size = self._buffer, [], 0
        return out

    def has_pending(self) -> bool:
        """Whether packets wait for a GET."""
        return bool(self._buffer)

    def probe_answered(self) -> None:
        """The pending GET gets a noop so the client can pause polling."""
        self._release_poll()

    def discard(self) -> None:
        """The upgrade is done: a pending GET is answered (400) and the POST waiter freed."""
        self._release_poll()
        self.resume_reading()

    # ---------------------------------------------------------------- requests

    def _not_a_post(self, request: HttpRequest) -> HttpResponse | None:
        """The answer to a request that is not a POST to an open session (a POST to a
        closing one is accepted and ignored, as in Node); ``None`` for a POST to handle."""
        session = self.session
        if request.method != "POST":
            return session.server.error_response(2)
        if session.state is SessionState.CLOSING:
            return HttpResponse(200, list(OK_HEADERS), b"ok")
        if session.state is not SessionState.OPEN:
            return session.server.error_response(1)
        return None

    async def handle_request(self, request: HttpRequest) -> HttpResponse:
        """Answer a GET (long poll) or a POST (packets from the client)."""
        if request.method == "GET":
            return await self.handle_poll()
        refused = self._not_a_post(request)
        if refused is not None:
            return refused
        return await self.handle_post(request)

    def handle_request_now(
        self, request: HttpRequest, body: bytes
    ) -> HttpResponse | Awaitable[HttpResponse] | None:
        """The answers ready at once: a POST (unless reading is paused), a GET with packets
        buffered (or the close), the errors; ``None`` (nothing done) for a GET that waits;
        an awaitable for a POST delivered while a handler paused reading."""
        session = self.session
        if request.method == "GET":
            if self._poll is not None:
                session.close(Reason.TRANSPORT_ERROR)  # overlap, as in handle_poll
                return session.server.error_response(3)
            state = session.state
            if (session.machine.upgrade is not Upgrade.NONE or session.current is not self
                    or (not self._buffer and state is SessionState.OPEN)):
                return None
            return self._take_poll_answer()
        refused = self._not_a_post(request)
        if refused is not None:
            return refused
        if self._reading is not None:
            return None  # paused: the answer waits (handle_post)
        if self._post_active or request.headers.get("content-type", "").startswith(
                "application/octet-stream"):
            session.close(Reason.TRANSPORT_ERROR)
            return session.server.error_response(3)
        if len(body) > session.server.max_http_buffer_size:
            return HttpResponse(413, [("Content-Length", "0")], b"", close=True)
        self._deliver(body)
        if self._reading is not None:
            return self._ok_when_reading()  # paused by a handler meanwhile
        return HttpResponse(200, list(OK_HEADERS), b"ok")

    async def _ok_when_reading(self) -> HttpResponse:
        """The answer to a POST delivered while reading got paused: once it resumes."""
        if self._reading is not None:
            await self._reading
        return HttpResponse(200, list(OK_HEADERS), b"ok")

    async def handle_poll(self) -> HttpResponse:
        """A long-polling GET: answer with what is buffered, or wait for something."""
        session = self.session
        if self._poll is not None:
            session.close(Reason.TRANSPORT_ERROR)  # overlap from client; the first GET gets "1"
            return session.server.error_response(3)
        if session.machine.upgrade is Upgrade.PROBING and not self._buffer:
            await self._wait_for_probe()
        if (session.machine.upgrade is Upgrade.PROBED and session.state is SessionState.OPEN
                and not self._buffer):
            return await self._poll_while_upgrading()
        if session.current is not self:  # upgraded meanwhile
            await session.flushed()
            return session.server.error_response(3)
        if not self._buffer and session.state is SessionState.OPEN:
            await self._wait_for_packets()
        return self._take_poll_answer()

    async def _wait_for_packets(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._poll = fut
        try:
            await fut
        except asyncio.CancelledError:
            if self._poll is fut:
                self._poll = None
                self.session.close(Reason.TRANSPORT_ERROR)
            raise
        finally:
            if self._poll is fut:
                self._poll = None

    def _take_poll_answer(self) -> HttpResponse:
        """The answer to a GET: what is buffered (up to ``POLL_BATCH``), or the close."""
        session = self.session
        packets = self._buffer
        if len(packets) > POLL_BATCH and session.state is SessionState.OPEN:
            # (once closing, everything goes at once: the server may be going away)
            cut = POLL_BATCH
            while cut < len(packets) and isinstance(packets[cut], bytes):
                cut += 1  # a binary packet's attachments stay with it
            packets, self._buffer = packets[:cut], packets[cut:]
            self._size = sum(len(p) for p in self._buffer)
        else:
            self._buffer = []
            self._size = 0
        if session.state is SessionState.CLOSING:
            if packets:
                # as Node: what was buffered goes out alone, the close packet in the next GET.
                # socket.io-client handles Socket.IO packets a tick after the Engine.IO close
                # of the same payload, so "41" + "1" together looked like "transport close".
                if self._last_get and not self._buffer:
                    session._finish()  # the client polls no more: this was its last GET
                else:
                    session._finish_later(CLOSE_TIMEOUT)
                return payload_response(packets)
            packets.append(self._close_packet)
            session._finish()
        return payload_response(packets or [NOOP])

    async def _wait_for_probe(self) -> None:
        # A WebSocket is connected for the upgrade but its probe has not been read yet (its
        # frames may still sit in the host's queues): give it up to 100 ms before answering.
        session = self.session
        for _ in range(20):
            await asyncio.sleep(_PROBE_WAIT_STEP)
            if (session.machine.upgrade is not Upgrade.PROBING or self._buffer
                    or session.state is not SessionState.OPEN):
                return

    async def _poll_while_upgrading(self) -> HttpResponse:
        # As Node: a GET during the upgrade gets what is sent meanwhile, else a noop within
        # 100 ms, or 400 if the upgrade completes meanwhile (polling is over for it then).
        session = self.session
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._poll = fut
        timer = asyncio.get_running_loop().call_later(_UPGRADE_POLL, self._release_poll)
        try:
            await fut
        finally:
            timer.cancel()
            if self._poll is fut:
                self._poll = None
        if self._buffer and session.current is self and session.state is not SessionState.CLOSED:
            # what was sent meanwhile; when closing, the close packet follows in the next GET
            # (a DISCONNECT sent right before closing reached the client as "transport close")
            return self._take_poll_answer()
        if session.state is SessionState.CLOSING:
            session._finish()
            return payload_response([self._close_packet])
        await session.flushed()
        if session.current is not self or session.state is not SessionState.OPEN:
            return session.server.error_response(3)
        return payload_response([NOOP])

    async def handle_post(self, request: HttpRequest) -> HttpResponse:
        """A long-polling POST: decode the payload and deliver its packets."""
        session = self.session
        if self._post_active or request.headers.get("content-type", "").startswith(
                "application/octet-stream"):
            session.close(Reason.TRANSPORT_ERROR)
            return session.server.error_response(3)
        self._post_active = True
        try:
            raw = await request.read_body(session.server.max_http_buffer_size)
        except asyncio.CancelledError:
            session.close(Reason.TRANSPORT_ERROR)
            raise
        except Exception:  # BodyTooLarge or a broken connection
            return HttpResponse(413, [("Content-Length", "0")], b"", close=True)
        finally:
            self._post_active = False
        self._deliver(raw)
        if self._reading is not None:
            await self._reading  # paused: the client's next POST waits for this answer
        return HttpResponse(200, list(OK_HEADERS), b"ok")

    def _deliver(self, raw: bytes) -> None:
        """Decode a POST's payload and hand its packets to the session."""
        session = self.session
        try:
            packets = eio.decode_payload(raw.decode("utf-8"))
        except (RemoteProtocolError, UnicodeDecodeError):
            session.close(Reason.PARSE_ERROR)
            return
        for kind, data in packets:
            if session.state is not SessionState.OPEN:
                if kind is EioType.CLOSE and session.state is SessionState.CLOSING:
                    session._finish()  # as Node: the client closes too, no GET will follow
                break
            session.receive(kind, data)

    # ------------------------------------------------------------- flow control

    def pause_reading(self) -> None:
        """The answer to the current POST waits until reading resumes."""
        if self._reading is None:
            self._reading = asyncio.get_running_loop().create_future()

    def resume_reading(self) -> None:
        """Answer the POST held back."""
        waiter, self._reading = self._reading, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ------------------------------------------------------------------ closing

    def closing(self, reason: Reason | str, client_initiated: bool, probed: bool) -> None:
        """As Node: a GET gets what is still buffered, the next one ``1`` (``6`` when the
        client itself sent ``1``); the session waits up to ``CLOSE_TIMEOUT`` for that GET."""
        session = self.session
        self._last_get = probed
        if client_initiated:
            self._buffer = []
            self._size = 0
            self._close_packet = NOOP
        grace = session.server.client_close_grace
        if self._poll is not None:
            self._release_poll()  # the GET answers, then finishes the session
        elif client_initiated and grace > 0:
            # --workers: the client's GET may still be on its way through another worker; it
            # gets its "6" if it comes within the grace, and the session is gone after it
            session._finish_later(grace)
        elif client_initiated or reason in _GONE_AT_ONCE:
            session._finish()  # as in Node: a broken session is gone, the next GET gets 400
        else:
            session._finish_later(CLOSE_TIMEOUT)

    def finished(self) -> None:
        """Drop the buffer; a held-back POST is answered."""
        self.resume_reading()
        self._buffer = []
        self._size = 0


def payload_response(packets: list[str | bytes]) -> HttpResponse:
    """A 200 answer carrying ``packets`` as a polling payload."""
    body = eio.encode_payload(packets).encode()
    return HttpResponse(
        200,
        [("Content-Type", "text/plain; charset=UTF-8"), ("Content-Length", str(len(body)))],
        body,
    )
