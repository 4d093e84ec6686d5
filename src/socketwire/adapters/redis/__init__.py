"""Redis adapters, wire-compatible with Node's ``@socket.io/redis-adapter`` family.

Install with ``pip install socketwire[redis]`` (redis-py, hiredis, msgpack).

- :class:`RedisConnection` (``connection.py``): the publisher, subscribers and command client
  one server's adapters share, with reconnection and fault handling.
"""

from .connection import Callback, RedisConnection, RedisStats, RedisUnavailable

__all__ = ["Callback", "RedisConnection", "RedisStats", "RedisUnavailable"]
