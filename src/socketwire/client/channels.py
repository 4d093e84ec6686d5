"""Message-channel transports on the client: WebSocket (aiohttp) and WebTransport (aioquic),
one Engine.IO packet per message."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import aiohttp

from ..exceptions import ConnectError, RemoteProtocolError
from ..protocol import eio, jsoncodec
from ..protocol.eio import EioType
from ..protocol.eio_machine import read_message
from ..protocol.reasons import Reason
from .transport import Channel, ClientTransport, ConnectOptions, describe

if TYPE_CHECKING:
    from .transports import EngineConnection

__all__ = ["AiohttpChannel", "ChannelClient", "WebSocketClient", "WebTransportClient"]

_CHANNEL_ERRORS = (aiohttp.ClientError, OSError, RuntimeError)


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


class ChannelClient(ClientTransport):
    """A message channel as the session's transport."""

    __slots__ = ("channel",)

    def __init__(self, conn: EngineConnection, channel: Channel) -> None:
        super().__init__(conn)
        self.channel = channel

    @classmethod
    async def attach(
        cls, channel: Channel, options: ConnectOptions,
        on_message: Callable[[str | bytes], None], http: aiohttp.ClientSession | None = None,
    ) -> EngineConnection:
        """Start a session over ``channel``, whose first message is the server's OPEN."""
        from .transports import EngineConnection

        first = await channel.receive()
        try:
            if not isinstance(first, str):
                raise RemoteProtocolError("expected an OPEN packet")
            kind, payload = eio.decode_packet(first)
            if kind is not EioType.OPEN or not isinstance(payload, str):
                raise RemoteProtocolError("expected an OPEN packet")
            info = eio.decode_open(payload)
        except RemoteProtocolError as exc:
            raise ConnectError(f"{cls.name} error", {"description": str(exc)}) from exc
        conn = EngineConnection(info, on_message, options, http=http)
        conn.start(cls(conn, channel))
        return conn

    @classmethod
    async def for_upgrade(cls, conn: EngineConnection) -> ChannelClient:
        """A channel of this kind to the server for upgrading ``conn`` to it."""
        raise NotImplementedError

    async def write(self, outbox: deque[str | bytes]) -> bool:
        """Send the first packet of ``outbox``."""
        try:
            await self.channel.send(outbox.popleft())
        except _CHANNEL_ERRORS:
            return False
        return True

    async def read(self) -> None:
        """Receive until the channel closes or the session ends."""
        conn = self.conn
        channel = self.channel
        while conn.is_open:
            try:
                data = await channel.receive()
            except _CHANNEL_ERRORS:
                conn._shutdown(Reason.TRANSPORT_ERROR)
                return
            if data is None:
                conn._shutdown(Reason.TRANSPORT_CLOSE)
                return
            packet = read_message(data)
            if packet is None:
                conn._shutdown(Reason.PARSE_ERROR)
                return
            conn._on_packet(*packet)

    async def send_close(self) -> None:
        """Send a CLOSE packet on the channel."""
        with contextlib.suppress(*_CHANNEL_ERRORS):
            await self.channel.send("1")

    async def close(self) -> None:
        """Close the channel."""
        with contextlib.suppress(Exception):
            await self.channel.close()


class WebSocketClient(ChannelClient):
    """Engine.IO over a WebSocket (aiohttp)."""

    name = "websocket"
    __slots__ = ()

    @staticmethod
    async def _ws(http: aiohttp.ClientSession, target: str) -> AiohttpChannel:
        ws = await http.ws_connect(target, autoping=True, max_msg_size=0, compress=0)
        return AiohttpChannel(ws)

    @classmethod
    async def _handshake(cls, options: ConnectOptions, on_message: Callable[[str | bytes], None],
                         http: aiohttp.ClientSession) -> EngineConnection:
        target = options.endpoint(cls.name, websocket=True)
        try:
            channel = await cls._ws(http, target)
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectError("websocket error", {"description": describe(exc, target)}) from exc
        try:
            return await cls.attach(channel, options, on_message, http)
        except BaseException:
            await channel.close()
            raise

    @classmethod
    async def for_upgrade(cls, conn: EngineConnection) -> ChannelClient:
        """A WebSocket for the session's sid."""
        assert conn.http is not None
        channel = await cls._ws(conn.http, conn.options.endpoint(cls.name, conn.sid, True))
        return cls(conn, channel)


class WebTransportClient(ChannelClient):
    """Engine.IO over the stream of a WebTransport session (HTTP/3, the ``webtransport``
    extra)."""

    name = "webtransport"
    __slots__ = ()

    @classmethod
    async def _open(cls, options: ConnectOptions, first: str, sid: str | None = None,
                    with_headers: bool = True) -> Channel:
        from .webtransport import connect_webtransport  # aioquic: the webtransport extra

        target = options.endpoint(cls.name, sid)
        channel = await connect_webtransport(
            "https" + target[target.index(":"):],  # HTTP/3: always TLS
            ssl_verify=options.ssl_verify, certificate_hashes=options.certificate_hashes,
            headers=options.headers if with_headers else None,
        )
        try:
            await channel.send(first)
        except BaseException:
            await channel.close()
            raise
        return channel

    @classmethod
    async def connect(
        cls, options: ConnectOptions, on_message: Callable[[str | bytes], None]
    ) -> EngineConnection:
        """Open a session: as socket.io-client, the stream starts with an OPEN without data."""
        channel = await cls._open(options, "0")
        try:
            return await cls.attach(channel, options, on_message)
        except BaseException:
            await channel.close()
            raise

    @classmethod
    async def for_upgrade(cls, conn: EngineConnection) -> ChannelClient:
        """A WebTransport session whose first packet names the session to upgrade."""
        first = "0" + jsoncodec.dumps({"sid": conn.sid})
        return cls(conn, await cls._open(conn.options, first, conn.sid, with_headers=False))
