"""Testing helpers: :class:`TestClient`, an in-process client for a socketwire ``Server``.

::

    io = socketwire.Server()
    ...

    async def test_echo():
        async with TestClient(io) as client:
            client.emit("echo", "hi")
            assert await client.wait_for("echo") == ["hi"]
            assert await client.emit_with_ack("add", 1, 2) == 3
            assert ("echo", ["hi"]) in client.received

No socket, port or HTTP is involved: the client's Engine.IO session talks to the server's
engine through an in-memory WebSocket channel, so the server runs exactly the code it runs for
a real WebSocket client, and the client is a real :class:`socketwire.AsyncClient` (same
handlers, acks, namespaces, heartbeat answers), only without the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .client.client import AsyncClient, Auth
from .client.socket import ClientSocket
from .client.transports import EngineConnection
from .engine.http import HttpRequest, HttpResponse, PreparedMessage, WebSocketHandler
from .exceptions import ConnectError

if TYPE_CHECKING:
    from .server.server import Server

__all__ = ["TestClient"]


class _Pipe:
    """Both ends of an in-memory WebSocket between the server's engine and the client."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.handler: WebSocketHandler | None = None
        self.closed = False
        self.reading = asyncio.Event()  # cleared while the server has paused reading
        self.reading.set()
        self.server_side = _ServerEnd(self)
        self.client_side = _ClientEnd(self)

    def shut(self) -> bool:
        """Mark the pipe closed; ``False`` if it already was."""
        if self.closed:
            return False
        self.closed = True
        self.inbox.put_nowait(None)
        return True


class _ServerEnd:
    """The ``engine.http.WebSocketChannel`` the server's engine writes to."""

    __slots__ = ("pipe",)

    def __init__(self, pipe: _Pipe) -> None:
        self.pipe = pipe

    def send(self, packet: str | bytes) -> None:
        """Deliver one message to the client (in order)."""
        if not self.pipe.closed:
            self.pipe.inbox.put_nowait(packet)

    def send_prepared(self, message: PreparedMessage) -> None:
        """Deliver the packets of a broadcast."""
        for packet in message.packets:
            self.send(packet)

    def close(self, code: int = 1000) -> None:
        """The server closes the connection."""
        if self.pipe.shut() and self.pipe.handler is not None:
            asyncio.get_running_loop().call_soon(self.pipe.handler.on_close)

    def abort(self) -> None:
        """Drop the connection and what it still holds for the client."""
        while not self.pipe.inbox.empty():
            self.pipe.inbox.get_nowait()
        self.close()

    def pause_reading(self) -> None:
        """The client's sends wait until the server reads again (backpressure)."""
        self.pipe.reading.clear()

    def resume_reading(self) -> None:
        """Deliver the client's messages again."""
        self.pipe.reading.set()

    def buffered_amount(self) -> int:
        """Nothing is ever waiting for a network."""
        return 0

    async def flushed(self) -> None:
        """Everything is delivered at once."""


class _ClientEnd:
    """The client transport's :class:`~socketwire.client.transports.Channel`."""

    __slots__ = ("pipe",)

    def __init__(self, pipe: _Pipe) -> None:
        self.pipe = pipe

    async def send(self, data: str | bytes) -> None:
        """Hand one message to the server's engine (once it reads: see pause_reading)."""
        if not self.pipe.reading.is_set():
            await self.pipe.reading.wait()
        if self.pipe.closed or self.pipe.handler is None:
            raise ConnectionResetError("in-memory connection closed")
        self.pipe.handler.on_message(data)

    async def receive(self) -> str | bytes | None:
        """The next message from the server; ``None`` once closed."""
        return await self.pipe.inbox.get()

    async def close(self) -> None:
        """The client closes the connection."""
        if self.pipe.shut() and self.pipe.handler is not None:
            self.pipe.handler.on_close()


