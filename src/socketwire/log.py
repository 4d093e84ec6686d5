"""socketwire's loggers, and one switch for debug output (as Node's ``DEBUG=socket.io*``).

Every layer logs under its own name (standard :mod:`logging`, nothing printed unless you
configure it):

=========================  ==============================================================
``socketwire.engine``      Engine.IO sessions: handshakes, refused origins, slow consumers
``socketwire.server``      namespaces, sockets, middlewares, acks
``socketwire.handlers``    errors in your event handlers (with the event's name)
``socketwire.adapters``    adapters (``.redis`` for the Redis ones, ``.cluster`` their core)
``socketwire.hosting``     the standalone HTTP/WebSocket server and the ASGI app
``socketwire.client``      the Python clients
``socketwire.admin``       the admin UI
``socketwire.packets``     every packet a server receives and sends, at DEBUG (only traced
                           while debug output for it is on)
=========================  ==============================================================

The switch: ``SOCKETWIRE_DEBUG=PATTERNS`` in the environment (read when socketwire is
imported), ``--debug [PATTERNS]`` on the ``socketwire`` command, or
:func:`enable_debug` in code. PATTERNS is a comma-separated list of logger names where ``*``
matches anything and a leading ``-`` excludes, as Node's ``DEBUG``: ``socketwire*`` (all),
``socketwire.packets``, ``socketwire*,-socketwire.packets``. The matching loggers are set to
DEBUG and print to standard error.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from .engine.server import EngineServer
    from .engine.session import EngineSession

__all__ = ["ENV_VAR", "LOGGERS", "enable_debug", "packet_tracing_wanted", "trace_packets"]

ENV_VAR = "SOCKETWIRE_DEBUG"
LOGGERS = (
    "socketwire.engine",
    "socketwire.server",
    "socketwire.handlers",
    "socketwire.adapters",
    "socketwire.hosting",
    "socketwire.client",
    "socketwire.admin",
    "socketwire.packets",
)
PACKETS = logging.getLogger("socketwire.packets")
MAX_SHOWN = 300  # characters of a packet shown in the trace

_handler: logging.Handler | None = None


def _matches(name: str, patterns: Sequence[str]) -> bool:
    wanted = False
    for pattern in patterns:
        if pattern.startswith("-"):
            if fnmatch.fnmatchcase(name, pattern[1:]):
                return False
        elif fnmatch.fnmatchcase(name, pattern):
            wanted = True
    return wanted


def enable_debug(patterns: str = "socketwire*", stream: IO[str] | None = None) -> list[str]:
    """Print the DEBUG output of the loggers matching ``patterns`` to ``stream`` (standard
    error); returns their names. Servers created afterwards trace their packets when
    ``socketwire.packets`` is among them (see :func:`trace_packets` for one created before)."""
    global _handler
    parts = [p.strip() for p in patterns.split(",") if p.strip()]
    names = [name for name in LOGGERS if _matches(name, parts)]
    if _handler is None:
        _handler = logging.StreamHandler(stream or sys.stderr)
        _handler.setFormatter(logging.Formatter(
            "%(asctime)s.%(msecs)03d %(name)s %(levelname)s %(message)s", "%H:%M:%S"))
    for name in names:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        if _handler not in logger.handlers:
            logger.addHandler(_handler)
        logger.propagate = False  # printed once, not again by a root handler
    return names


def packet_tracing_wanted() -> bool:
    """Whether new servers should trace their packets (``socketwire.packets`` at DEBUG)."""
    return PACKETS.isEnabledFor(logging.DEBUG)


def trace_packets(engine: EngineServer) -> None:
    """Log every packet ``engine`` (``io.engine``) receives and sends to
    ``socketwire.packets`` at DEBUG, through its hooks."""
    hooks = engine.hooks
    if _received in hooks.packet_in:
        return
    hooks.packet_in.append(_received)
    hooks.packet_out.append(_sent)
    hooks.connection.append(_opened)
    hooks.close.append(_closed)
    hooks.upgrade.append(_upgraded)


def _shown(packet: str | bytes) -> str:
    if isinstance(packet, bytes):
        return f"<{len(packet)} bytes>"
    if len(packet) > MAX_SHOWN:
        return f"{packet[:MAX_SHOWN]}... ({len(packet)} characters)"
    return packet


def _received(session: EngineSession, data: str | bytes) -> None:
    # MESSAGE payloads arrive without their Engine.IO type: shown with it, as sent
    PACKETS.debug("%s < %s", session.sid, _shown(data) if isinstance(data, bytes)
                  else _shown("4" + data))


def _sent(session: EngineSession, packets: Sequence[str | bytes]) -> None:
    for packet in packets:
        PACKETS.debug("%s > %s", session.sid, _shown(packet))


def _opened(session: EngineSession) -> None:
    PACKETS.debug("%s opened (%s)", session.sid, session.transport)


def _closed(session: EngineSession, reason: str) -> None:
    PACKETS.debug("%s closed: %s", session.sid, reason)


def _upgraded(session: EngineSession) -> None:
    PACKETS.debug("%s upgraded to websocket", session.sid)


def _from_environment() -> None:
    patterns = os.environ.get(ENV_VAR, "").strip()
    if patterns:
        enable_debug(patterns)
