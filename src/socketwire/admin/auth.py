"""Admin UI authentication: basic credentials checked against a bcrypt hash, session ids."""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
import time
from collections import OrderedDict
from typing import Any, Protocol, runtime_checkable

import bcrypt

__all__ = ["BasicAuth", "InMemoryStore", "SessionStore", "is_bcrypt_hash", "new_session_id"]

# $2a$ / $2b$ / $2y$ (and the old $2x$), two-digit cost, 22 salt + 31 hash characters
_BCRYPT_HASH = re.compile(r"\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}")
_MAX_PASSWORD_BYTES = 72  # bcrypt only reads that many; bcryptjs truncates silently too
_DEFAULT_ROUNDS = 10  # bcryptjs' default cost


def is_bcrypt_hash(value: str) -> bool:
    """Whether ``value`` is a bcrypt hash (``$2a$``, ``$2b$`` or ``$2y$``)."""
    return _BCRYPT_HASH.fullmatch(value) is not None


def _password_bytes(password: str) -> bytes:
    return password.encode("utf-8")[:_MAX_PASSWORD_BYTES]


def new_session_id() -> str:
    """A fresh session id: 8 random bytes in hex, the format of Node's admin UI server."""
    return secrets.token_hex(8)


class BasicAuth:
    """A username and a bcrypt hash; ``password`` may be a hash or plain text (hashed now)."""

    def __init__(self, username: str, password: str) -> None:
        if not isinstance(username, str) or not isinstance(password, str):
            raise ValueError("the `username` and `password` fields must be strings")
        if not password:
            raise ValueError("the `password` field must not be empty")
        self.username = username
        self._username_bytes = username.encode("utf-8")
        if is_bcrypt_hash(password):
            self.password_hash = password.encode("ascii")
        else:
            salt = bcrypt.gensalt(_DEFAULT_ROUNDS)
            self.password_hash = bcrypt.hashpw(_password_bytes(password), salt)

    def _check(self, username: bytes, password: bytes) -> bool:
        # both comparisons always run, so the time taken says nothing about which one failed
        user_ok = hmac.compare_digest(username, self._username_bytes)
        try:
            password_ok = bcrypt.checkpw(password, self.password_hash)
        except ValueError:
            password_ok = False
        return user_ok and password_ok

    async def check(self, username: Any, password: Any) -> bool:
        """Whether the credentials match; bcrypt runs in a worker thread."""
        user = username.encode("utf-8") if isinstance(username, str) else b"\x00"
        pw = _password_bytes(password) if isinstance(password, str) else b"\x00"
        return await asyncio.to_thread(self._check, user, pw)


@runtime_checkable
class SessionStore(Protocol):
    """Where admin session ids live (Node's ``store`` option)."""

    async def save_session(self, session_id: str) -> None:
        """Remember ``session_id``."""

    async def session_exists(self, session_id: str) -> bool:
        """Whether ``session_id`` was saved and has not expired."""


class InMemoryStore:
    """Session ids kept in this process for ``ttl`` seconds (a day, as Node's Redis store),
    at most ``max_sessions`` of them (the oldest are forgotten first)."""

    def __init__(self, ttl: float = 86400.0, max_sessions: int = 10_000) -> None:
        self.ttl = ttl
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, float] = OrderedDict()

    async def save_session(self, session_id: str) -> None:
        """Remember ``session_id``."""
        self._sessions[session_id] = time.monotonic() + self.ttl
        self._sessions.move_to_end(session_id)
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)

    async def session_exists(self, session_id: str) -> bool:
        """Whether ``session_id`` is known and fresh."""
        expiry = self._sessions.get(session_id)
        if expiry is None:
            return False
        if expiry < time.monotonic():
            del self._sessions[session_id]
            return False
        return True
