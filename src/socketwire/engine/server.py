"""EngineServer: handshakes, the session registry, request routing, CORS."""

from __future__ import annotations

import asyncio
import base64
import functools
import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import HandshakeError
from ..log import packet_tracing_wanted, trace_packets
from ..protocol import eio, jsoncodec, wtframes
from ..protocol.reasons import Reason
from .cors import CorsOrigins, cookie_header, cors_headers, origin_allowed, preflight
from .hooks import EngineHooks
from .http import HttpRequest, HttpResponse, WebSocketChannel, WebSocketHandler
from .session import EngineSession, SessionState, WebSocketSessionHandler
from .transport import WebSocketTransport, WebTransportTransport
from .transports import TRANSPORTS

__all__ = ["CorsOrigins", "EngineServer", "WebSocketAcceptance"]

log = logging.getLogger("socketwire.engine")

AllowRequest = Callable[[HttpRequest], "bool | Awaitable[bool]"]


@dataclass(slots=True)
class WebSocketAcceptance:
    """A WebSocket request the engine accepts: the host answers 101 (adding ``headers``), then
    calls ``attach``."""

    attach: Callable[[WebSocketChannel], WebSocketHandler]
    headers: list[tuple[str, str]] = field(default_factory=list)


def new_sid(prefix: str = "") -> str:
    """A fresh, unguessable session id: 20 URL-safe characters (120 random bits), the first
    ones replaced by ``prefix`` (``--workers`` names the worker owning the session there)."""
    sid = base64.urlsafe_b64encode(secrets.token_bytes(15)).decode("ascii")
    return prefix + sid[len(prefix):] if prefix else sid


SHUTDOWN_GRACE = 1.0
"""Seconds :meth:`EngineServer.close_all` waits for polling clients to fetch what is left."""


