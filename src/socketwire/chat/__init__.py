"""The chat app: the socket.io tutorial's chat, grown up a little (``socketwire chat``).

:func:`create_server` builds the Socket.IO side; :data:`STATIC_DIR` holds the page (plain HTML,
CSS and JavaScript using the browser client the server serves). The event contract is written
up in ``docs/chat.md``. Everything lives in the Socket.IO server (no database): who is online
and who is in a room are asked of the adapter (``fetch_sockets``), so ``socketwire chat
--workers N`` (or any cluster adapter) serves one chat across processes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..exceptions import ConnectionRefused
from ..server.server import Server
from ..server.socket import Socket

__all__ = [
    "MAX_ROOM_LENGTH",
    "MAX_TEXT_LENGTH",
    "MAX_USERNAME_LENGTH",
    "STATIC_DIR",
    "create_server",
]

STATIC_DIR = Path(__file__).with_name("static")
"""The folder served at ``/``: ``index.html``, ``chat.css``, ``chat.js``."""

MAX_USERNAME_LENGTH = 32
MAX_TEXT_LENGTH = 2000
MAX_ROOM_LENGTH = 64

# The error strings acks carry (``{"ok": False, "error": ...}``); docs/chat.md lists them.
ERR_TEXT = "invalid text"
ERR_PAYLOAD = "invalid payload"
ERR_ROOM = "invalid room"
ERR_NO_USER = "no such user"
ERR_NOT_IN_ROOM = "not in room"

Json = dict[str, Any]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _valid_text(text: Any) -> bool:
    return isinstance(text, str) and bool(text.strip()) and len(text) <= MAX_TEXT_LENGTH


def _user(socket: Any) -> Json:  # a Socket, or a RemoteSocket of another worker/server
    data = socket.data if isinstance(socket.data, dict) else {}
    return {"id": socket.id, "userName": data.get("userName", "")}


def create_server(**options: Any) -> Server:
    """A :class:`socketwire.Server` running the chat's event contract (``docs/chat.md``).

    ``options`` go to the ``Server`` constructor unchanged.
    """
    io = Server(**options)
    nsp = io.of("/")

    def is_socket_id(name: str) -> bool:
        return name in nsp.sockets

    def valid_room(room: Any) -> bool:
        return (
            isinstance(room, str)
            and 0 < len(room) <= MAX_ROOM_LENGTH
            and bool(room.strip())
            and not is_socket_id(room)
        )

    async def members(room: str) -> list[Json]:
        return [_user(s) for s in await nsp.in_(room).fetch_sockets()]

    async def online() -> list[Json]:
        return [_user(s) for s in await nsp.fetch_sockets()]

    async def exists(sid: str) -> bool:  # a user, on this server or another of the cluster
        return sid in nsp.sockets or bool(await nsp.in_(sid).fetch_sockets())

    def check_username(socket: Socket) -> None:
        name = socket.handshake.auth.get("username")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_USERNAME_LENGTH:
            raise ConnectionRefused("invalid username")
        socket.data["userName"] = name.strip()

    io.use(check_username)

    async def connection(socket: Socket) -> None:
        me = _user(socket)

        def new_message(text: Any = None) -> Json:
            if not _valid_text(text):
                return {"ok": False, "error": ERR_TEXT}
            ts = _now_ms()
            socket.broadcast.emit("new-message", {**me, "text": text, "ts": ts})
            return {"ok": True, "ts": ts}

        async def send_private_msg(payload: Any = None) -> Json:
            if not isinstance(payload, dict):
                return {"ok": False, "error": ERR_PAYLOAD}
            to, text = payload.get("to"), payload.get("text")
            if not _valid_text(text):
                return {"ok": False, "error": ERR_TEXT}
            if not isinstance(to, str) or not await exists(to):
                return {"ok": False, "error": ERR_NO_USER}
            io.to(to).emit("got-private-msg", {"from": me, "text": text, "ts": _now_ms()})
            return {"ok": True}

        async def join_room(room: Any = None) -> Json:
            if not valid_room(room):
                return {"ok": False, "error": ERR_ROOM}
            if room not in socket.rooms:
                socket.to(room).emit("user-joined-room", {"room": room, **me})
                socket.join(room)
            return {"ok": True, "room": room, "members": await members(room)}

        def leave_room(room: Any = None) -> Json:
            if not valid_room(room):
                return {"ok": False, "error": ERR_ROOM}
            if room not in socket.rooms:
                return {"ok": False, "error": ERR_NOT_IN_ROOM}
            socket.leave(room)
            socket.to(room).emit("user-left-room", {"room": room, **me})
            return {"ok": True, "room": room}

        def room_message(payload: Any = None) -> Json:
            if not isinstance(payload, dict):
                return {"ok": False, "error": ERR_PAYLOAD}
            room, text = payload.get("room"), payload.get("text")
            if not valid_room(room):
                return {"ok": False, "error": ERR_ROOM}
            if not _valid_text(text):
                return {"ok": False, "error": ERR_TEXT}
            if room not in socket.rooms:
                return {"ok": False, "error": ERR_NOT_IN_ROOM}
            ts = _now_ms()
            socket.to(room).emit("room-message", {"room": room, "from": me, "text": text, "ts": ts})
            return {"ok": True, "ts": ts}

        async def list_users() -> list[Json]:
            return await online()

        def disconnect(reason: Any = None) -> None:
            socket.broadcast.emit("user-disconnected", {**me, "msg": "user disconnected"})

        socket.on("new-message", new_message)
        socket.on("send-private-msg", send_private_msg)
        socket.on("join-room", join_room)
        socket.on("leave-room", leave_room)
        socket.on("room-message", room_message)
        socket.on("list-users", list_users)
        socket.on("disconnect", disconnect)
        # handlers first: what the client sends while the list of users is fetched is handled
        users = await online()
        if socket.connected:
            socket.emit("welcome", {**me, "users": users})
            socket.broadcast.emit("new-user-joined", {**me, "msg": "New User Joined"})

    io.on("connection", connection)
    return io
