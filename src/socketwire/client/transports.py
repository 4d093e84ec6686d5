"""The client side of one Engine.IO v4 session: long-polling, WebSocket, WebTransport and the
upgrade.

:class:`EngineConnection` opens a session on one of the transports of :data:`TRANSPORTS`
(polling, WebSocket or WebTransport first), answers the server's pings, watches for missing
pings, upgrades polling to WebTransport or WebSocket (``2probe`` / ``3probe`` / ``5`` with
polling paused meanwhile) and hands every MESSAGE to the layer above in order. The rules are
:class:`~socketwire.protocol.eio_machine.EngineMachine`'s, shared with the server.
Sending never blocks: packets are queued and a single writer task sends them, batched into
POST bodies over polling, one frame each over a channel.

A session runs a handful of tasks (reader, writer, upgrade); they all end when the session
closes, and :meth:`EngineConnection.wait_closed` returns once they are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import aiohttp

from ..exceptions import ConnectError, RemoteProtocolError
from ..protocol.eio import EioType, OpenInfo
from ..protocol.eio_machine import (
    CLOSE_REASONS,
    PROBE,
    UPGRADE,
    EngineMachine,
    Expiry,
    Role,
    UpgradeStep,
    Verdict,
)
from ..protocol.reasons import Reason
from .channels import AiohttpChannel, ChannelClient, WebSocketClient, WebTransportClient
from .polling import PollingClient
from .transport import Channel, ClientTransport, ConnectOptions, engine_url

__all__ = ["TRANSPORTS", "AiohttpChannel", "Channel", "EngineConnection", "engine_url"]

log = logging.getLogger("socketwire.client")

PROBE_TIMEOUT = 10.0  # seconds allowed for the whole upgrade before polling simply goes on
CLOSE_FLUSH_TIMEOUT = 5.0  # seconds a client-side close waits for queued packets to go out
_UPGRADE_ERRORS = (aiohttp.ClientError, OSError, RuntimeError, TimeoutError, ConnectError)

#: the client's transports by name (``transports=`` of :meth:`EngineConnection.open`)
TRANSPORTS: dict[str, type[ClientTransport]] = {
    cls.name: cls for cls in (PollingClient, WebSocketClient, WebTransportClient)
}


class EngineConnection:
    """One open Engine.IO session, seen from the client.

    Create it with :meth:`open` or :meth:`over_channel` (an already connected message
    channel). ``on_message`` receives every MESSAGE payload, in order; ``closed`` resolves
    with the reason (``"transport close"``, ``"transport error"``, ``"ping timeout"``,
    ``"parse error"`` or ``"forced close"``) when the session ends for any reason.
    """

    def __init__(
        self,
        info: OpenInfo,
        on_message: Callable[[str | bytes], None],
        options: ConnectOptions,
        *,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        self.info = info
        self.sid = info.sid
        self.on_message = on_message
        self.options = options
        self.http = http
        self._loop = asyncio.get_running_loop()
        self.machine = EngineMachine(Role.CLIENT, info.ping_interval, info.ping_timeout,
                                     self._loop.time())
        self.closed: asyncio.Future[str] = self._loop.create_future()
        #: the transport in use; replaced when an upgrade completes (see :meth:`start`)
        self.current: ClientTransport = PollingClient(self)
        #: whether sending and polling are paused (the upgrade's switch)
        self.paused = False
        self._outbox: deque[str | bytes] = deque()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._write_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watchdog: asyncio.TimerHandle | None = None
        self._cleanup: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        #: called on every ping from the server (the client's manager-level "ping" event)
        self.on_ping: Callable[[], None] | None = None

    def start(self, transport: ClientTransport) -> None:
        """Run the session on ``transport``: its reader, the writer, the heartbeat watch and
        (from polling) the upgrade to the best transport both sides have."""
        self.current = transport
        self._arm()
        self._spawn(self._writer())
        self._reader = self._spawn(transport.read())
        target = next((t for t in transport.upgrades
                       if t in self.options.upgrades and t in self.info.upgrades), None)
        if target is not None:
            self._spawn(self._upgrade(target))

    @property
    def transport(self) -> str:
        """The name of the transport in use."""
        return self.current.name

    @property
    def url(self) -> str:
        """The server URL the session was opened with."""
        return self.options.url

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
        """Handshake with the server at ``url`` over the first of ``transports``; the others
        may be upgraded to.

        Raises :class:`ConnectError` (``"xhr poll error"``, ``"websocket error"`` or
        ``"webtransport error"``) when the server cannot be reached or refuses the
        handshake. ``certificate_hashes``: SHA-256 hashes of server certificates that
        WebTransport trusts without a CA (a browser's ``serverCertificateHashes``).
        """
        options = ConnectOptions(url, path, dict(query or {}), dict(headers or {}), ssl_verify,
                                 certificate_hashes, tuple(transports[1:]))
        return await TRANSPORTS[transports[0]].connect(options, on_message)

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
        """Start a session over ``channel``: its first message is OPEN. ``transport``
        names it (``websocket``, or ``webtransport`` for a WebTransport stream)."""
        kind = TRANSPORTS[transport]
        if not issubclass(kind, ChannelClient):
            raise ValueError(f"{transport} is not a message-channel transport")
        options = ConnectOptions(url, path, dict(query or {}))
        return await kind.attach(channel, options, on_message, http)

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
            while self._outbox and not self.paused:
                async with self._write_lock:
                    if self.paused or not self._outbox:
                        break
                    if not await self.current.write(self._outbox):
                        self._shutdown(Reason.TRANSPORT_ERROR)
                        return
            if not self._outbox:
                self._drained.set()

    # --------------------------------------------------------------- receiving

    def _on_packet(self, kind: EioType, payload: str | bytes) -> None:
        if self.closed.done():
            return
        if kind is EioType.MESSAGE:
            try:
                self.on_message(payload)
            except RemoteProtocolError:
                self._shutdown(Reason.PARSE_ERROR)
            except Exception:
                log.exception("error while handling a message")
            return
        verdict = self.machine.receive(kind, self._loop.time())
        if verdict is Verdict.ANSWER_PING:
            self._arm()
            self.send("3")
            if self.on_ping is not None:
                try:
                    self.on_ping()
                except Exception:
                    log.exception("error in a ping listener")
        elif verdict in CLOSE_REASONS:
            self._shutdown(CLOSE_REASONS[verdict])

    def _arm(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watchdog = self._loop.call_at(self.machine.deadline, self._deadline_reached)

    def _deadline_reached(self) -> None:
        self._watchdog = None
        if self.machine.expire(self._loop.time()) is Expiry.TIMEOUT:
            self._shutdown(Reason.PING_TIMEOUT)
        else:  # a late timer: the server's ping may be unread yet, wait once more
            self._arm()

    # ----------------------------------------------------------------- upgrade

    async def _upgrade(self, name: str) -> None:
        new: ChannelClient | None = None
        kind = TRANSPORTS[name]
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                if not issubclass(kind, ChannelClient) or not self.machine.probe_started():
                    return
                new = await kind.for_upgrade(self)
                await new.channel.send(PROBE)
                step = self.machine.upgrade_message(await new.channel.receive() or "")
                if step is UpgradeStep.PAUSE_AND_SWITCH and await self._switch_to(new):
                    new = None
        except _UPGRADE_ERRORS as exc:
            log.debug("upgrade of %s to %s failed: %r", self.sid, name, exc)
        finally:
            if new is not None or not self.machine.upgraded:
                await self._upgrade_failed(new)

    async def _switch_to(self, new: ChannelClient) -> bool:
        """Pause polling (the pending GET and any POST finish), send ``5``, switch."""
        self.paused = True
        async with self._write_lock:
            if self._reader is not None:
                await asyncio.shield(self._reader)
            if self.closed.done():
                return False
            await new.channel.send(UPGRADE)
            if not self.machine.upgrade_completed():
                return False
            self.current = new
            self.paused = False
            self._reader = self._spawn(new.read())
        self._wake.set()
        return True

    async def _upgrade_failed(self, new: ChannelClient | None) -> None:
        self.machine.upgrade_failed()
        if new is not None:
            await new.close()
        if self.paused:  # resume polling (the loop may still be in its last GET)
            self.paused = False
            if not self.closed.done():
                if self._reader is None or self._reader.done():
                    self._reader = self._spawn(self.current.read())
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
        self.machine.close(reason)
        self.machine.finished()
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
        await self.current.close()
        if self.http is not None:
            with contextlib.suppress(Exception):
                await self.http.close()

    async def close(self) -> None:
        """Close from the client side: flush what is queued, send CLOSE, tear down."""
        if not self.closed.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_FLUSH_TIMEOUT):
                    await self._drained.wait()
                    async with self._write_lock:
                        if not self.closed.done():
                            await self.current.send_close()
            self._shutdown(Reason.FORCED_CLOSE)
        await self.wait_closed()

    def abort(self, reason: str = Reason.FORCED_CLOSE) -> None:
        """Close at once without telling the server (tests and emergencies)."""
        self._shutdown(reason)

    async def wait_closed(self) -> None:
        """Wait until the session is closed and every task it ran has ended."""
        await asyncio.shield(self.closed)
        if self._cleanup is not None:
            await asyncio.shield(self._cleanup)
