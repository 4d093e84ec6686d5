"""Pure, I/O-free codecs for Engine.IO v4 and Socket.IO v5 packets.

Nothing in this package touches sockets, the event loop or the clock.
"""
