"""``instrument(io, ...)``: the server side of the Socket.IO admin UI protocol (0.5).

The dashboard (the official one or ours at ``/admin/``) is an ordinary Socket.IO client of the
admin namespace. This module authenticates it, then keeps it informed with events broadcast
on that namespace, and obeys its commands (``emit``, ``join``, ``leave``, ``_disconnect``).
Everything hangs off the server's hooks (``io.hooks``, ``io.engine.hooks``); when no admin is
connected to this (single) server, the hooks return at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket as _socket
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..adapters.memory import InMemoryAdapter
from ..exceptions import ConnectionRefused
from ..handlers import spawn
from .auth import BasicAuth, InMemoryStore, SessionStore, new_session_id

if TYPE_CHECKING:
    from ..engine.session import EngineSession
    from ..server.namespace import Namespace
    from ..server.server import Server
    from ..server.socket import Socket

__all__ = ["COMMAND_FEATURES", "STATIC_DIR", "Instrumentation", "instrument"]

log = logging.getLogger("socketwire.admin")

STATIC_DIR = Path(__file__).with_name("static")
"""Our dashboard: ``index.html``, ``admin.css``, ``admin.js``."""

COMMAND_FEATURES = ("EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT")
_MISSING: Any = object()
_MAX_DEPTH = 32


# ---------------------------------------------------------------------------- helpers


def iso_now() -> str:
    """The current UTC time as JavaScript's ``Date.prototype.toISOString`` writes it."""
    ms = int(time.time() * 1000)
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _process_start() -> float:
    """When this process started (wall clock), for ``uptime``; import time as a fallback."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat(5): start time in clock ticks after boot
        with open("/proc/uptime", "rb") as f:
            since_boot = float(f.read().split()[0])
        return time.time() - since_boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.time()


_STARTED = _process_start()


def _plain(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy of ``value`` (watched containers become plain; unknown objects their
    ``str``), as ``JSON.stringify`` would make something of any value."""
    if value is None or isinstance(value, (str, bool, int, float, bytes)):
        return value
    if depth > _MAX_DEPTH:
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return str(value)


def _data_without_admin(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        return {}
    return {str(k): _plain(v) for k, v in data.items() if k != "_admin"}


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def serialize_socket(sock: Any, nsp_name: str) -> dict[str, Any]:
    """A socket as the admin UI knows it (Node's ``serialize``): id, clientId (first 12
    characters of the Engine.IO id), transport, nsp, data (without ``_admin``), handshake
    (without ``auth``) and rooms."""
    data = _field(sock, "data", {}) or {}
    admin = data.get("_admin") if isinstance(data, Mapping) else None
    conn = getattr(sock, "conn", None)
    client_id = _field(admin, "clientId") if admin else None
    transport = _field(admin, "transport") if admin else None
    if client_id is None and conn is not None:  # connected before instrument()
        client_id = conn.sid[:12]
    if transport is None and conn is not None:
        transport = conn.transport
    hs = _field(sock, "handshake", {})
    headers = _field(hs, "headers", {}) or {}
    address = (headers.get("cf-connecting-ip") or headers.get("x-forwarded-for")
               or _field(hs, "address"))
    out: dict[str, Any] = {
        "id": _field(sock, "id"),
        "clientId": client_id,
        "transport": transport,
        "nsp": nsp_name,
        "data": _data_without_admin(data),
        "handshake": {
            "address": address,
            "headers": dict(headers),
            "query": dict(_field(hs, "query", {}) or {}),
            "issued": _field(hs, "issued"),
            "secure": _field(hs, "secure"),
            "time": _field(hs, "time"),
            "url": _field(hs, "url"),
            "xdomain": _field(hs, "xdomain"),
        },
        "rooms": list(_field(sock, "rooms", ()) or ()),
    }
    if out["clientId"] is None:
        del out["clientId"]  # as JSON.stringify drops undefined
    if out["transport"] is None:
        del out["transport"]
    return out


# --------------------------------------------------------------- watched socket.data


def _wrap(value: Any, notify: Callable[[], None]) -> Any:
    if type(value) is dict:
        return WatchedDict(notify, value)
    if type(value) is list:
        return WatchedList(notify, value)
    return value


class WatchedDict(dict[str, Any]):
    """``socket.data`` in development mode: a dict that reports every change (at any depth),
    as Node's Proxy does, so the UI gets ``socket_updated``. Copies are plain dicts."""

    __slots__ = ("_notify",)

    def __init__(self, notify: Callable[[], None], initial: Mapping[str, Any] = {}) -> None:
        super().__init__()
        self._notify = notify
        for k, v in initial.items():
            dict.__setitem__(self, k, v if k == "_admin" else _wrap(v, notify))

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self, key, _wrap(value, self._notify))
        self._notify()

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        self._notify()

    def update(self, *args: Any, **kwargs: Any) -> None:
        """As ``dict.update``; the dashboard is told of the change."""
        for k, v in dict(*args, **kwargs).items():
            dict.__setitem__(self, k, _wrap(v, self._notify))
        self._notify()

    def setdefault(self, key: str, default: Any = None) -> Any:
        """As ``dict.setdefault``; the dashboard is told of the change."""
        if key in self:
            return self[key]
        self[key] = default
        return self[key]

    def pop(self, key: str, *default: Any) -> Any:
        """As ``dict.pop``; the dashboard is told of the change."""
        had = key in self
        value = dict.pop(self, key, *default)
        if had:
            self._notify()
        return value

    def popitem(self) -> tuple[str, Any]:
        """As ``dict.popitem``; the dashboard is told of the change."""
        item = dict.popitem(self)
        self._notify()
        return item

    def clear(self) -> None:
        """As ``dict.clear``; the dashboard is told of the change."""
        dict.clear(self)
        self._notify()

    def __ior__(self, other: Any) -> WatchedDict:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        import copy

        return {k: copy.deepcopy(v, memo) for k, v in self.items()}

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


