"""The registry of the engine's transports, by the name the protocol gives them."""

from __future__ import annotations

from .polling import PollingTransport
from .transport import Transport, WebSocketTransport, WebTransportTransport

__all__ = ["TRANSPORTS", "transport_class"]

#: every transport the engine knows, by its query-string name (``?transport=...``)
TRANSPORTS: dict[str, type[Transport]] = {
    cls.name: cls for cls in (PollingTransport, WebSocketTransport, WebTransportTransport)
}


def transport_class(name: str) -> type[Transport]:
    """The transport called ``name``; :class:`KeyError` for an unknown one."""
    return TRANSPORTS[name]
