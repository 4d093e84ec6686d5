"""Reconnection backoff: pure arithmetic, no event loop."""

from __future__ import annotations

import pytest

from socketwire.client.backoff import Backoff


def test_doubles_from_the_delay_up_to_the_cap_without_jitter() -> None:
    b = Backoff(delay=1.0, delay_max=5.0, randomization_factor=0)
    assert [b.duration() for _ in range(6)] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert b.attempts == 6


def test_reset_starts_over() -> None:
    b = Backoff(delay=0.5, delay_max=10.0, randomization_factor=0)
    assert [b.duration() for _ in range(3)] == [0.5, 1.0, 2.0]
    b.reset()
    assert b.attempts == 0
    assert b.duration() == 0.5


@pytest.mark.parametrize(
    ("rand", "expected"),
    [
        (0.0, [0.5, 1.0, 2.0]),  # the lowest spread: half of each delay
        (0.5, [1.0, 2.0, 4.0]),  # the middle: no change
        (0.999999, [1.5, 3.0, 5.0]),  # the highest: one and a half, still capped
    ],
)
def test_jitter_spreads_each_delay_by_the_randomization_factor(
    rand: float, expected: list[float]
) -> None:
    b = Backoff(delay=1.0, delay_max=5.0, randomization_factor=0.5, rand=lambda: rand)
    assert [b.duration() for _ in range(3)] == pytest.approx(expected, abs=1e-5)


def test_random_delays_stay_in_bounds() -> None:
    b = Backoff()  # socket.io-client's defaults, with a real random source
    assert (b.delay, b.delay_max, b.randomization_factor) == (1.0, 5.0, 0.5)
    for n in range(200):
        d = b.duration()
        base = min(1.0 * 2**n, 5.0)
        assert 0.5 * base - 1e-9 <= d <= 5.0


def test_many_attempts_do_not_overflow() -> None:
    b = Backoff(delay=1.0, delay_max=3.0, randomization_factor=0.5, rand=lambda: 0.0)
    for _ in range(5000):
        d = b.duration()
    assert d == 3.0


def test_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        Backoff(delay=-1)
    with pytest.raises(ValueError):
        Backoff(randomization_factor=1.5)
