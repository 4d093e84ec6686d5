"""The Socket.IO admin UI for socketwire: ``socketwire.admin.instrument(io, auth=...)``.

Speaks the protocol of ``@socket.io/admin-ui`` 0.5, so the official dashboard works against a
socketwire server, and serves socketwire's own dashboard at ``/admin/``.
"""

from .auth import BasicAuth, InMemoryStore, SessionStore, is_bcrypt_hash
from .instrument import (
    COMMAND_FEATURES,
    STATIC_DIR,
    Instrumentation,
    instrument,
    iso_now,
    serialize_socket,
)

__all__ = [
    "COMMAND_FEATURES",
    "STATIC_DIR",
    "BasicAuth",
    "InMemoryStore",
    "Instrumentation",
    "SessionStore",
    "instrument",
    "is_bcrypt_hash",
    "iso_now",
    "serialize_socket",
]
