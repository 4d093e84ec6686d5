"""Aborting a TCP connection for real: a reset, so the kernel drops its send queue too."""

from __future__ import annotations

import socket
import struct
from typing import Any

_LINGER_OFF = struct.pack("ii", 1, 0)


def abort_transport(transport: Any) -> None:
    """Abort ``transport`` with a TCP reset: ``abort()`` alone closes the socket normally, and
    the kernel then keeps sending what it holds (megabytes on loopback) to a peer that may
    never read it."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_OFF)
        except (OSError, AttributeError, TypeError):
            pass  # not a TCP socket (or not settable): a plain abort
    transport.abort()
