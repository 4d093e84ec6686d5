"""The client side of one Engine.IO v4 session: long-polling, WebSocket, WebTransport and the
upgrade.

:class:`EngineConnection` opens a session (polling, WebSocket or WebTransport first), answers
the server's pings, watches for missing pings, upgrades polling to WebTransport or WebSocket
(``2probe`` / ``3probe`` / ``5`` with polling paused meanwhile) and hands every MESSAGE to the
layer above in order.
Sending never blocks: packets are queued and a single writer task sends them, batched into
POST bodies over polling, one frame each over WebSocket.

A session runs a handful of tasks (reader, writer, upgrade); they all end when the session
closes, and :meth:`EngineConnection.wait_closed` returns once they are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from ..exceptions import ConnectError, RemoteProtocolError
from ..protocol import eio, jsoncodec
from ..protocol.eio import EioType, OpenInfo

__all__ = ["AiohttpChannel", "Channel", "EngineConnection", "engine_url"]

log = logging.getLogger("socketwire.client")

PROBE_TIMEOUT = 10.0  # seconds allowed for the whole upgrade before polling simply goes on
CLOSE_FLUSH_TIMEOUT = 5.0  # seconds a client-side close waits for queued packets to go out


class Channel(Protocol):
    """A message channel carrying one Engine.IO packet per message (a WebSocket)."""

    async def send(self, data: str | bytes) -> None:
        """Send one message: text for ``str``, binary for ``bytes``."""

    async def receive(self) -> str | bytes | None:
        """The next message, or ``None`` once the channel is closed."""

    async def close(self) -> None:
        """Close the channel (idempotent)."""


class AiohttpChannel:
    """:class:`Channel` over an aiohttp client WebSocket."""

    __slots__ = ("ws",)

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, data: str | bytes) -> None:
        """Send a text or binary frame."""
        if isinstance(data, str):
            await self.ws.send_str(data)
        else:
            await self.ws.send_bytes(data)

    async def receive(self) -> str | bytes | None:
        """The next text or binary message; ``None`` when the WebSocket is closed."""
        while True:
            msg = await self.ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                return str(msg.data)
            if msg.type is aiohttp.WSMsgType.BINARY:
                return bytes(msg.data)
            if msg.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                continue
            return None  # CLOSE, CLOSING, CLOSED, ERROR

    async def close(self) -> None:
        """Close the WebSocket."""
        await self.ws.close()


def engine_url(url: str, path: str, query: Mapping[str, str], websocket: bool = False) -> str:
    """The Engine.IO endpoint for a server ``url`` (whose own query string is kept)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower() or "http"
    if websocket:
        scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    else:
        scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    if not path.startswith("/"):
        path = "/" + path
    if not path.endswith("/"):
        path += "/"
    qs = "&".join(q for q in (parts.query, urlencode(dict(query))) if q)
    return urlunsplit((scheme, parts.netloc, path, qs, ""))


def describe(exc: BaseException, target: str) -> str:
    """Why a request to ``target`` failed, in words that name the cause and the peer."""
    where = urlsplit(target).netloc
    if isinstance(exc, aiohttp.ClientConnectorError):
        peer = f"{exc.host}:{exc.port}"
        cause = exc.os_error
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused to {peer}"
        if isinstance(cause, socket.gaierror) or type(exc).__name__ == "ClientConnectorDNSError":
            return f"cannot resolve the host name {exc.host!r}"
        return f"cannot connect to {peer}: {cause.strerror or cause}"
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"WebSocket handshake refused by {where}: HTTP {exc.status} {exc.message}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{where} closed the connection before answering"
    if isinstance(exc, TimeoutError):
        return f"timed out talking to {where}"
    return f"{type(exc).__name__} talking to {where}: {exc}"


