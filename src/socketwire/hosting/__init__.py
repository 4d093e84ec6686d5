"""Hosts for socketwire servers: an ASGI app, a fast standalone asyncio server, and an HTTP/3
host for WebTransport (``http3``, the ``webtransport`` extra)."""
