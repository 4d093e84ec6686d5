"""Redis adapters, wire-compatible with Node's ``@socket.io/redis-adapter`` family.

Install with ``pip install socketwire[redis]`` (redis-py, hiredis, msgpack).

- :func:`create_adapter` (``classic.py``): the classic pub/sub adapter, compatible with
  ``@socket.io/redis-adapter`` 8's ``createAdapter``.
- :class:`RedisConnection` (``connection.py``): the publisher, subscribers and command client
  one server's adapters share, with reconnection and fault handling.
"""

from .classic import RedisAdapter, create_adapter
from .connection import Callback, RedisConnection, RedisStats, RedisUnavailable

__all__ = [
    "Callback",
    "RedisAdapter",
    "RedisConnection",
    "RedisStats",
    "RedisUnavailable",
    "create_adapter",
]