class EngineConnection:
    """One open Engine.IO session, seen from the client.

    Create it with :meth:`open` (HTTP long-polling or WebSocket) or :meth:`over_channel`
    (an already connected message channel). ``on_message`` receives every MESSAGE payload,
    in order; ``closed`` resolves with the reason (``"transport close"``, ``"transport
    error"``, ``"ping timeout"``, ``"parse error"`` or ``"forced close"``) when the session
    ends for any reason.
    """

    def __init__(
        self,
        info: OpenInfo,
        transport: str,
        on_message: Callable[[str | bytes], None],
        *,
        url: str = "",
        path: str = "/socket.io/",
        query: Mapping[str, str] | None = None,
        http: aiohttp.ClientSession | None = None,
        channel: Channel | None = None,
        upgrade: bool = False,
        upgrades: tuple[str, ...] = ("websocket",),
        certificate_hashes: tuple[bytes, ...] = (),
        ssl_verify: bool = True,
    ) -> None:
        self.info = info
        self.sid = info.sid
        self.transport = transport
        self.on_message = on_message
        self.url = url
        self.path = path
        self.query = dict(query or {})
        self._http = http
        self._channel = channel
        self._loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[str] = self._loop.create_future()
        self._outbox: deque[str | bytes] = deque()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._write_lock = asyncio.Lock()
        self._paused = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watchdog: asyncio.TimerHandle | None = None
        self._cleanup: asyncio.Task[None] | None = None
        self._poll_task: asyncio.Task[None] | None = None
        #: called on every ping from the server (the client's manager-level "ping" event)
        self.on_ping: Callable[[], None] | None = None
        self._reset_watchdog()
        self._spawn(self._writer())
        self._certificate_hashes = certificate_hashes
        self._ssl_verify = ssl_verify
        if transport == "polling":
            self._poll_task = self._spawn(self._poll_loop())
            # WebTransport first when both sides have it, as socket.io-client favours it
            target = next((t for t in ("webtransport", "websocket")
                           if t in upgrades and t in info.upgrades), None)
            if upgrade and target is not None:
                self._spawn(self._upgrade(target))
        else:
            self._spawn(self._reader())

    # ----------------------------------------------------------------- opening

    @classmethod
    async def open(
        cls,
        url: str,
        on_message: Callable[[str | bytes], None],
        *,
        path: str = "/socket.io/",
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        transports: tuple[str, ...] = ("polling", "websocket"),
        ssl_verify: bool = True,
        certificate_hashes: tuple[bytes, ...] = (),
    ) -> EngineConnection:
        """Handshake with the server at ``url`` over the first of ``transports``.

        Raises :class:`ConnectError` (``"xhr poll error"``, ``"websocket error"`` or
        ``"webtransport error"``) when the server cannot be reached or refuses the
        handshake. ``certificate_hashes``: SHA-256 hashes of server certificates that
        WebTransport trusts without a CA (a browser's ``serverCertificateHashes``).
        """
        if transports[0] == "webtransport":
            return await cls._open_webtransport(url, path, query or {}, headers, on_message,
                                                ssl_verify, certificate_hashes)
        query = dict(query or {})
        http = aiohttp.ClientSession(
            headers=dict(headers or {}),
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # sticky-session cookies on IP hosts
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
            connector=aiohttp.TCPConnector(ssl=True if ssl_verify else False),
        )
        try:
            if transports[0] == "websocket":
                conn = await cls._open_websocket(url, path, query, http, on_message)
            else:
                conn = await cls._open_polling(
                    url, path, query, http, on_message, upgrade=len(transports) > 1,
                    upgrades=tuple(transports[1:]), certificate_hashes=certificate_hashes,
                    ssl_verify=ssl_verify,
                )
        except BaseException:
            await http.close()
            raise
        return conn

    @classmethod
    async def _open_polling(
        cls,
        url: str,
        path: str,
        query: dict[str, str],
        http: aiohttp.ClientSession,
        on_message: Callable[[str | bytes], None],
        upgrade: bool,
        upgrades: tuple[str, ...] = ("websocket",),
        certificate_hashes: tuple[bytes, ...] = (),
        ssl_verify: bool = True,
    ) -> EngineConnection:
        target = engine_url(url, path, {**query, "EIO": "4", "transport": "polling"})
        try:
            async with http.get(target) as resp:
                body = await resp.text(encoding="utf-8")
                status = resp.status
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectError("xhr poll error", {"description": describe(exc, target)}) from exc
        if status != 200:
            raise ConnectError("xhr poll error", {
                "status": status, "body": body,
                "description": f"HTTP {status} from {urlsplit(target).netloc}: {body[:200]}",
            })
        try:
            packets = eio.decode_payload(body)
            kind, payload = packets[0]
            if kind is not EioType.OPEN or not isinstance(payload, str):
                raise RemoteProtocolError("expected an OPEN packet")
            info = eio.decode_open(payload)
        except RemoteProtocolError as exc:
            raise ConnectError("xhr poll error", {"description": str(exc)}) from exc
        conn = cls(info, "polling", on_message, url=url, path=path, query=query, http=http,
                   upgrade=upgrade, upgrades=upgrades, certificate_hashes=certificate_hashes,
                   ssl_verify=ssl_verify)
        for kind, payload in packets[1:]:
            conn._on_packet(kind, payload)
        return conn

    @classmethod
    async def _open_websocket(
        cls,
        url: str,
        path: str,
        query: dict[str, str],
        http: aiohttp.ClientSession,
        on_message: Callable[[str | bytes], None],
    ) -> EngineConnection:
        target = engine_url(url, path, {**query, "EIO": "4", "transport": "websocket"}, True)
        try:
            ws = await http.ws_connect(target, autoping=True, max_msg_size=0, compress=0)
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectError("websocket error", {"description": describe(exc, target)}) from exc
        channel = AiohttpChannel(ws)
        try:
            return await cls.over_channel(channel, on_message, url=url, path=path, query=query,
                                          http=http)
        except BaseException:
            await channel.close()
            raise

    @classmethod
    async def _open_webtransport(
        cls,
        url: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str] | None,
        on_message: Callable[[str | bytes], None],
        ssl_verify: bool,
        certificate_hashes: tuple[bytes, ...],
    ) -> EngineConnection:
        from .webtransport import connect_webtransport  # aioquic: the webtransport extra

        target = engine_url(url, path, {**query, "EIO": "4", "transport": "webtransport"})
        target = "https" + target[target.index(":"):]  # HTTP/3: always TLS
        channel = await connect_webtransport(target, ssl_verify=ssl_verify,
                                             certificate_hashes=certificate_hashes,
                                             headers=headers)
        try:
            await channel.send("0")  # as socket.io-client: an OPEN without data, a new session
            return await cls.over_channel(channel, on_message, url=url, path=path,
                                          query=query, transport="webtransport")
        except BaseException:
            await channel.close()
            raise

    @classmethod
    async def over_channel(
        cls,
        channel: Channel,
        on_message: Callable[[str | bytes], None],
        *,
        url: str = "",
        path: str = "/socket.io/",
        query: Mapping[str, str] | None = None,
        http: aiohttp.ClientSession | None = None,
        transport: str = "websocket",
    ) -> EngineConnection:
        """Start a WebSocket-style session over ``channel``: its first message is OPEN.
        ``transport`` names it (``websocket``, or ``webtransport`` for a WebTransport
        stream)."""
        first = await channel.receive()
        try:
            if not isinstance(first, str):
                raise RemoteProtocolError("expected an OPEN packet")
            kind, payload = eio.decode_packet(first)
            if kind is not EioType.OPEN or not isinstance(payload, str):
                raise RemoteProtocolError("expected an OPEN packet")
            info = eio.decode_open(payload)
        except RemoteProtocolError as exc:
            raise ConnectError(f"{transport} error", {"description": str(exc)}) from exc
        return cls(info, transport, on_message, url=url, path=path, query=query, http=http,
                   channel=channel)

    # ----------------------------------------------------------------- sending

    @property
    def is_open(self) -> bool:
        """Whether the session is still open."""
        return not self.closed.done()

    def send(self, packet: str | bytes) -> None:
        """Queue one encoded Engine.IO packet (``str`` text, ``bytes`` a binary message)."""
        if self.closed.done():
            return
        self._outbox.append(packet)
        self._drained.clear()
        self._wake.set()

    def send_many(self, packets: list[str | bytes]) -> None:
        """Queue packets that belong together (a Socket.IO packet and its attachments)."""
        if self.closed.done():
            return
        self._outbox.extend(packets)
        self._drained.clear()
        self._wake.set()

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox and not self._paused:
                async with self._write_lock:
                    if self._paused or not self._outbox:
                        break
                    if self.transport != "polling":  # a message channel
                        assert self._channel is not None
                        packet = self._outbox.popleft()
                        try:
                            await self._channel.send(packet)
                        except (aiohttp.ClientError, OSError, RuntimeError):
                            self._shutdown("transport error")
                            return
                    else:
                        batch = self._take_batch()
                        if not await self._post(eio.encode_payload(batch)):
                            self._shutdown("transport error")
                            return
            if not self._outbox:
                self._drained.set()

    def _take_batch(self) -> list[str | bytes]:
        """Queued packets for one POST, within the server's ``maxPayload`` (at least one)."""
        batch: list[str | bytes] = []
        size = 0
        limit = self.info.max_payload
        while self._outbox:
            packet = self._outbox[0]
            if isinstance(packet, str):
                cost = 1 + (len(packet) if packet.isascii() else len(packet.encode()))
            else:
                cost = 2 + len(packet) * 4 // 3
            if batch and size + cost > limit:
                break
            batch.append(self._outbox.popleft())
            size += cost
        return batch

    def _polling_url(self) -> str:
        return engine_url(
            self.url, self.path, {**self.query, "EIO": "4", "transport": "polling", "sid": self.sid}
        )

    async def _post(self, body: str) -> bool:
        assert self._http is not None
        try:
            async with self._http.post(
                self._polling_url(), data=body.encode(),
                headers={"Content-Type": "text/plain;charset=UTF-8"},
            ) as resp:
                await resp.read()
                return resp.status == 200
        except (aiohttp.ClientError, OSError):
            return False

    # --------------------------------------------------------------- receiving

    async def _poll_loop(self) -> None:
        assert self._http is not None
        while self.transport == "polling" and not self._paused and not self.closed.done():
            try:
                async with self._http.get(self._polling_url()) as resp:
                    body = await resp.text(encoding="utf-8")
                    ok = resp.status == 200
            except (aiohttp.ClientError, OSError, UnicodeDecodeError):
                ok = False
            if not ok:
                self._shutdown("transport error")
                return
            try:
                packets = eio.decode_payload(body)
            except RemoteProtocolError:
                self._shutdown("parse error")
                return
            for kind, payload in packets:
                if self.closed.done():
                    return
                self._on_packet(kind, payload)

    async def _reader(self) -> None:
        channel = self._channel
        assert channel is not None
        while not self.closed.done():
            try:
                data = await channel.receive()
            except (aiohttp.ClientError, OSError, RuntimeError):
                self._shutdown("transport error")
                return
            if data is None:
                self._shutdown("transport close")
                return
            try:
                kind, payload = eio.decode_packet(data)
            except RemoteProtocolError:
                self._shutdown("parse error")
                return
            self._on_packet(kind, payload)

    def _on_packet(self, kind: EioType, payload: str | bytes) -> None:
        if self.closed.done():
            return
        if kind is EioType.MESSAGE:
            try:
                self.on_message(payload)
            except RemoteProtocolError:
                self._shutdown("parse error")
            except Exception:
                log.exception("error while handling a message")
        elif kind is EioType.PING:
            self._reset_watchdog()
            self.send("3")
            if self.on_ping is not None:
                try:
                    self.on_ping()
                except Exception:
                    log.exception("error in a ping listener")
        elif kind is EioType.CLOSE:
            self._shutdown("transport close")
        # NOOP, PONG, OPEN and UPGRADE need nothing here

    def _reset_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watchdog = self._loop.call_later(
            self.info.ping_interval + self.info.ping_timeout, self._shutdown, "ping timeout"
        )

    # ----------------------------------------------------------------- upgrade

    async def _upgrade_channel(self, name: str) -> Channel:
        """A channel to the server for upgrading this session to ``name``."""
        assert self._http is not None
        query = {**self.query, "EIO": "4", "transport": name, "sid": self.sid}
        if name == "webtransport":
            from .webtransport import connect_webtransport  # aioquic: the webtransport extra

            target = engine_url(self.url, self.path, query)
            wt = await connect_webtransport(
                "https" + target[target.index(":"):], ssl_verify=self._ssl_verify,
                certificate_hashes=self._certificate_hashes,
            )
            try:
                await wt.send("0" + jsoncodec.dumps({"sid": self.sid}))  # the session to upgrade
            except BaseException:
                await wt.close()
                raise
            return wt
        ws = await self._http.ws_connect(engine_url(self.url, self.path, query, True),
                                         autoping=True, max_msg_size=0, compress=0)
        return AiohttpChannel(ws)

    async def _upgrade(self, name: str = "websocket") -> None:
        channel: Channel | None = None
        switched = False
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                channel = await self._upgrade_channel(name)
                await channel.send("2probe")
                if await channel.receive() != "3probe":
                    return
                # pause polling: let the pending GET and any POST finish, then switch
                self._paused = True
                async with self._write_lock:
                    if self._poll_task is not None:
                        await asyncio.shield(self._poll_task)
                    if self.closed.done():
                        return
                    await channel.send("5")
                    self._channel = channel
                    self.transport = name
                    switched = True
                    self._paused = False
                    self._spawn(self._reader())
                self._wake.set()
        except (aiohttp.ClientError, OSError, RuntimeError, TimeoutError, ConnectError) as exc:
            log.debug("upgrade of %s to %s failed: %r", self.sid, name, exc)
        finally:
            if not switched:
                if channel is not None:
                    with contextlib.suppress(Exception):
                        await channel.close()
                if self._paused:  # resume polling (the loop may still be in its last GET)
                    self._paused = False
                    poller = self._poll_task
                    if not self.closed.done():
                        if poller is None or poller.done():
                            self._poll_task = self._spawn(self._poll_loop())
                        self._wake.set()

    # ----------------------------------------------------------------- closing

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _shutdown(self, reason: str) -> None:
        """End the session now: resolve ``closed`` and tear everything down."""
        if self.closed.done():
            return
        self.closed.set_result(reason)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._outbox.clear()
        self._drained.set()
        self._cleanup = self._loop.create_task(self._teardown())

    async def _teardown(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()
        if self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.close()

    async def close(self) -> None:
        """Close from the client side: flush what is queued, send CLOSE, tear down."""
        if not self.closed.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_FLUSH_TIMEOUT):
                    await self._drained.wait()
                    async with self._write_lock:
                        if not self.closed.done():
                            if self.transport != "polling" and self._channel is not None:
                                with contextlib.suppress(aiohttp.ClientError, OSError,
                                                         RuntimeError):
                                    await self._channel.send("1")
                            elif self._http is not None:
                                await self._post("1")
            self._shutdown("forced close")
        await self.wait_closed()

    def abort(self, reason: str = "forced close") -> None:
        """Close at once without telling the server (tests and emergencies)."""
        self._shutdown(reason)

    async def wait_closed(self) -> None:
        """Wait until the session is closed and every task it ran has ended."""
        await asyncio.shield(self.closed)
        if self._cleanup is not None:
            await asyncio.shield(self._cleanup)