class EngineServer:
    """The Engine.IO v4 server: hands every new session to ``on_session``.

    Times are in seconds, sizes in bytes. ``cors_allowed_origins`` is ``None`` (no CORS
    headers, every origin accepted, as Node's default), ``"*"``, a list of origins, a compiled
    regular expression or a callable; when set, requests from other origins are refused (403).
    ``"*"`` with ``cors_credentials`` raises :class:`ValueError` (every site could make
    credentialed requests).
    """

    def __init__(
        self,
        on_session: Callable[[EngineSession], None] | None = None,
        *,
        path: str = "/engine.io/",
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        max_http_buffer_size: int = 1_000_000,
        transports: Iterable[str] = ("polling", "websocket"),
        allow_upgrades: bool = True,
        upgrade_timeout: float = 10.0,
        cors_allowed_origins: CorsOrigins = None,
        cors_credentials: bool = False,
        allow_request: AllowRequest | None = None,
        cookie: bool | str | dict[str, Any] = False,
        max_buffered_bytes: int = 16 * 1024 * 1024,
        volatile_threshold: int = 64 * 1024,
    ) -> None:
        if cors_allowed_origins == "*" and cors_credentials:
            raise ValueError(
                'cors_allowed_origins="*" with cors_credentials=True would let every site make '
                "credentialed requests: list the allowed origins instead"
            )
        self.on_session = on_session
        self.path = path if path.endswith("/") else path + "/"
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.max_http_buffer_size = max_http_buffer_size
        self.transports = tuple(transports)
        self.allow_upgrades = allow_upgrades
        self.upgrade_timeout = upgrade_timeout
        self.cors_allowed_origins = cors_allowed_origins
        self.cors_credentials = cors_credentials
        self.allow_request = allow_request
        self.cookie = cookie
        self.max_buffered_bytes = max_buffered_bytes
        self.volatile_threshold = volatile_threshold
        self.sessions: dict[str, EngineSession] = {}
        #: the first characters of every new session id (set by ``--workers``: they name the
        #: worker that owns the session)
        self.sid_prefix = ""
        #: seconds a polling session closed by the client ("1" in a POST) waits for a GET
        #: still on its way (``--workers``: it may be passing through another worker); 0 here
        self.client_close_grace = 0.0
        self.hooks = EngineHooks()
        self._refused_origins: set[str] = set()  # logged once each (at most 100 of them)
        self._open_encoders: dict[tuple[Any, ...], Callable[[str], str]] = {}
        if packet_tracing_wanted():  # debug output of socketwire.packets is on
            trace_packets(self)

    # -------------------------------------------------------------------- helpers

    def error_response(
        self, code: int, headers: list[tuple[str, str]] | None = None
    ) -> HttpResponse:
        """Node's JSON error reply for an Engine.IO error code."""
        err = HandshakeError(code)
        body = jsoncodec.dumps({"code": err.code, "message": err.message}).encode()
        hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        return HttpResponse(err.status, hdrs + (headers or []), body)

    def origin_allowed(self, origin: str | None) -> bool:
        """Whether a request with this Origin header may go on."""
        return origin_allowed(self.cors_allowed_origins, origin)

    def cors_headers(self, request: HttpRequest) -> list[tuple[str, str]]:
        """The CORS headers to add to a response for ``request`` (none unless configured)."""
        return cors_headers(self.cors_allowed_origins, self.cors_credentials,
                            request.headers.get("origin"))

    def _check_origin(self, request: HttpRequest) -> None:
        origin = request.headers.get("origin")
        if not self.origin_allowed(origin):
            if origin not in self._refused_origins and len(self._refused_origins) < 100:
                self._refused_origins.add(str(origin))
                log.warning("refused a request from origin %r: not in cors_allowed_origins "
                            "(logged once per origin)", origin)
            raise HandshakeError(4)

    async def _check_allowed(self, request: HttpRequest) -> None:
        self._check_origin(request)
        if self.allow_request is not None:
            try:
                verdict = self.allow_request(request)
                if inspect.isawaitable(verdict):
                    verdict = await verdict
            except Exception:
                log.exception("allow_request failed")
                verdict = False
            if not verdict:
                raise HandshakeError(4)

    def _open_session(
        self, transport: str, request: HttpRequest, sid: str | None = None,
        channel: WebSocketChannel | None = None,
    ) -> EngineSession:
        sid = sid or new_sid(self.sid_prefix)
        session = EngineSession(self, sid, transport, request, channel)
        self.sessions[sid] = session
        return session

    def _open_packet(self, session: EngineSession) -> str:
        offered = session.current.upgrades
        key = (offered, self.allow_upgrades, self.transports, self.ping_interval,
               self.ping_timeout, self.max_http_buffer_size)
        encode = self._open_encoders.get(key)
        if encode is None:  # built once per transport and settings
            upgrades: tuple[str, ...] = ()
            if self.allow_upgrades:  # as Node: only polling offers any
                upgrades = tuple(t for t in offered if t in self.transports)
            encode = eio.open_encoder(upgrades, self.ping_interval, self.ping_timeout,
                                      self.max_http_buffer_size)
            if len(self._open_encoders) > 16:  # settings changed at run time, again and again
                self._open_encoders.clear()
            self._open_encoders[key] = encode
        return encode(session.sid)

    def _forget(self, session: EngineSession) -> None:
        if self.sessions.get(session.sid) is session:
            del self.sessions[session.sid]

    def _start(self, session: EngineSession) -> None:
        if self.on_session is not None:
            self.on_session(session)
        if self.hooks.connection:
            for hook in self.hooks.connection:
                hook(session)

    # --------------------------------------------------------------------- HTTP

    async def handle_http(self, request: HttpRequest) -> HttpResponse:
        """Answer an HTTP request to the Engine.IO path (long-polling, handshakes, CORS)."""
        cors = self.cors_headers(request)
        route = self._route(request, cors)
        if route is None:  # a new session, for allow_request to decide
            try:
                await self._check_allowed(request)
                eio.check_version_of(request.query)
            except HandshakeError as exc:
                return self.error_response(exc.code, cors)
            return self._handshake(request.query["transport"], request, cors)
        if isinstance(route, HttpResponse):
            return route
        # the session's transport answers: polling takes GETs and POSTs; after an upgrade,
        # what the WebSocket was sent goes out first, then 400 (as Node)
        response = await route.handle_request(request)
        response.headers.extend(cors)
        return response

    def handle_http_now(
        self, request: HttpRequest, body: bytes
    ) -> HttpResponse | Awaitable[HttpResponse] | None:
        """Answer at once an HTTP request whose whole ``body`` is in, when its answer does
        not have to wait: a handshake (unless ``allow_request`` is set), a POST, a GET with
        packets buffered, the errors. ``None`` (nothing done): :meth:`handle_http` answers
        it instead (a long poll that waits, an upgrade's GET, ``allow_request``). An
        awaitable: the answer comes later (a POST whose handler paused reading)."""
        cors = self.cors_headers(request)
        route = self._route(request, cors)
        if route is None or isinstance(route, HttpResponse):
            return route
        response = route.current.handle_request_now(request, body)
        if cors and response is not None:
            if isinstance(response, HttpResponse):
                response.headers.extend(cors)
            else:
                return _with_headers(response, cors)
        return response

    def _route(
        self, request: HttpRequest, cors: list[tuple[str, str]]
    ) -> HttpResponse | EngineSession | None:
        """The answer (preflight, handshake, error), the session that answers, or ``None``
        for a new session that ``allow_request`` must allow first."""
        if request.method == "OPTIONS":
            return preflight(request, cors)
        try:
            hs = eio.check_request(request.method, request.query, self.transports, False)
            transport = TRANSPORTS.get(hs.transport)
            if transport is None or not transport.over_http:
                raise HandshakeError(3)
            if hs.sid is None:
                if self.allow_request is not None:
                    return None
                self._check_origin(request)
                eio.check_version_of(request.query)
                return self._handshake(transport.name, request, cors)
            session = self.sessions.get(hs.sid)
            if session is None:
                raise HandshakeError(1)
        except HandshakeError as exc:
            return self.error_response(exc.code, cors)
        return session

    def _handshake(self, transport: str, request: HttpRequest,
                   cors: list[tuple[str, str]]) -> HttpResponse:
        """A new polling session: its OPEN packet."""
        session = self._open_session(transport, request)
        self._start(session)
        body = self._open_packet(session).encode()
        headers = [
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("Content-Length", str(len(body))),
            *cookie_header(self.cookie, session.sid),
            *cors,
        ]
        return HttpResponse(200, headers, body)

    # ---------------------------------------------------------------- WebSocket

    async def open_websocket(self, request: HttpRequest) -> WebSocketAcceptance | HttpResponse:
        """Check a WebSocket request: accept it (the host answers 101) or refuse it."""
        try:
            hs = eio.check_request("GET", request.query, self.transports, False)
            if hs.transport != WebSocketTransport.name:
                raise HandshakeError(3)
            if hs.sid is None:
                await self._check_allowed(request)
                eio.check_version_of(request.query)
                sid = new_sid(self.sid_prefix)
                return WebSocketAcceptance(functools.partial(self._attach_new, request, sid),
                                           cookie_header(self.cookie, sid))
            session = self.sessions.get(hs.sid)
            if session is None or session.state is not SessionState.OPEN:
                raise HandshakeError(1)
            if not self.allow_upgrades:
                raise HandshakeError(3)
        except HandshakeError as exc:
            return self.error_response(exc.code)
        if not session.can_upgrade_to(WebSocketTransport.name) or session.upgraded:
            return WebSocketAcceptance(_refuse_after_accept)
        return WebSocketAcceptance(session.begin_upgrade)

    def _attach_new(
        self, request: HttpRequest, sid: str, channel: WebSocketChannel,
        transport: str = WebSocketTransport.name,
    ) -> WebSocketHandler:
        session = self._open_session(transport, request, sid, channel)
        channel.send(self._open_packet(session))
        self._start(session)
        return WebSocketSessionHandler(session)

    # ------------------------------------------------------------- WebTransport

    async def open_webtransport(self, request: HttpRequest) -> HttpResponse | None:
        """Check a WebTransport session request (an HTTP/3 extended CONNECT to ``path``).

        ``None`` accepts it: the host answers 200, then hands the first packet of the
        session's first bidirectional stream to :meth:`attach_webtransport`. An
        :class:`HttpResponse` refuses it. Origin and ``allow_request`` are checked here, for
        new sessions and upgrades alike (Node closes WebTransport sessions when it has
        middlewares, which cannot see them).
        """
        try:
            if WebTransportTransport.name not in self.transports:
                raise HandshakeError(0)
            await self._check_allowed(request)
        except HandshakeError as exc:
            return self.error_response(exc.code, self.cors_headers(request))
        return None

    def attach_webtransport(
        self, request: HttpRequest, first: str | bytes, channel: WebSocketChannel
    ) -> WebSocketHandler | None:
        """Start the transport of an accepted WebTransport session on ``channel`` (its stream).

        ``first`` is the stream's first packet, as in Node: an OPEN without data opens a new
        session (answered with the OPEN packet), an OPEN with ``{"sid": ...}`` upgrades that
        polling or WebSocket session. ``None`` means refused: the host closes the session.
        """
        if not isinstance(first, str) or first[:1] != "0":
            return None
        if len(first) == 1:
            return self._attach_new(request, new_sid(), channel, WebTransportTransport.name)
        sid = wtframes.session_id_of(first[1:])
        session = self.sessions.get(sid) if sid is not None else None
        if (session is None or not self.allow_upgrades or session.upgraded
                or not session.can_upgrade_to(WebTransportTransport.name)):
            return None
        return session.begin_upgrade(channel, WebTransportTransport.name)

    def lookup_static(self, method: str, path: str) -> HttpResponse | None:
        """No files outside :attr:`path`: an Engine.IO server serves only its sessions."""
        return None

    # ------------------------------------------------------------ lifecycle

    async def startup(self) -> None:
        """Nothing to prepare: sessions start with their requests."""

    async def shutdown(self) -> None:
        """Close every session (the host is stopping)."""
        await self.close_all(Reason.FORCED_SERVER_CLOSE)

    async def close_all(self, reason: Reason | str = Reason.FORCED_SERVER_CLOSE) -> None:
        """Close every session with ``reason``.

        Polling sessions still holding packets get up to ``SHUTDOWN_GRACE`` seconds for
        the client's next GET to fetch them (a pending GET gets them at once), so nothing
        already accepted for sending is lost to a graceful shutdown.
        """
        for session in list(self.sessions.values()):
            session.close(reason)
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE
        while loop.time() < deadline and any(
            s.pending_output() for s in self.sessions.values()
        ):
            await asyncio.sleep(0.01)


async def _with_headers(
    answer: Awaitable[HttpResponse], headers: list[tuple[str, str]]
) -> HttpResponse:
    response = await answer
    response.headers.extend(headers)
    return response


class _ClosedHandler:
    __slots__ = ()

    def on_message(self, data: str | bytes) -> None:
        pass

    def on_close(self) -> None:
        pass


def _refuse_after_accept(channel: WebSocketChannel) -> WebSocketHandler:
    """A second WebSocket for an upgraded session: Node accepts it, then closes it.

    The close waits 50 ms so frames already sent on the session's own WebSocket (which some
    ASGI servers queue before the application reads them) are handled first.
    """
    asyncio.get_running_loop().call_later(0.05, channel.close)
    return _ClosedHandler()
