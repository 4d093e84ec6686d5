"""Hosts for socketwire servers: an ASGI app and a fast standalone asyncio server."""
