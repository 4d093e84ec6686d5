"""Exponential backoff with jitter for reconnection attempts (pure: no loop, no clock).

The n-th delay (counting from 0) is ``delay * 2**n``, spread at random by up to
``randomization_factor`` of itself either way, then capped at ``delay_max``; socket.io-client
computes its reconnection delays the same way.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

__all__ = ["Backoff"]


class Backoff:
    """Yields the delays (in seconds) to wait before each reconnection attempt.

    ``rand`` returns a float in [0, 1); pass a fixed function to make the delays predictable.
    """

    __slots__ = ("attempts", "delay", "delay_max", "factor", "rand", "randomization_factor")

    def __init__(
        self,
        delay: float = 1.0,
        delay_max: float = 5.0,
        randomization_factor: float = 0.5,
        factor: float = 2.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if delay < 0 or delay_max < 0:
            raise ValueError("delays must not be negative")
        if not 0 <= randomization_factor <= 1:
            raise ValueError("randomization_factor must be between 0 and 1")
        self.delay = delay
        self.delay_max = delay_max
        self.randomization_factor = randomization_factor
        self.factor = factor
        self.rand = rand
        self.attempts = 0

    def duration(self) -> float:
        """The delay before the next attempt; each call counts one attempt."""
        exponent = self.attempts
        self.attempts += 1
        try:
            base = self.delay * self.factor**exponent
        except OverflowError:
            base = math.inf
        base = min(base, self.delay_max * 2 + 1)  # keeps the arithmetic finite
        if self.randomization_factor:
            spread = base * self.randomization_factor * (2 * self.rand() - 1)
            base += spread
        return max(0.0, min(base, self.delay_max))

    def reset(self) -> None:
        """Start again from the first delay (after a successful connection)."""
        self.attempts = 0
