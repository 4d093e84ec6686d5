"""handlers.call_answering: an event the peer wants acknowledged, answered from what its
handler returns (plain functions called directly), or by the handler's own ``ack``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from socketwire.handlers import Handler, call_answering


def answers() -> tuple[list[tuple[int, list[Any]]], Any]:
    sent: list[tuple[int, list[Any]]] = []
    return sent, lambda ack_id, args: sent.append((ack_id, args))


@pytest.mark.parametrize(("fn", "args", "expected"), [
    (lambda: None, (), []),
    (lambda a: a, (1,), [1]),
    (lambda a, b: (b, a), (1, 2), [2, 1]),  # a tuple's items are the ack's arguments
    (lambda a: [a], (1,), [[1]]),  # a list is one argument
    (lambda a: a, (1, 2, 3), [1]),  # extra arguments are dropped, as call_handler does
    (lambda a, b: (a, b), (1,), [1, None]),  # missing ones are None
])
async def test_plain_functions_answer_with_their_return_value(
        fn: Any, args: tuple[Any, ...], expected: list[Any]) -> None:
    sent, send = answers()
    assert call_answering(Handler(fn), args, send, 7, "ev") is None
    assert sent == [(7, expected)]


async def test_coroutine_handlers_answer_when_done() -> None:
    sent, send = answers()

    async def double(n: int) -> int:
        await asyncio.sleep(0)
        return 2 * n

    task = call_answering(Handler(double), (21,), send, 3, "ev")
    assert isinstance(task, asyncio.Task) and sent == []
    await task
    assert sent == [(3, [42])]


async def test_a_plain_function_returning_an_awaitable_is_awaited() -> None:
    sent, send = answers()

    async def later() -> str:
        return "done"

    task = call_answering(Handler(lambda: later()), (), send, 4, "ev")
    assert isinstance(task, asyncio.Task)
    await task
    assert sent == [(4, ["done"])]


async def test_a_handler_taking_ack_answers_once_itself() -> None:
    sent, send = answers()

    def pair(a: Any, b: Any, *, ack: Any) -> str:
        ack(b, a)
        ack("again")  # a second answer is not sent
        return "ignored"

    assert call_answering(Handler(pair), ("x", "y"), send, 5, "ev") is None
    assert sent == [(5, ["y", "x"])]


async def test_failures_are_logged_and_answer_nothing(caplog: pytest.LogCaptureFixture) -> None:
    sent, send = answers()

    def boom() -> None:
        raise RuntimeError("handler bug")

    def refuse(ack_id: int, args: list[Any]) -> None:
        raise TypeError("not encodable")

    with caplog.at_level(logging.ERROR, "socketwire"):
        assert call_answering(Handler(boom), (), send, 1, "boom-event") is False
        assert call_answering(Handler(lambda: object()), (), refuse, 2, "odd-event") is False
    assert sent == []
    messages = [r.getMessage() for r in caplog.records]
    assert any("boom-event" in m for m in messages)
    assert any("cannot send the return value" in m and "odd-event" in m for m in messages)
    caplog.clear()  # the expected error records: the hygiene check looks at the rest