class WatchedList(list[Any]):
    """A list inside a watched ``socket.data``: reports its changes too."""

    __slots__ = ("_notify",)

    def __init__(self, notify: Callable[[], None], initial: Iterable[Any] = ()) -> None:
        super().__init__(_wrap(v, notify) for v in initial)
        self._notify = notify

    def _changed(self) -> None:
        self._notify()

    def __setitem__(self, index: Any, value: Any) -> None:
        list.__setitem__(self, index, value)
        self._changed()

    def __delitem__(self, index: Any) -> None:
        list.__delitem__(self, index)
        self._changed()

    def __iadd__(self, other: Iterable[Any]) -> WatchedList:  # type: ignore[misc]
        self.extend(other)
        return self

    def append(self, value: Any) -> None:
        """As ``list.append``; the dashboard is told of the change."""
        list.append(self, _wrap(value, self._notify))
        self._changed()

    def extend(self, values: Iterable[Any]) -> None:
        """As ``list.extend``; the dashboard is told of the change."""
        list.extend(self, (_wrap(v, self._notify) for v in values))
        self._changed()

    def insert(self, index: Any, value: Any) -> None:
        """As ``list.insert``; the dashboard is told of the change."""
        list.insert(self, index, _wrap(value, self._notify))
        self._changed()

    def pop(self, index: Any = -1) -> Any:
        """As ``list.pop``; the dashboard is told of the change."""
        value = list.pop(self, index)
        self._changed()
        return value

    def remove(self, value: Any) -> None:
        """As ``list.remove``; the dashboard is told of the change."""
        list.remove(self, value)
        self._changed()

    def clear(self) -> None:
        """As ``list.clear``; the dashboard is told of the change."""
        list.clear(self)
        self._changed()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        """As ``list.sort``; the dashboard is told of the change."""
        list.sort(self, *args, **kwargs)
        self._changed()

    def reverse(self) -> None:
        """As ``list.reverse``; the dashboard is told of the change."""
        list.reverse(self)
        self._changed()

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        import copy

        return [copy.deepcopy(v, memo) for v in self]

    def __reduce__(self) -> Any:
        return (list, (list(self),))


# ------------------------------------------------------------------- aggregated events


