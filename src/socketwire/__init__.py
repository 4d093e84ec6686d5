"""socketwire: a fast Socket.IO v4 server and client for Python (asyncio).

Wire-compatible with JavaScript socket.io v4 (Engine.IO protocol 4, Socket.IO protocol 5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import log as _log
from .exceptions import (
    AckTimeout,
    ClusterTimeout,
    ConnectError,
    ConnectionRefused,
    Disconnected,
    HandshakeError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    SocketwireError,
)
from .hosting.asgi import ASGIApp
from .hosting.standalone import run, serve
from .server.broadcast import BroadcastAckTimeout, BroadcastOperator
from .server.namespace import Namespace
from .server.recovery import ConnectionStateRecovery
from .server.server import Server
from .server.socket import Socket

if TYPE_CHECKING:
    from .client.client import AsyncClient
    from .client.sync import Client

__all__ = [
    "ASGIApp",
    "AckTimeout",
    "AsyncClient",
    "BroadcastAckTimeout",
    "BroadcastOperator",
    "Client",
    "ClusterTimeout",
    "ConnectError",
    "ConnectionRefused",
    "ConnectionStateRecovery",
    "Disconnected",
    "HandshakeError",
    "LocalProtocolError",
    "Namespace",
    "ProtocolError",
    "RemoteProtocolError",
    "Server",
    "Socket",
    "SocketwireError",
    "run",
    "serve",
]

__version__ = "0.1.0"

_log._from_environment()  # SOCKETWIRE_DEBUG=socketwire* turns debug output on (see socketwire.log)


def __getattr__(name: str) -> Any:
    # the clients load on first use, so a server never imports the HTTP client stack
    if name == "AsyncClient":
        from .client.client import AsyncClient

        return AsyncClient
    if name == "Client":
        from .client.sync import Client

        return Client
    raise AttributeError(f"module 'socketwire' has no attribute {name!r}")
