"""The socketwire clients: :class:`AsyncClient` (asyncio) and :class:`Client` (blocking)."""

from __future__ import annotations

from .backoff import Backoff
from .client import AsyncClient
from .socket import ClientSocket
from .sync import Client

__all__ = ["AsyncClient", "Backoff", "Client", "ClientSocket"]