class EventBuffer:
    """Engine-level counters in one-second buckets, drained by each ``server_stats``."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[tuple[int, str, str | None], int] = {}

    def push(self, kind: str, sub_type: str | None = None, count: int = 1,
             now: float | None = None) -> None:
        """Add ``count`` to the bucket of this second for ``kind``/``sub_type``."""
        key = (int(time.time() if now is None else now) * 1000, kind, sub_type)
        counts = self._counts
        counts[key] = counts.get(key, 0) + count

    def drain(self) -> list[dict[str, Any]]:
        """Every bucket as the UI expects it (``subType`` left out when there is none)."""
        counts, self._counts = self._counts, {}
        out: list[dict[str, Any]] = []
        for (timestamp, kind, sub_type), count in counts.items():
            entry: dict[str, Any] = {"timestamp": timestamp, "type": kind}
            if sub_type is not None:
                entry["subType"] = sub_type
            entry["count"] = count
            out.append(entry)
        return out


def _byte_length(packet: str | bytes) -> int:
    """Node's ``Buffer.byteLength`` of an Engine.IO packet's data (its type left out)."""
    if isinstance(packet, str):
        return len(packet) - 1 if packet.isascii() else len(packet.encode("utf-8")) - 1
    return len(packet)


# ------------------------------------------------------------------------ instrument


class Instrumentation:
    """A server instrumented for the admin UI; made by :func:`instrument`.

    ``close()`` undoes it (hooks, timer, dashboard route). Attributes: ``admin`` (the admin
    namespace), ``supported_features``, ``development``, ``server_id``.
    """

    def __init__(
        self,
        io: Server,
        *,
        auth: BasicAuth | None,
        mode: Literal["development", "production"],
        read_only: bool,
        namespace_name: str,
        server_id: str | None,
        store: SessionStore,
        ui_path: str | None,
        stats_interval: float,
    ) -> None:
        self.io = io
        self.auth = auth
        self.store = store
        self.read_only = read_only
        self.development = mode == "development"
        self.stats_interval = stats_interval
        self.hostname = _socket.gethostname()
        self._given_server_id = server_id
        self.admin: Namespace = io.of(namespace_name)
        features = [] if read_only else list(COMMAND_FEATURES)
        features.append("AGGREGATED_EVENTS")
        if self.development:
            features.append("ALL_EVENTS")
        self.supported_features: list[str] = features
        self.events = EventBuffer()
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._sessions: weakref.WeakKeyDictionary[Socket, str] = weakref.WeakKeyDictionary()
        self._room_listeners: list[tuple[Namespace, str, Callable[..., None]]] = []
        self._ui_prefix: str | None = None
        self._hooks: list[tuple[list[Any], Any]] = []
        self._last_packets: Sequence[str | bytes] | None = None
        self._last_measure = (0, 0)
        self._out_second = 0
        self._out_count = 0
        self._out_bytes = 0

        if auth is not None:
            self.admin.use(self._authenticate)
        hooks, engine_hooks = io.hooks, io.engine.hooks
        self._hook(engine_hooks.connection, self._on_raw_connection)
        self._hook(engine_hooks.close, self._on_raw_close)
        self._hook(engine_hooks.packet_in, self._on_packet_in)
        self._hook(engine_hooks.packet_out, self._on_packets_out)
        self._hook(hooks.connection, self._on_connection)
        self._hook(hooks.shutdown, self.close)
        self._hook(hooks.startup, self._start_stats)  # each worker of --workers reports
        if self.development:
            self._hook(hooks.new_namespace, self._watch_rooms)
            self._hook(hooks.disconnect, self._on_disconnect)
            self._hook(hooks.event_received, self._on_event_received)
            self._hook(hooks.event_sent, self._on_event_sent)
            self._hook(engine_hooks.upgrade, self._on_upgrade)
            for nsp in list(io.namespaces.values()):
                self._watch_rooms(nsp)
        if ui_path:
            self._ui_prefix = "/" + ui_path.strip("/")
            io.static_routes[self._ui_prefix] = STATIC_DIR
        self._start_stats()

    @property
    def server_id(self) -> str:
        """The ``serverId`` of ``server_stats``: the one given, else as Node's admin UI: the
        host name, with ``#PID`` in a worker of ``--workers`` (one entry per worker)."""
        if self._given_server_id:
            return self._given_server_id
        if getattr(self.io, "worker", None) is not None:
            return f"{self.hostname}#{os.getpid()}"
        return self.hostname

    def _hook(self, hooks: list[Any], fn: Any) -> None:
        hooks.append(fn)
        self._hooks.append((hooks, fn))

    def close(self) -> None:
        """Stop instrumenting: remove the hooks, the stats timer and the dashboard route."""
        if self._closed:
            return
        self._closed = True
        for hooks, fn in self._hooks:
            if fn in hooks:
                hooks.remove(fn)
        for nsp, event, listener in self._room_listeners:
            nsp.adapter.off(event, listener)
        self._room_listeners.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._ui_prefix is not None:
            self.io.static_routes.pop(self._ui_prefix, None)

    # ------------------------------------------------------------------ emitting

    @property
    def _silent(self) -> bool:
        """No admin can hear us: nobody on the admin namespace of this single server."""
        return not self.admin.sockets and type(self.admin.adapter) is InMemoryAdapter

    def _broadcast(self, event: str, *args: Any) -> None:
        try:
            self.admin.emit(event, *args)
        except Exception:
            log.exception("admin: cannot emit %s", event)

    # --------------------------------------------------------------- authentication

    async def _authenticate(self, sock: Socket) -> None:
        assert self.auth is not None
        auth = sock.handshake.auth
        session_id = auth.get("sessionId")
        if isinstance(session_id, str) and session_id and await self.store.session_exists(
            session_id
        ):
            return
        if await self.auth.check(auth.get("username"), auth.get("password")):
            session_id = new_session_id()
            await self.store.save_session(session_id)
            self._sessions[sock] = session_id
            return
        raise ConnectionRefused("invalid credentials")

    # --------------------------------------------------------------- connections

    def _on_connection(self, sock: Socket) -> None:
        is_admin = sock.nsp is self.admin
        if is_admin:
            session_id = self._sessions.pop(sock, None)
            if session_id is not None:
                # after CONNECT (Node sends it before, and the official UI then misses it)
                sock.emit("session", session_id)
        if self.development:
            self._track(sock)
        if is_admin:
            self._start_stats()
            if not self.read_only:
                self._register_commands(sock)
            sock.emit("config", {"supportedFeatures": list(self.supported_features)})
            if self.development:
                spawn(self._send_all_sockets(sock))

    def _track(self, sock: Socket) -> None:
        nsp_name = sock.nsp.name
        conn = sock.conn

        def notify() -> None:
            if not self._silent:
                self._broadcast("socket_updated", {
                    "id": sock.id, "nsp": nsp_name, "data": _data_without_admin(sock.data),
                })

        previous = sock.data if isinstance(sock.data, Mapping) else {}
        initial: dict[str, Any] = {
            "_admin": {"clientId": conn.sid[:12], "transport": conn.transport},
        }
        initial.update((k, v) for k, v in previous.items() if k != "_admin")
        sock.data = WatchedDict(notify, initial)
        if not self._silent:
            self._broadcast("socket_connected", serialize_socket(sock, nsp_name), iso_now())

    async def _send_all_sockets(self, sock: Socket) -> None:
        sockets: list[dict[str, Any]] = []
        for nsp in list(self.io.namespaces.values()):
            try:
                found = await nsp.fetch_sockets()
            except Exception:
                log.exception("admin: fetch_sockets failed on %s", nsp.name)
                continue
            sockets.extend(serialize_socket(s, nsp.name) for s in found)
        if sock.connected:
            sock.emit("all_sockets", sockets)

    def _on_disconnect(self, sock: Socket, reason: str) -> None:
        if not self._silent:
            self._broadcast("socket_disconnected", sock.nsp.name, sock.id, reason, iso_now())

    def _on_upgrade(self, session: EngineSession) -> None:
        sockets = getattr(session.handler, "sockets", None)
        if not sockets:
            return
        for sock in list(sockets.values()):
            data = sock.data
            info = data.get("_admin") if isinstance(data, Mapping) else None
            if isinstance(info, dict):
                info["transport"] = session.transport
            if not self._silent:
                self._broadcast("socket_updated", {
                    "id": sock.id, "nsp": sock.nsp.name, "transport": session.transport,
                })

    # --------------------------------------------------------------------- rooms

    def _watch_rooms(self, nsp: Namespace) -> None:
        name = nsp.name

        def joined(room: str, sid: str) -> None:
            if not self._silent:
                self._broadcast("room_joined", name, room, sid, iso_now())

        def left(room: str, sid: str) -> None:
            if self._silent:
                return
            timestamp = iso_now()
            try:  # a tick later, as Node (the UI sees socket_disconnected first)
                asyncio.get_running_loop().call_soon(
                    self._broadcast, "room_left", name, room, sid, timestamp
                )
            except RuntimeError:
                self._broadcast("room_left", name, room, sid, timestamp)

        nsp.adapter.on("join-room", joined)
        nsp.adapter.on("leave-room", left)
        self._room_listeners += [(nsp, "join-room", joined), (nsp, "leave-room", left)]

    # -------------------------------------------------------------------- events

    def _on_event_received(self, sock: Socket, data: list[Any]) -> None:
        if sock.nsp is self.admin or self._silent:
            return
        self._broadcast("event_received", sock.nsp.name, sock.id, list(data), iso_now())

    def _on_event_sent(self, sock: Socket, data: list[Any]) -> None:
        if sock.nsp is self.admin or self._silent:
            return
        self._broadcast("event_sent", sock.nsp.name, sock.id, list(data), iso_now())

    # ------------------------------------------------------------------ commands

    def _target(self, nsp_name: Any, filter_: Any) -> Any:
        if not isinstance(nsp_name, str):
            return None
        nsp = self.io.namespaces.get(nsp_name)
        if nsp is None:
            return None  # Node would create the namespace; a command should not
        if isinstance(filter_, str) and filter_:
            return nsp.to(filter_)
        if (isinstance(filter_, list) and filter_
                and all(isinstance(r, str) for r in filter_)):
            return nsp.to(filter_)
        return nsp._operator()

    def _register_commands(self, sock: Socket) -> None:
        def on_emit(nsp: Any = None, filter_: Any = None, event: Any = None,
                    *args: Any) -> None:
            target = self._target(nsp, filter_)
            if target is not None and isinstance(event, str):
                try:
                    target.emit(event, *args)
                except Exception as exc:
                    log.info("admin: emit refused: %s", exc)

        def on_join(nsp: Any = None, room: Any = None, filter_: Any = None) -> None:
            target = self._target(nsp, filter_)
            if target is not None and isinstance(room, str) and room:
                target.sockets_join(room)

        def on_leave(nsp: Any = None, room: Any = None, filter_: Any = None) -> None:
            target = self._target(nsp, filter_)
            if target is not None and isinstance(room, str) and room:
                target.sockets_leave(room)

        def on_disconnect(nsp: Any = None, close: Any = False, filter_: Any = None) -> None:
            target = self._target(nsp, filter_)
            if target is not None:
                target.disconnect_sockets(bool(close))

        sock.on("emit", on_emit)
        sock.on("join", on_join)
        sock.on("leave", on_leave)
        sock.on("_disconnect", on_disconnect)

    # --------------------------------------------------------------- engine stats

    def _on_raw_connection(self, session: EngineSession) -> None:
        self.events.push("rawConnection")
        if self._timer is None:
            self._start_stats()

    def _on_raw_close(self, session: EngineSession, reason: str) -> None:
        self.events.push("rawDisconnection", reason)

    def _on_packet_in(self, session: EngineSession, data: str | bytes) -> None:
        if data:
            now = time.time()
            size = len(data) if isinstance(data, bytes) or data.isascii() else len(
                data.encode("utf-8"))
            self.events.push("packetsIn", None, 1, now)
            self.events.push("bytesIn", None, size, now)

    def _on_packets_out(self, session: EngineSession, packets: Sequence[str | bytes]) -> None:
        # hot with broadcasts (once per recipient): the same packets list is measured once,
        # and counts go to plain ints, moved to the buffer when the second changes
        if packets is self._last_packets:
            count, size = self._last_measure
        else:
            count = size = 0
            for packet in packets:
                n = _byte_length(packet)
                if n > 0:
                    count += 1
                    size += n
            self._last_packets, self._last_measure = packets, (count, size)
        if count:
            second = int(time.time())
            if second != self._out_second:
                self._flush_out()
                self._out_second = second
            self._out_count += count
            self._out_bytes += size

    def _flush_out(self) -> None:
        if self._out_count:
            now = float(self._out_second)
            self.events.push("packetsOut", None, self._out_count, now)
            self.events.push("bytesOut", None, self._out_bytes, now)
            self._out_count = self._out_bytes = 0

    def _drain(self) -> list[dict[str, Any]]:
        self._flush_out()
        return self.events.drain()

    def server_stats(self) -> dict[str, Any]:
        """The ``server_stats`` payload (this drains the aggregated events)."""
        sessions = self.io.engine.sessions
        polling = 0
        for session in sessions.values():
            if session.transport == "polling":
                polling += 1
        return {
            "serverId": self.server_id,
            "hostname": self.hostname,
            "pid": os.getpid(),
            "uptime": time.time() - _STARTED,
            "clientsCount": len(sessions),
            "pollingClientsCount": polling,
            "aggregatedEvents": self._drain(),
            "namespaces": [
                {"name": nsp.name, "socketsCount": len(nsp.sockets)}
                for nsp in list(self.io.namespaces.values())
            ],
        }

    def _start_stats(self) -> None:
        if self._timer is not None or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not serving yet: the first connection starts it
        self._timer = loop.call_later(self.stats_interval, self._tick)
        self._emit_stats()

    def _tick(self) -> None:
        self._timer = None
        if self._closed:
            return
        try:
            self._timer = asyncio.get_running_loop().call_later(self.stats_interval, self._tick)
        except RuntimeError:
            return
        self._emit_stats()

    def _emit_stats(self) -> None:
        if self._silent:
            self._drain()  # keep the buffer bounded while nobody watches
            return
        self._broadcast("server_stats", self.server_stats())


