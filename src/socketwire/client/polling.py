"""HTTP long-polling on the client: the handshake GET, the poll loop, batched POSTs."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp

from ..exceptions import ConnectError, RemoteProtocolError
from ..protocol import eio
from ..protocol.eio import EioType
from ..protocol.reasons import Reason
from .transport import ClientTransport, ConnectOptions, describe

if TYPE_CHECKING:
    from .transports import EngineConnection

__all__ = ["PollingClient"]


class PollingClient(ClientTransport):
    """Engine.IO over HTTP long-polling: GETs bring packets, POSTs carry them."""

    name = "polling"
    upgrades = ("webtransport", "websocket")
    __slots__ = ()

    @classmethod
    async def _handshake(
        cls, options: ConnectOptions, on_message: Callable[[str | bytes], None],
        http: aiohttp.ClientSession,
    ) -> EngineConnection:
        from .transports import EngineConnection

        target = options.endpoint(cls.name)
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
        conn = EngineConnection(info, on_message, options, http=http)
        conn.start(cls(conn))
        for kind, payload in packets[1:]:
            conn._on_packet(kind, payload)
        return conn

    def _url(self) -> str:
        return self.conn.options.endpoint(self.name, self.conn.sid)

    # ----------------------------------------------------------------- sending

    async def write(self, outbox: deque[str | bytes]) -> bool:
        """POST the first packets of ``outbox``, as many as the server's payload limit."""
        return await self._post(eio.encode_payload(self._take_batch(outbox)))

    def _take_batch(self, outbox: deque[str | bytes]) -> list[str | bytes]:
        """Queued packets for one POST, within the server's ``maxPayload`` (at least one)."""
        batch: list[str | bytes] = []
        size = 0
        limit = self.conn.info.max_payload
        while outbox:
            packet = outbox[0]
            if isinstance(packet, str):
                cost = 1 + (len(packet) if packet.isascii() else len(packet.encode()))
            else:
                cost = 2 + len(packet) * 4 // 3
            if batch and size + cost > limit:
                break
            batch.append(outbox.popleft())
            size += cost
        return batch

    async def _post(self, body: str) -> bool:
        http = self.conn.http
        assert http is not None
        try:
            async with http.post(
                self._url(), data=body.encode(),
                headers={"Content-Type": "text/plain;charset=UTF-8"},
            ) as resp:
                await resp.read()
                return resp.status == 200
        except (aiohttp.ClientError, OSError):
            return False

    async def send_close(self) -> None:
        """POST a CLOSE packet."""
        await self._post("1")

    # --------------------------------------------------------------- receiving

    async def read(self) -> None:
        """Poll until paused for an upgrade, upgraded, or closed."""
        conn = self.conn
        http = conn.http
        assert http is not None
        while conn.current is self and not conn.paused and conn.is_open:
            try:
                async with http.get(self._url()) as resp:
                    body = await resp.text(encoding="utf-8")
                    ok = resp.status == 200
            except (aiohttp.ClientError, OSError, UnicodeDecodeError):
                ok = False
            if not ok:
                conn._shutdown(Reason.TRANSPORT_ERROR)
                return
            try:
                packets = eio.decode_payload(body)
            except RemoteProtocolError:
                conn._shutdown(Reason.PARSE_ERROR)
                return
            for kind, payload in packets:
                if not conn.is_open:
                    return
                conn._on_packet(kind, payload)
