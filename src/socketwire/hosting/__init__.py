"""Hosts for socketwire servers: an ASGI app, a fast standalone asyncio server, and an HTTP/3
host for WebTransport (``http3``, the ``webtransport`` extra)."""

from __future__ import annotations

import gc

__all__ = ["GC_THRESHOLD0", "GC_THRESHOLD1", "tune_gc"]

GC_THRESHOLD0 = 50_000
"""The youngest generation's threshold :func:`tune_gc` sets (Python's default is 700)."""
GC_THRESHOLD1 = 1
"""The middle generation's threshold :func:`tune_gc` sets (Python's default is 10): it is
collected with every second young collection, so it never holds more than two young
collections' survivors (under ASGI at 10,000 connections, ten batches of uvicorn's
per-connection objects made a 200 ms collection)."""


def tune_gc() -> None:
    """Tune the garbage collector for a server holding many idle connections.

    Every heartbeat makes a few container objects (timer handles, bound methods) that live
    one ping interval. With Python's default thresholds they outlive several young
    collections, reach the oldest generation, and every few seconds a full collection walks
    every connection's objects (hundreds of milliseconds at 10,000 connections: late pings,
    spurious ping timeouts). Collecting the youngest generation every 50,000 net
    allocations instead of 700 lets them die first, and the middle one with every second of
    those (instead of every tenth) keeps what a burst of new connections leaves there small
    enough to walk in a few tens of milliseconds; the objects alive at start-up (modules,
    classes, the application) are frozen out of every later collection. socketwire keeps
    reference cycles off its hot path, so what refcounting frees is all there is to free.

    Called by :func:`socketwire.hosting.standalone.run` and
    :func:`socketwire.hosting.asgi.run_asgi` once listening; call it yourself after start-up
    in other setups (measured in docs/reliability.md, ``bench/soak.py``).
    """
    gc.collect()
    gc.freeze()
    threshold0, threshold1, threshold2 = gc.get_threshold()
    gc.set_threshold(max(GC_THRESHOLD0, threshold0), min(GC_THRESHOLD1, threshold1), threshold2)
