"""Disconnect reason strings, byte for byte as socket.io and socket.io-client say them."""

from __future__ import annotations

import enum

__all__ = ["Reason"]


class Reason(enum.StrEnum):
    """Why a socket was disconnected."""

    SERVER_DISCONNECT = "server namespace disconnect"
    CLIENT_DISCONNECT = "client namespace disconnect"
    SERVER_SHUTTING_DOWN = "server shutting down"
    PING_TIMEOUT = "ping timeout"
    TRANSPORT_CLOSE = "transport close"
    TRANSPORT_ERROR = "transport error"
    PARSE_ERROR = "parse error"
    FORCED_CLOSE = "forced close"
    FORCED_SERVER_CLOSE = "forced server close"
    # client side (socket.io-client)
    IO_SERVER_DISCONNECT = "io server disconnect"
    IO_CLIENT_DISCONNECT = "io client disconnect"