class TestClient(AsyncClient):
    """An :class:`AsyncClient` connected to ``server`` in the same process, without network.

    ``namespaces``, ``auth``, ``headers`` and ``query`` are the defaults for :meth:`connect`
    (which ``async with`` calls). Every event received is recorded: ``received`` lists the
    ``(event, args)`` of namespace ``/``, :meth:`received_in` those of another namespace, and
    :meth:`wait_for` waits for the next one of a given name. Reconnection is off unless asked.
    """

    __test__ = False  # not a pytest test class
    _schemes = ("memory",)

    def __init__(
        self,
        server: Server,
        *,
        namespaces: Iterable[str] | None = None,
        auth: Auth = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        self._records: dict[str, list[tuple[str, list[Any]]]] = {}
        self._cursors: dict[tuple[str, str], int] = {}
        self._arrived: asyncio.Event | None = None
        options.setdefault("reconnection", False)
        options.setdefault("parser", server.parser)  # speaks the server's wire format
        super().__init__(**options)
        self.server = server
        self.default_namespaces = list(namespaces) if namespaces is not None else None
        self.default_auth = auth
        self.default_headers = dict(headers or {})
        self.query = dict(query or {})
        self._pipe: _Pipe | None = None

    # -------------------------------------------------------------- recording

    def socket(self, namespace: str | None = None) -> ClientSocket:
        """The socket for ``namespace``; what it receives is recorded."""
        if namespace is None:
            namespace = self.namespace
        if not namespace.startswith("/"):
            namespace = "/" + namespace
        if namespace not in self._records:
            records: list[tuple[str, list[Any]]] = []
            self._records[namespace] = records
            sock = super().socket(namespace)

            def record(event: str, *args: Any) -> None:
                records.append((event, list(args)))
                if self._arrived is not None:
                    self._arrived.set()

            sock.prepend_any(record)
            return sock
        return super().socket(namespace)

    @property
    def received(self) -> list[tuple[str, list[Any]]]:
        """``(event, args)`` of every event received on ``/``, oldest first."""
        return self._records["/"]

    def received_in(self, namespace: str) -> list[tuple[str, list[Any]]]:
        """``(event, args)`` of every event received on ``namespace``."""
        return self._records.get(namespace, [])

    async def wait_for(self, event: str, namespace: str = "/", timeout: float = 5.0) -> list[Any]:
        """The arguments of the next ``event`` on ``namespace`` not yet returned here.

        Returns at once if one was already received; raises ``TimeoutError`` after
        ``timeout`` seconds.
        """
        if self._arrived is None:
            self._arrived = asyncio.Event()
        key = (namespace, event)
        async with asyncio.timeout(timeout):
            while True:
                records = self.received_in(namespace)
                start = self._cursors.get(key, 0)
                for i in range(start, len(records)):
                    if records[i][0] == event:
                        self._cursors[key] = i + 1
                        return records[i][1]
                self._cursors[key] = len(records)
                self._arrived.clear()
                await self._arrived.wait()

    # ------------------------------------------------------------- connecting

    async def connect(
        self,
        url: str = "memory://socketwire",
        *,
        namespaces: Iterable[str] | None = None,
        auth: Auth = None,
        headers: Mapping[str, str] | None = None,
        transports: Iterable[str] | None = None,
        path: str = "/socket.io/",
        wait_timeout: float = 5.0,
        retry: bool = False,
    ) -> None:
        """Connect to the server in memory (``url``, ``transports`` and ``path`` are
        ignored); the arguments default to those given to the constructor."""
        if self._arrived is None:
            self._arrived = asyncio.Event()
        if namespaces is None:
            namespaces = self.default_namespaces
        for name in namespaces or ():
            self.socket(name)
        await super().connect(
            url,
            namespaces=namespaces,
            auth=auth if auth is not None else self.default_auth,
            headers=headers if headers is not None else self.default_headers,
            transports=("websocket",),
            path=self.server.path,
            wait_timeout=wait_timeout,
            retry=retry,
        )

    async def _open_engine(self) -> EngineConnection:
        await self.server.startup()  # what a host does first: the adapters start
        query = {**self.query, "EIO": "4", "transport": "websocket"}
        headers = {k.lower(): v for k, v in self.headers.items()}
        headers.setdefault("host", "testserver")
        request = HttpRequest(
            method="GET",
            path=self.server.path,
            query=query,
            headers=headers,
            remote_addr="127.0.0.1",
            query_string=urlencode(query),
        )
        outcome = await self.server.open_websocket(request)
        if isinstance(outcome, HttpResponse):
            raise ConnectError(
                "websocket error",
                {"status": outcome.status, "body": outcome.body.decode("utf-8", "replace")},
            )
        pipe = self._pipe = _Pipe()
        pipe.handler = outcome.attach(pipe.server_side)
        try:
            return await EngineConnection.over_channel(
                pipe.client_side, self._on_engine_message, url=self.url, path=self.server.path
            )
        except BaseException:
            await pipe.client_side.close()
            raise

    def drop(self) -> None:
        """Lose the connection as a network failure would: both sides see the transport
        close, and no close packet is sent either way (the server may keep the session for
        recovery; the client reconnects if its ``reconnection`` is on)."""
        pipe, self._pipe = self._pipe, None
        if pipe is not None and pipe.shut() and pipe.handler is not None:
            pipe.handler.on_close()

    async def __aenter__(self) -> TestClient:
        await self.connect()
        return self
