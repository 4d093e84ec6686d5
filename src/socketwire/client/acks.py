"""What a client socket keeps for its acks: callbacks waiting for the server's ACK, and
emits sent again until acknowledged (``retries``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["PendingAck", "Queued"]


class PendingAck:
    """A callback waiting for the server's ACK."""

    __slots__ = ("callback", "event", "timeout", "timer", "with_error")

    def __init__(self, callback: Callable[..., Any], with_error: bool, event: str = "",
                 timeout: float | None = None) -> None:
        self.callback = callback
        self.with_error = with_error  # called as callback(err, *args) rather than (*args)
        self.event = event
        self.timeout = timeout
        self.timer: asyncio.TimerHandle | None = None

    def answer(self, args: list[Any]) -> None:
        """The server answered: call the callback with its values."""
        if self.timer is not None:
            self.timer.cancel()
        if self.with_error:
            self.callback(None, *args)
        else:
            self.callback(*args)

    def fail(self, error: Exception) -> None:
        """No answer will come (timeout, disconnect): an error-first callback gets ``error``."""
        if self.timer is not None:
            self.timer.cancel()
        if self.with_error:
            self.callback(error)


class Queued:
    """An emit with ``retries``: sent, then sent again until the server acknowledges it."""

    __slots__ = ("args", "callback", "event", "pending", "timeout", "tries")

    def __init__(self, event: str, args: tuple[Any, ...], callback: Callable[..., Any] | None,
                 timeout: float | None) -> None:
        self.event = event
        self.args = args
        self.callback = callback  # callback(err, *answer)
        self.timeout = timeout
        self.pending = False
        self.tries = 0
