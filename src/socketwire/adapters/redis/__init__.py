"""Redis adapters, wire-compatible with Node's ``@socket.io/redis-adapter`` family.

Install with ``pip install socketwire[redis]`` (redis-py, hiredis, msgpack).

- :func:`create_adapter` (``classic.py``): the classic pub/sub adapter, compatible with
  ``@socket.io/redis-adapter`` 8's ``createAdapter``.
- :func:`create_sharded_adapter` (``sharded.py``): sharded pub/sub (Redis 7, Redis Cluster),
  compatible with ``createShardedAdapter``.
- :func:`create_streams_adapter` (``streams.py``): Redis streams, compatible with
  ``@socket.io/redis-streams-adapter`` 0.3 (connection state recovery across servers).
- :class:`RedisConnection` (``connection.py``): the publisher, subscribers and command client
  one server's adapters share, with reconnection and fault handling.
"""

from .classic import RedisAdapter, create_adapter
from .connection import Callback, RedisConnection, RedisStats, RedisUnavailable
from .sharded import create_sharded_adapter
from .streams import create_streams_adapter

__all__ = [
    "Callback",
    "RedisAdapter",
    "RedisConnection",
    "RedisStats",
    "RedisUnavailable",
    "create_adapter",
    "create_sharded_adapter",
    "create_streams_adapter",
]
