"""Adapters: the one interface the server uses to reach sockets, locally or across a cluster."""

from .base import Adapter, BroadcastFlags, BroadcastOptions, SocketDetails, socket_details
from .memory import InMemoryAdapter

__all__ = [
    "Adapter",
    "BroadcastFlags",
    "BroadcastOptions",
    "InMemoryAdapter",
    "SocketDetails",
    "socket_details",
]
