"""The client side of Engine.IO's WebTransport transport, on aioquic (HTTP/3).

:func:`connect_webtransport` opens a QUIC connection to the server's UDP port (the number of
its HTTP port, as browsers do), a WebTransport session with an extended CONNECT to the
Engine.IO path, and the session's bidirectional stream; it returns that stream as a
:class:`~socketwire.client.transports.Channel` (one Engine.IO packet per message, framed as in
:mod:`socketwire.protocol.wtframes`). The first message sent on it must be the client's OPEN
packet (``"0"``, or ``'0{"sid":"..."}'`` to upgrade a session), as socket.io-client does.

The server's certificate is checked against the system's CAs (``ssl_verify``), or trusted by
its SHA-256 hash (``certificate_hashes``, as a browser's ``serverCertificateHashes``).
Needs the ``webtransport`` extra (aioquic).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived, WebTransportStreamDataReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import (
    ConnectionTerminated,
    QuicEvent,
    StreamDataReceived,
    StreamReset,
)
from cryptography.hazmat.primitives import hashes

from ..exceptions import ConnectError
from ..protocol.wtframes import FrameDecoder, encode_frame

__all__ = ["WebTransportClientChannel", "connect_webtransport"]


class _ClientProtocol(QuicConnectionProtocol):
    """A QUIC connection carrying one WebTransport session."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.h3 = H3Connection(self._quic, enable_webtransport=True)
        self.session_id: int | None = None
        self.stream_id: int | None = None
        self.response: asyncio.Future[int] = self._loop.create_future()
        self.messages: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.decoder = FrameDecoder(2**53 - 1)  # as socket.io-client: no limit of its own
        self.ended = False

    def quic_event_received(self, event: QuicEvent) -> None:
        """Feed QUIC events to HTTP/3 and the session's stream."""
        if isinstance(event, ConnectionTerminated):
            self._end()
        elif isinstance(event, StreamReset) and event.stream_id in (self.session_id,
                                                                     self.stream_id):
            self._end()
        elif isinstance(event, StreamDataReceived) and event.stream_id == self.stream_id:
            # aioquic's HTTP/3 layer does not know the stream it opened is a WebTransport one
            # (it would parse the server's bytes as HTTP/3 frames): read it here
            self._stream_data(event.data, event.end_stream)
            return
        for h3_event in self.h3.handle_event(event):
            self._h3_event(h3_event)

    def _h3_event(self, event: H3Event) -> None:
        if isinstance(event, HeadersReceived) and event.stream_id == self.session_id:
            status = dict(event.headers).get(b":status", b"0")
            if not self.response.done():
                self.response.set_result(int(status))
            if event.stream_ended:
                self._end()
        elif isinstance(event, DataReceived) and event.stream_id == self.session_id:
            if event.stream_ended:  # the server closed the session
                self._end()
        elif isinstance(event, WebTransportStreamDataReceived):
            if event.stream_id == self.stream_id:
                self._stream_data(event.data, event.stream_ended)

    def _stream_data(self, data: bytes, ended: bool) -> None:
        for packet in self.decoder.feed(data):
            self.messages.put_nowait(packet)
        if self.decoder.error is not None:
            self.messages.put_nowait("")  # read as a parse error by the session
            self._end()
        elif ended:
            self._end()

    def _end(self) -> None:
        if not self.response.done():
            self.response.set_result(0)
        if not self.ended:
            self.ended = True
            self.messages.put_nowait(None)

    def write(self, data: bytes) -> None:
        """Queue ``data`` on the session's stream and send it."""
        assert self.stream_id is not None
        self._quic.send_stream_data(self.stream_id, data)
        self.transmit()

    def peer_certificate_sha256(self) -> bytes | None:
        """SHA-256 of the server's certificate (aioquic keeps it on its TLS context)."""
        cert = getattr(self._quic.tls, "_peer_certificate", None)
        return cert.fingerprint(hashes.SHA256()) if cert is not None else None


