"""ServerConnection: one per Engine.IO session; multiplexes the namespace sockets.

(socket.io calls this a ``Client``; the name here keeps "client" for the client package.)
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from typing import TYPE_CHECKING, Any

from ..exceptions import ConnectionRefused, RemoteProtocolError
from ..handlers import call_handler, spawn
from ..protocol.reasons import Reason
from ..protocol.sio import SioPacket, SioType
from .socket import Socket

if TYPE_CHECKING:
    from ..engine.session import EngineSession
    from .namespace import Namespace
    from .server import Server

__all__ = ["ServerConnection"]

log = logging.getLogger("socketwire.server")
_EVENT = SioType.EVENT
_NO_PENDING: dict[str, list[SioPacket]] = {}  # shared, never written: see _pend

MIDDLEWARE_FAILED = "Internal server error"
"""The CONNECT_ERROR message when a connection middleware raises anything but
:class:`ConnectionRefused` (the exception itself is logged, not sent)."""


class ServerConnection:
    """The Socket.IO state of one Engine.IO session."""

    __slots__ = ("_connect_timer", "_fast", "_inflight", "_paused", "_pending", "decoder",
                 "server", "session", "sockets")

    def __init__(self, server: Server, session: EngineSession) -> None:
        self.server = server
        self.session = session
        self.decoder = server.parser.decoder(server.max_attachments)
        # whether the decoder has a hot path (SioDecoder.main_event, read at each message:
        # it changes while a binary packet's attachments are awaited)
        self._fast = hasattr(self.decoder, "main_event")
        self.sockets: dict[str, Socket] = {}  # namespace name -> socket
        # namespaces whose CONNECT is running (a dict of its own once there is one)
        self._pending: dict[str, list[SioPacket]] = _NO_PENDING
        self._inflight = 0  # coroutine handlers still running for this connection
        self._paused = False
        self._connect_timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            server.connect_timeout, self._connect_timed_out
        )

    @staticmethod
    def new_socket_id() -> str:
        """A fresh socket id (not the Engine.IO session id)."""
        return base64.urlsafe_b64encode(secrets.token_bytes(15)).decode("ascii")

    def _pend(self, name: str) -> None:
        """Hold the packets for namespace ``name`` until its CONNECT is decided."""
        if self._pending is _NO_PENDING:
            self._pending = {}
        self._pending[name] = []

    def _connect_timed_out(self) -> None:
        self._connect_timer = None
        if not self.sockets:
            self.session.close(Reason.FORCED_CLOSE)

    # ------------------------------------------------------------- engine side

    def on_message(self, data: str | bytes) -> None:
        """An Engine.IO MESSAGE: decode and route it."""
        try:
            # the hot path: an EVENT on "/" goes straight to its socket, as no packet
            decoder = self.decoder
            event = decoder.main_event(data) if self._fast else None
            packet = decoder.feed(data) if event is None else None
        except RemoteProtocolError as exc:
            log.debug("closing %s: %s", self.session.sid, exc)
            self.close(Reason.PARSE_ERROR)
            return
        if event is not None:
            socket = self.sockets.get("/")
            if socket is not None and socket._direct:
                socket._dispatch(event[0], event[1])  # the hot path of Socket._on_packet
                return
            packet = SioPacket(_EVENT, "/", event[0], event[1])
        if packet is None:
            return
        socket = self.sockets.get(packet.nsp)
        if socket is not None:
            if packet.type is _EVENT and socket._direct:
                socket._dispatch(packet.data, packet.id)
            elif packet.type == SioType.CONNECT or packet.type == SioType.CONNECT_ERROR:
                self.close(Reason.PARSE_ERROR)  # duplicate CONNECT, or CONNECT_ERROR from a client
            else:
                socket._on_packet(packet)
            return
        pending = self._pending.get(packet.nsp)
        if pending is not None and packet.type in (SioType.EVENT, SioType.BINARY_EVENT,
                                                   SioType.ACK, SioType.BINARY_ACK):
            pending.append(packet)
        elif packet.type == SioType.CONNECT and pending is None:
            self._connect(packet.nsp, packet.data)
        else:
            self.close(Reason.PARSE_ERROR)  # a packet for a namespace not joined

    def on_close(self, reason: str) -> None:
        """The Engine.IO session closed: every socket disconnects with its reason."""
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
        self.decoder.reset()
        for socket in list(self.sockets.values()):
            socket._on_close(reason)
        self.sockets.clear()
        self._pending = _NO_PENDING

    def close(self, reason: str = Reason.FORCED_CLOSE) -> None:
        """Close the whole connection: sockets get ``reason``, then the session closes."""
        for socket in list(self.sockets.values()):
            socket._on_close(reason)
        self.session.close(Reason.FORCED_CLOSE)

    def track(self, task: asyncio.Task[Any]) -> None:
        """Count a running coroutine handler: past ``max_pending_handlers`` the connection
        stops reading until half of them are done (inbound flow control)."""
        self._inflight += 1
        task.add_done_callback(self._untrack)
        if not self._paused and self._inflight >= self.server.max_pending_handlers:
            self._paused = True
            self.session.pause_reading()

    def _untrack(self, task: asyncio.Task[Any]) -> None:
        self._inflight -= 1
        if self._paused and self._inflight <= self.server.max_pending_handlers // 2:
            self._paused = False
            self.session.resume_reading()

    def disconnect_all(self) -> None:
        """Disconnect every namespace socket (each gets a DISCONNECT), then close the session."""
        for socket in list(self.sockets.values()):
            socket.disconnect()
        self.session.close(Reason.FORCED_CLOSE)

    def _remove(self, socket: Socket) -> None:
        if self.sockets.get(socket.nsp.name) is socket:
            del self.sockets[socket.nsp.name]

    def send_packet_text(self, text: str) -> None:
        """Send an already-encoded Socket.IO text packet."""
        self.session.send("4" + text)

    # ---------------------------------------------------------------- connect

    def _connect(self, name: str, auth: Any) -> None:
        auth = auth if isinstance(auth, dict) else {}
        nsp = self.server._namespace_for(name, auth)
        if nsp is None:
            self._connect_error(name, "Invalid namespace", None)
            return
        if self.server.connection_state_recovery is not None and isinstance(auth.get("pid"), str):
            self._pend(name)
            spawn(self._connect_recovering(nsp, auth))
            return
        socket = Socket(nsp, self, auth)
        if nsp._middlewares:
            self._pend(name)
            spawn(self._connect_with_middlewares(nsp, socket))
        else:
            self._accept(nsp, socket)

    async def _connect_recovering(self, nsp: Namespace, auth: dict[str, Any]) -> None:
        """A CONNECT with a ``pid``: restore that session if the adapter still has it.

        As Node, with the ``offset`` of the last event the client got; beyond Node, without
        one (the socket had been sent no event), the session is restored too, with what was
        broadcast to it since it was persisted.
        """
        offset = auth.get("offset")
        session = None
        try:
            session = await nsp.adapter.restore_session(
                auth["pid"], offset if isinstance(offset, str) else "")
        except Exception:
            log.warning("could not restore session for %s", nsp.name, exc_info=True)
        if self.session.state.value != "open":
            self._pending.pop(nsp.name, None)
            return
        socket = Socket(nsp, self, auth, session)
        settings = self.server.connection_state_recovery
        if nsp._middlewares and not (session is not None and settings is not None
                                     and settings.skip_middlewares):
            await self._connect_with_middlewares(nsp, socket)
            return
        self._accept(nsp, socket)
        for packet in self._pending.pop(nsp.name, []):
            if socket.connected:
                socket._on_packet(packet)

    async def _connect_with_middlewares(self, nsp: Namespace, socket: Socket) -> None:
        socket._connecting = True  # as Node: what it emits meanwhile is written before CONNECT
        try:
            for mw in list(nsp._middlewares):
                result = mw.fn(socket)
                if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                    await result
        except ConnectionRefused as exc:
            socket._connecting = False
            self._pending.pop(nsp.name, None)
            self._refused(socket)
            self._connect_error(nsp.name, exc.message, exc.data)
            return
        except Exception:
            # an application bug: logged here, never described to the client (only
            # ConnectionRefused speaks to it, as Node's next(err))
            log.exception("error in connection middleware of namespace %s", nsp.name)
            socket._connecting = False
            self._pending.pop(nsp.name, None)
            self._refused(socket)
            self._connect_error(nsp.name, MIDDLEWARE_FAILED, None)
            return
        socket._connecting = False
        if self.session.state.value != "open":
            self._pending.pop(nsp.name, None)
            self._refused(socket)
            return
        self._accept(nsp, socket)
        for packet in self._pending.pop(nsp.name, []):
            if socket.connected:
                socket._on_packet(packet)

    @staticmethod
    def _refused(socket: Socket) -> None:
        socket._unwatch_outgoing()
        if socket.recovered:  # it had joined its restored rooms
            socket.nsp.adapter.delete_all(socket.id)

    def _accept(self, nsp: Namespace, socket: Socket) -> None:
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
        self.sockets[nsp.name] = socket
        nsp._add(socket)
        socket.connected = True
        for data in socket._missed:  # a recovered socket: what it missed, before the reply
            socket._send_event(data)
        socket._missed = ()
        reply = {"sid": socket.id} if socket.pid is None else {"sid": socket.id, "pid": socket.pid}
        self.session.send(self.server.parser.connect(nsp.name, reply))
        if self.server.hooks.connection:
            for hook in self.server.hooks.connection:
                hook(socket)
        started = False
        for handler in list(nsp._events.get("connection")):
            if call_handler(handler, (socket,), event="connection"):  # a task
                started = True
        if started and socket.connected:
            socket._hold_until_started()

    def _connect_error(self, name: str, message: str, data: Any) -> None:
        payload: dict[str, Any] = {"message": message}
        if data is not None:
            payload["data"] = data
        self.session.send(self.server.parser.connect_error(name, payload))
