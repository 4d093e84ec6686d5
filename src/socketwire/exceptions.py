"""The whole socketwire error tree.

::

    SocketwireError
    ├── ProtocolError
    │   ├── LocalProtocolError        you asked for something the protocol forbids
    │   │                             (a reserved event name, an unknown namespace...)
    │   └── RemoteProtocolError       the peer sent something invalid (bad packet, bad payload)
    ├── HandshakeError                an Engine.IO HTTP request refused, with the Engine.IO
    │                                 error ``code`` (0-5) and the HTTP status to answer with
    ├── ConnectionRefused             raised by a connection middleware: becomes CONNECT_ERROR
    │                                 with ``message`` and ``data`` on the client side
    ├── ConnectError                  client side: a namespace connection was refused
    ├── AckTimeout                    an acknowledgement did not arrive in time
    │   └── ClusterTimeout            a cluster request (fetch_sockets,
    │                                 server_side_emit_with_ack...) was not answered by
    │                                 every server in time; ``responses`` holds what came
    └── Disconnected                  the socket is not connected (or got disconnected while
                                      waiting for something)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AckTimeout",
    "ClusterTimeout",
    "ConnectError",
    "ConnectionRefused",
    "Disconnected",
    "HandshakeError",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "SocketwireError",
]


class SocketwireError(Exception):
    """Root of every error socketwire raises on purpose."""


class ProtocolError(SocketwireError):
    """A packet or a call broke the Engine.IO / Socket.IO protocol."""


class LocalProtocolError(ProtocolError, ValueError):
    """The local code asked for something the protocol forbids."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids."""


class HandshakeError(SocketwireError):
    """An Engine.IO HTTP request is refused with an Engine.IO error code.

    ``code`` is the Engine.IO error number (0 transport unknown, 1 session id unknown, 2 bad
    handshake method, 3 bad request, 4 forbidden, 5 unsupported protocol version) and
    ``status`` the HTTP status Node's engine.io answers with (403 for code 4, else 400).
    """

    MESSAGES = {
        0: "Transport unknown",
        1: "Session ID unknown",
        2: "Bad handshake method",
        3: "Bad request",
        4: "Forbidden",
        5: "Unsupported protocol version",
    }

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message if message is not None else self.MESSAGES.get(code, "Bad request")
        self.status = 403 if code == 4 else 400
        super().__init__(f"{self.code}: {self.message}")


class ConnectionRefused(SocketwireError):
    """Raise in a connection middleware or ``connection`` handler to refuse a client.

    The client receives a CONNECT_ERROR packet ``{"message": message, "data": data}``
    (``data`` left out when ``None``).
    """

    def __init__(self, message: str = "Connection refused", data: Any = None) -> None:
        self.message = message
        self.data = data
        super().__init__(message)


class ConnectError(SocketwireError):
    """Client side: the server refused a namespace connection (CONNECT_ERROR), or could not
    be reached.

    ``message`` is socket.io-client's (the server's message, ``"xhr poll error"``,
    ``"websocket error"``, ``"timeout"``...); when ``data`` has a ``description`` (the
    cause, e.g. ``"connection refused to 127.0.0.1:3999"``), ``str(err)`` says it too.
    """

    def __init__(self, message: str, data: Any = None) -> None:
        self.message = message
        self.data = data
        description = data.get("description") if isinstance(data, dict) else None
        super().__init__(f"{message}: {description}" if description else message)


class AckTimeout(SocketwireError):
    """An acknowledgement did not arrive before the timeout (``event``: the event's name,
    when known)."""

    def __init__(self, message: str = "operation has timed out", *args: Any,
                 event: str | None = None) -> None:
        self.event = event
        super().__init__(message, *args)


class ClusterTimeout(AckTimeout):
    """Some servers of the cluster did not answer a request in time.

    The message is Node's (``timeout reached: only 1 responses received out of 2``);
    ``responses`` holds the answers that came, ``received`` and ``expected`` count servers.
    """

    def __init__(self, message: str, responses: list[Any] | None = None,
                 received: int = 0, expected: int = 0) -> None:
        super().__init__(message)
        self.responses: list[Any] = list(responses or [])
        self.received = received
        self.expected = expected


class Disconnected(SocketwireError):
    """The socket is disconnected, or got disconnected while waiting."""