class WebTransportClientChannel:
    """The stream of a WebTransport session as a client :class:`Channel`."""

    def __init__(self, protocol: _ClientProtocol, stack: contextlib.AsyncExitStack) -> None:
        self._protocol = protocol
        self._stack = stack
        self._closed = False

    async def send(self, data: str | bytes) -> None:
        """Send one Engine.IO packet (``str`` text, ``bytes`` binary)."""
        if self._closed or self._protocol.ended:
            raise ConnectionResetError("the WebTransport session is closed")
        self._protocol.write(encode_frame(data))

    async def receive(self) -> str | bytes | None:
        """The next packet; ``None`` once the session is closed."""
        if self._closed:
            return None
        return await self._protocol.messages.get()

    async def close(self) -> None:
        """Close the session and the QUIC connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        protocol = self._protocol
        with contextlib.suppress(Exception):
            if protocol.stream_id is not None and not protocol.ended:
                protocol._quic.send_stream_data(protocol.stream_id, b"", end_stream=True)
            if protocol.session_id is not None and not protocol.ended:
                protocol.h3.send_data(protocol.session_id, b"", end_stream=True)
            protocol.transmit()
        protocol._end()
        await self._stack.aclose()


async def connect_webtransport(
    url: str,
    *,
    ssl_verify: bool = True,
    certificate_hashes: Iterable[bytes] = (),
    headers: Mapping[str, str] | None = None,
) -> WebTransportClientChannel:
    """Open a WebTransport session to ``url`` (``https://host:port/path?query``) and its
    stream. Raises :class:`ConnectError` (``"webtransport error"``) when the server cannot
    be reached, its certificate is not trusted or it refuses the session."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    hashes_ok = {bytes(h) for h in certificate_hashes}
    configuration = QuicConfiguration(
        alpn_protocols=list(H3_ALPN),
        is_client=True,
        max_datagram_frame_size=65536,
        server_name=host,
    )
    if hashes_ok or not ssl_verify:  # (otherwise aioquic checks it against certifi's CAs)
        configuration.verify_mode = ssl.CERT_NONE  # checked by hash below, or not at all
    stack = contextlib.AsyncExitStack()
    authority = parts.netloc.rpartition("@")[2]
    try:
        try:
            protocol = await stack.enter_async_context(connect(
                host, parts.port or 443, configuration=configuration,
                create_protocol=_ClientProtocol,
            ))
        except (ConnectionError, OSError) as exc:
            raise ConnectError("webtransport error", {
                "description": f"cannot open a QUIC connection to {authority}: {exc!r}"
            }) from exc
        assert isinstance(protocol, _ClientProtocol)
        if hashes_ok and protocol.peer_certificate_sha256() not in hashes_ok:
            raise ConnectError("webtransport error", {
                "description": f"the certificate of {authority} matches none of the hashes"
            })
        await _open_session(protocol, parts, authority, headers)
        return WebTransportClientChannel(protocol, stack)
    except BaseException:
        await stack.aclose()
        raise


async def _open_session(protocol: _ClientProtocol, parts: SplitResult, authority: str,
                        headers: Mapping[str, str] | None) -> None:
    """The extended CONNECT of the WebTransport session, then its bidirectional stream."""
    session_id = protocol._quic.get_next_available_stream_id()
    protocol.session_id = session_id
    target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    request = [
        (b":method", b"CONNECT"),
        (b":scheme", b"https"),
        (b":authority", authority.encode()),
        (b":path", target.encode()),
        (b":protocol", b"webtransport"),
    ]
    request += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    protocol.h3.send_headers(session_id, request)
    protocol.transmit()
    status = await protocol.response
    if status != 200:
        raise ConnectError("webtransport error", {
            "status": status,
            "description": f"WebTransport session refused by {authority}: HTTP {status}",
        })
    protocol.stream_id = protocol.h3.create_webtransport_stream(session_id)
