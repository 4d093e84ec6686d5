"""An HTTP/3 host on aioquic that serves Engine.IO's WebTransport transport.

Browsers open a WebTransport session with an extended CONNECT (``:protocol = webtransport``)
to the Engine.IO path on the server's UDP port, then one bidirectional stream that carries the
Engine.IO packets framed as in :mod:`socketwire.protocol.wtframes`. The host accepts or
refuses the session through :meth:`WebTransportApp.open_webtransport`, waits (up to the
engine's upgrade timeout) for that stream and its first packet, then hands the stream to
:meth:`WebTransportApp.attach_webtransport` as a message channel (:class:`WebTransportChannel`).
Other HTTP/3 requests get 404: pages and polling stay on the TCP host.

Certificates: browsers trust a self-signed certificate for WebTransport when the page passes
its SHA-256 hash (``serverCertificateHashes``) and it is ECDSA with a validity of at most 14
days; :func:`self_signed_certificate` makes one (``Certificate.sha256``), in
:mod:`socketwire.hosting.certificates`. The channel and its flow control are in
:mod:`socketwire.hosting.wtchannel`; both are re-exported here.

Needs the ``webtransport`` extra (aioquic).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.asyncio.server import QuicServer
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived, WebTransportStreamDataReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import stream_is_unidirectional
from aioquic.quic.events import ConnectionTerminated, ProtocolNegotiated, QuicEvent, StreamReset

from ..engine.http import HttpRequest, HttpResponse, WebTransportApp
from ..protocol.wtframes import FrameDecoder
from .certificates import CERTIFICATE_DAYS, Certificate, self_signed_certificate
from .wtchannel import WT_HIGH_WATER, WT_LOW_WATER, WebTransportChannel

__all__ = [
    "CERTIFICATE_DAYS",
    "WT_HIGH_WATER",
    "WT_LOW_WATER",
    "Certificate",
    "Http3Server",
    "WebTransportChannel",
    "self_signed_certificate",
]

log = logging.getLogger("socketwire.hosting")

# -------------------------------------------------------------------- sessions


class _Session:
    """A WebTransport session accepted by the app, waiting for (then using) its stream."""

    __slots__ = ("channel", "decoder", "request", "timer")

    def __init__(self, request: HttpRequest, max_payload: int) -> None:
        self.request = request
        self.decoder = FrameDecoder(max_payload)
        self.channel: WebTransportChannel | None = None
        self.timer: asyncio.TimerHandle | None = None


class _H3Protocol(QuicConnectionProtocol):
    """One QUIC connection: HTTP/3 with WebTransport sessions to the app."""

    def __init__(self, *args: Any, host: Http3Server, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._host = host
        self._h3: H3Connection | None = None
        self._sessions: dict[int, _Session] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._transmit_scheduled = False
        self._draining: set[WebTransportChannel] = set()  # write-paused: waiting for acks
        self._held_windows: set[int] = set()
        self._hold_windows_of(self._quic)

    # ------------------------------------------------------------- sending

    def transmit_soon(self) -> None:
        """Send what is queued at the end of this loop iteration (writes coalesce)."""
        if not self._transmit_scheduled:
            self._transmit_scheduled = True
            self._loop.call_soon(self._transmit_now)

    def _transmit_now(self) -> None:
        self._transmit_scheduled = False
        self.transmit()

    def watch_drain(self, channel: WebTransportChannel) -> None:
        """Check ``channel`` for drained data whenever the peer's packets arrive (its acks
        come in them)."""
        self._draining.add(channel)

    def datagram_received(self, data: bytes | str, addr: Any) -> None:
        """Handle a datagram, then resume the channels whose peer caught up."""
        super().datagram_received(data, addr)
        if self._draining:
            for channel in [c for c in self._draining if c.check_drained()]:
                self._draining.discard(channel)

    def hold_window(self, stream_id: int, hold: bool) -> None:
        """Stop (or let again) the stream's receive window grow: while a channel does not
        read, its peer may send at most what the window already allows."""
        if hold:
            self._held_windows.add(stream_id)
        elif stream_id in self._held_windows:
            self._held_windows.discard(stream_id)
            self.transmit_soon()  # a window raise may be due now

    def _hold_windows_of(self, quic: Any) -> None:
        """aioquic raises a stream's receive window as data arrives, not as it is consumed,
        and has no setting for it: its window step is skipped for the held streams."""
        raise_limits: Callable[..., None] | None = getattr(quic, "_write_stream_limits", None)
        if raise_limits is None:
            return  # another aioquic: windows grow as usual (the held packets still wait)
        held = self._held_windows

        def write_stream_limits(builder: Any, space: Any, stream: Any) -> None:
            if stream.stream_id not in held:
                raise_limits(builder=builder, space=space, stream=stream)

        quic._write_stream_limits = write_stream_limits

    def unacknowledged(self, stream_id: int) -> int:
        """Bytes of ``stream_id`` sent or queued but not acknowledged by the peer."""
        stream = self._quic._streams.get(stream_id)  # aioquic has no public API for it
        return len(stream.sender._buffer) if stream is not None else 0

    def end_session(self, session_id: int, stream_id: int, reset: bool = False) -> None:
        """End the stream (FIN, or a reset), then the session's CONNECT stream."""
        session = self._sessions.pop(session_id, None)
        if session is not None and session.timer is not None:
            session.timer.cancel()
        quic = self._quic
        try:
            if reset:
                quic.reset_stream(stream_id, 0)
            elif quic._stream_can_send(stream_id):
                quic.send_stream_data(stream_id, b"", end_stream=True)
            if self._h3 is not None and quic._stream_can_send(session_id):
                self._h3.send_data(session_id, b"", end_stream=True)
        except Exception:  # the stream is already gone: nothing to end
            log.debug("ending WebTransport session %d", session_id, exc_info=True)
        self.transmit_soon()

    # ----------------------------------------------------------- receiving

    def quic_event_received(self, event: QuicEvent) -> None:
        """Feed QUIC events to HTTP/3 and handle what comes out."""
        if isinstance(event, ProtocolNegotiated):
            if event.alpn_protocol in H3_ALPN:
                self._h3 = H3Connection(self._quic, enable_webtransport=True)
        elif isinstance(event, ConnectionTerminated):
            for session_id in list(self._sessions):
                self._session_gone(session_id)
        elif isinstance(event, StreamReset):
            self._stream_reset(event.stream_id)
        if self._h3 is not None:
            for h3_event in self._h3.handle_event(event):
                self._h3_event_received(h3_event)

    def _h3_event_received(self, event: H3Event) -> None:
        if isinstance(event, HeadersReceived):
            self._headers_received(event)
        elif isinstance(event, WebTransportStreamDataReceived):
            self._stream_data(event)
        elif isinstance(event, DataReceived) and event.stream_ended:
            if event.stream_id in self._sessions:  # the client closed its session
                self._session_gone(event.stream_id)

    def _headers_received(self, event: HeadersReceived) -> None:
        headers: dict[str, str] = {}
        for name, value in event.headers:
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        method = headers.get(":method", "")
        target = headers.get(":path", "/")
        path, _, query_string = target.partition("?")
        app = self._host.app
        if method != "CONNECT" or headers.get(":protocol") != "webtransport" or not (
            path.startswith(app.path) or path + "/" == app.path
        ):
            self._respond(event.stream_id, HttpResponse(404, [("content-length", "0")]))
            return
        peer = self._quic._network_paths[0].addr if self._quic._network_paths else ("", 0)
        request = HttpRequest(
            method="CONNECT",
            path=path,
            query=dict(parse_qsl(query_string, keep_blank_values=True)),
            headers={k: v for k, v in headers.items() if not k.startswith(":")},
            remote_addr=str(peer[0]),
            secure=True,
            query_string=query_string,
        )
        task = self._loop.create_task(self._open_session(event.stream_id, request))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _open_session(self, session_id: int, request: HttpRequest) -> None:
        app = self._host.app
        try:
            refusal = await app.open_webtransport(request)
        except Exception:
            log.exception("open_webtransport failed")
            refusal = HttpResponse(500, [("content-length", "0")])
        if refusal is not None:
            self._respond(session_id, refusal)
            return
        assert self._h3 is not None
        self._h3.send_headers(session_id, [(b":status", b"200"),
                                           (b"sec-webtransport-http3-draft", b"draft02")])
        self.transmit_soon()
        session = _Session(request, app.max_http_buffer_size)
        session.timer = self._loop.call_later(self._host.upgrade_timeout, self._no_stream,
                                              session_id)
        self._sessions[session_id] = session

    def _respond(self, stream_id: int, response: HttpResponse) -> None:
        assert self._h3 is not None
        headers = [(b":status", str(response.status).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in response.headers]
        self._h3.send_headers(stream_id, headers, end_stream=not response.body)
        if response.body:
            self._h3.send_data(stream_id, response.body, end_stream=True)
        self.transmit_soon()

    def _no_stream(self, session_id: int) -> None:
        session = self._sessions.get(session_id)
        if session is not None and session.channel is None:
            log.debug("WebTransport session %d opened no stream in time", session_id)
            session.timer = None
            self._close_connect_stream(session_id)

    def _close_connect_stream(self, session_id: int) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None and session.timer is not None:
            session.timer.cancel()
        if self._h3 is not None and self._quic._stream_can_send(session_id):
            self._h3.send_data(session_id, b"", end_stream=True)
            self.transmit_soon()

    def _stream_data(self, event: WebTransportStreamDataReceived) -> None:
        session = self._sessions.get(event.session_id)
        if session is None or stream_is_unidirectional(event.stream_id):
            return  # unknown session, or a unidirectional stream: Engine.IO uses neither
        channel = session.channel
        if channel is None:
            channel = session.channel = WebTransportChannel(self, event.session_id,
                                                            event.stream_id)
            if session.timer is not None:
                session.timer.cancel()
                session.timer = None
        elif channel.stream_id != event.stream_id:
            return  # Engine.IO uses the session's first stream only
        for packet in session.decoder.feed(event.data):
            if channel.handler is None:
                handler = self._host.app.attach_webtransport(session.request, packet, channel)
                if handler is None:
                    channel.close()
                    return
                channel.handler = handler
            else:
                channel.deliver(packet)
            if event.session_id not in self._sessions:
                return  # the session was closed by that packet
        if session.decoder.error is not None:
            log.debug("WebTransport session %d: %s", event.session_id, session.decoder.error)
            handler = channel.handler
            if handler is not None:
                # an empty message is what the engine reads as an unreadable packet: the
                # session closes with "parse error", as Node's on the reference decoder's error
                handler.on_message("")
            channel.close()
        elif event.stream_ended:
            self._session_gone(event.session_id)

    def _stream_reset(self, stream_id: int) -> None:
        for session_id, session in list(self._sessions.items()):
            if session_id == stream_id or (
                session.channel is not None and session.channel.stream_id == stream_id
            ):
                self._session_gone(session_id)

    def _session_gone(self, session_id: int) -> None:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return
        if session.timer is not None:
            session.timer.cancel()
        if session.channel is not None:
            self._draining.discard(session.channel)
            session.channel._closed_by_peer()


# ---------------------------------------------------------------------- server


class Http3Server:
    """Serves ``app``'s WebTransport sessions over HTTP/3 on a UDP port.

    ``certificate`` defaults to a fresh :func:`self_signed_certificate` (its hash is
    ``server.certificate.sha256``). ``upgrade_timeout`` (seconds) bounds the wait for a
    session's stream and first packet (the engine's own by default).
    """

    def __init__(
        self,
        app: WebTransportApp,
        certificate: Certificate | None = None,
        *,
        upgrade_timeout: float | None = None,
    ) -> None:
        self.app = app
        self.certificate = certificate or self_signed_certificate()
        self.upgrade_timeout = app.upgrade_timeout if upgrade_timeout is None else upgrade_timeout
        self._server: QuicServer | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._protocols: weakref.WeakSet[_H3Protocol] = weakref.WeakSet()

    def channels(self) -> list[WebTransportChannel]:
        """The streams of the WebTransport sessions open now."""
        return [session.channel for protocol in list(self._protocols)
                for session in protocol._sessions.values() if session.channel is not None]

    @property
    def port(self) -> int:
        """The UDP port listened on."""
        assert self._transport is not None, "not started"
        return int(self._transport.get_extra_info("sockname")[1])

    def _configuration(self) -> QuicConfiguration:
        configuration = QuicConfiguration(
            alpn_protocols=list(H3_ALPN),
            is_client=False,
            max_datagram_frame_size=65536,  # browsers want datagrams with WebTransport
        )
        configuration.certificate = self.certificate.certificate
        configuration.private_key = self.certificate.private_key
        return configuration

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host``:``port`` (UDP; 0 picks a free port)."""
        loop = asyncio.get_running_loop()
        configuration = self._configuration()

        def create_protocol(*args: Any, **kwargs: Any) -> _H3Protocol:
            protocol = _H3Protocol(*args, host=self, **kwargs)
            self._protocols.add(protocol)
            return protocol

        transport, protocol = await loop.create_datagram_endpoint(
            lambda: QuicServer(configuration=configuration, create_protocol=create_protocol),
            local_addr=(host, port),
        )
        self._transport = transport
        self._server = protocol

    async def close(self) -> None:
        """Close every QUIC connection and stop listening (the app's sessions end with
        them; the app itself is shut down by its TCP host)."""
        if self._server is not None:
            self._server.close()
            self._server = None
            await asyncio.sleep(0)