def instrument(
    io: Server,
    auth: Mapping[str, Any] | Literal[False] | None = _MISSING,
    *,
    mode: Literal["development", "production"] = "development",
    read_only: bool = False,
    namespace_name: str = "/admin",
    server_id: str | None = None,
    store: SessionStore | None = None,
    ui_path: str | None = "/admin/",
    stats_interval: float = 2.0,
) -> Instrumentation:
    """Make ``io`` speak the ``@socket.io/admin-ui`` 0.5 protocol on ``namespace_name``.

    ``auth`` is required: ``{"type": "basic", "username": ..., "password": ...}`` (the
    password a bcrypt hash, or plain text hashed now) or ``False`` to allow anyone. ``mode``
    ``"production"`` sends only ``server_stats``; ``read_only`` refuses every command.
    ``ui_path`` is where our dashboard is served (``None``: not served). Returns the
    :class:`Instrumentation` (``close()`` undoes it).
    """
    if auth is _MISSING or auth is None:
        raise ValueError("the `auth` option must be specified or explicitly set to False")
    basic: BasicAuth | None = None
    if auth is False:
        log.warning("admin UI: authentication is disabled, please use with caution")
    elif isinstance(auth, Mapping) and auth.get("type") == "basic":
        basic = BasicAuth(auth.get("username"), auth.get("password"))  # type: ignore[arg-type]
    else:
        raise ValueError("invalid `auth` option: use {'type': 'basic', 'username': ..., "
                         "'password': ...} or False")
    if mode not in ("development", "production"):
        raise ValueError("`mode` must be 'development' or 'production'")
    if not namespace_name.startswith("/"):
        namespace_name = "/" + namespace_name
    if not stats_interval > 0:
        raise ValueError("`stats_interval` must be positive")
    return Instrumentation(
        io,
        auth=basic,
        mode=mode,
        read_only=read_only,
        namespace_name=namespace_name,
        server_id=server_id,
        store=store if store is not None else InMemoryStore(),
        ui_path=ui_path,
        stats_interval=stats_interval,
    )
