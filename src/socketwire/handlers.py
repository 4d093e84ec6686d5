"""Calling user handlers, for the server and the clients alike: plain functions run inline,
coroutine functions become tasks.

Handlers are called with the arguments the peer sent, trimmed or padded with ``None`` to the
handler's positional parameters, as a JavaScript function would see them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from types import FunctionType
from typing import Any, Literal

__all__ = [
    "AckSender",
    "Emitter",
    "Handler",
    "Listeners",
    "ack_args",
    "ack_value",
    "call_answering",
    "call_handler",
    "spawn",
]

log = logging.getLogger("socketwire.handlers")

_tasks: set[asyncio.Task[Any]] = set()

# (is_async, max_args, min_args, wants_ack) per function code: handlers defined inside a
# connection handler are new closures for every socket, but share their code object.
_Shape = tuple[bool, "int | None", int, bool]
_SHAPES: dict[Any, _Shape] = {}


def _shape(fn: Callable[..., Any]) -> _Shape:
    is_async = inspect.iscoroutinefunction(fn)
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return is_async, None, 0, False
    positional = 0
    required = 0
    wants_ack = False
    varargs = False
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            positional += 1
            if p.default is p.empty:
                required += 1
        elif p.kind is p.VAR_POSITIONAL:
            varargs = True
        elif p.kind is p.KEYWORD_ONLY and p.name == "ack":
            wants_ack = True
    return is_async, None if varargs else positional, required, wants_ack


class Handler:
    """A registered callable with what we learned from its signature, computed once."""

    # the shape (is_async, max_args, min_args, wants_ack) is one tuple shared by every
    # handler of the same code: a socket keeps one Handler per event
    __slots__ = ("fn", "once", "shape")

    def __init__(self, fn: Callable[..., Any], once: bool = False) -> None:
        self.fn = fn
        self.once = once
        if type(fn) is FunctionType and fn.__defaults__ is None and fn.__kwdefaults__ is None:
            # the common case (handlers defined in a connection handler, one per socket):
            # plain functions keyed by their code alone
            shape = _SHAPES.get(fn.__code__)
            if shape is None:
                shape = _SHAPES[fn.__code__] = _shape(fn)
                if len(_SHAPES) > 4096:
                    _SHAPES.clear()
            self.shape: _Shape = shape
            return
        code = getattr(fn, "__code__", None)
        if getattr(fn, "__defaults__", None) or getattr(fn, "__kwdefaults__", None):
            code = None  # defaults change the shape: not shared through the code object
        key = (code, type(fn))
        shape = _SHAPES.get(key) if code is not None else None
        if shape is None:
            shape = _shape(fn)
            if code is not None:
                if len(_SHAPES) > 4096:
                    _SHAPES.clear()
                _SHAPES[key] = shape
        self.shape = shape

    @property
    def is_async(self) -> bool:
        """Whether the callable is a coroutine function."""
        return self.shape[0]

    @property
    def max_args(self) -> int | None:
        """How many positional arguments it takes at most (``None``: any number)."""
        return self.shape[1]

    @property
    def min_args(self) -> int:
        """How many positional arguments it needs."""
        return self.shape[2]

    @property
    def wants_ack(self) -> bool:
        """Whether it declares a keyword-only ``ack`` parameter."""
        return self.shape[3]

    def fit(self, args: tuple[Any, ...] | list[Any]) -> tuple[Any, ...]:
        """Trim or pad ``args`` to the handler's positional parameters."""
        n = len(args)
        if self.max_args is not None and n > self.max_args:
            return tuple(args[: self.max_args])
        if n < self.min_args:
            return (*args, *([None] * (self.min_args - n)))
        return tuple(args)


def spawn(coro: Any) -> asyncio.Task[Any]:
    """Run a coroutine as a task that is kept alive and whose errors are logged."""
    task: asyncio.Task[Any] = asyncio.ensure_future(coro)
    _tasks.add(task)
    task.add_done_callback(_task_done)
    return task


def _task_done(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        log.error("error in handler", exc_info=exc)


def _failed(handler: Handler, event: str | None, what: str = "error in handler") -> None:
    """Log the exception being handled, naming the event and the handler."""
    name = getattr(handler.fn, "__qualname__", None) or repr(handler.fn)
    if event is None:
        log.exception("%s %s", what, name)
    else:
        log.exception("%s %s of event %r", what, name, event)


def call_handler(
    handler: Handler,
    args: tuple[Any, ...] | list[Any],
    on_result: Callable[[Any], None] | None = None,
    ack: Callable[..., None] | None = None,
    event: str | None = None,
) -> asyncio.Task[Any] | Literal[False] | None:
    """Call ``handler`` with ``args``; ``on_result`` gets its return value (awaited if needed).

    Returns the task running a coroutine handler, ``None`` when the handler ran inline,
    ``False`` when it ran inline and failed (so ``if call_handler(...):`` tells a task).

    With ``ack`` given and a handler declaring a keyword-only ``ack`` parameter, the handler
    answers by calling ``ack(...)`` itself and its return value is ignored.

    A handler that raises, or whose return value ``on_result`` cannot send (not encodable),
    is logged with ``event``'s name; the caller (and the connection) carries on.
    """
    n = len(args)
    _, max_args, min_args, wants_ack = handler.shape
    if (max_args is not None and n > max_args) or n < min_args:
        args = handler.fit(args)
    try:
        if wants_ack:
            result = handler.fn(*args, ack=ack if ack is not None else _no_ack)
            on_result = None
        else:
            result = handler.fn(*args)
    except Exception:
        _failed(handler, event)
        return False
    if type(result) not in _PLAIN and inspect.isawaitable(result):
        return spawn(_finish(result, on_result, handler, event))
    if on_result is not None:
        try:
            on_result(result)
        except Exception:
            _failed(handler, event, "cannot send the return value of handler")
            return False
    return None


def call_answering(
    handler: Handler,
    args: tuple[Any, ...] | list[Any],
    send_ack: Callable[[int, list[Any]], None],
    ack_id: int,
    event: str | None = None,
) -> asyncio.Task[Any] | Literal[False] | None:
    """:func:`call_handler` for an event the peer wants acknowledged: the handler's return
    value answers ``ack_id`` through ``send_ack(ack_id, args)`` (or the handler calls its
    keyword-only ``ack`` itself), once. Returns as :func:`call_handler` does.

    A plain function is called here directly, without the :class:`AckSender` that a
    coroutine handler, or one that takes ``ack``, is given: this runs for every ack asked.
    """
    _, max_args, min_args, wants_ack = handler.shape
    if wants_ack:
        sender = AckSender(send_ack, ack_id)
        return call_handler(handler, args, sender.from_result, sender, event)
    n = len(args)
    if (max_args is not None and n > max_args) or n < min_args:
        args = handler.fit(args)
    try:
        result = handler.fn(*args)
    except Exception:
        _failed(handler, event)
        return False
    if type(result) not in _PLAIN and inspect.isawaitable(result):
        return spawn(_finish(result, AckSender(send_ack, ack_id).from_result, handler, event))
    try:  # ack_args(result), inline
        send_ack(ack_id, [] if result is None
                 else list(result) if isinstance(result, tuple) else [result])
    except Exception:
        _failed(handler, event, "cannot send the return value of handler")
        return False
    return None


# return values that are never awaitable: skips the slower isawaitable() on the hot path
_PLAIN = frozenset({type(None), tuple, list, dict, str, int, float, bool, bytes})


def _no_ack(*args: Any) -> None:
    return None


async def _finish(awaitable: Any, on_result: Callable[[Any], None] | None,
                  handler: Handler, event: str | None) -> bool:
    """Await a coroutine handler and send its result; ``False`` when that failed."""
    try:
        result = await awaitable
    except Exception:
        _failed(handler, event)
        return False
    if on_result is not None:
        try:
            on_result(result)
        except Exception:
            _failed(handler, event, "cannot send the return value of handler")
            return False
    return True


def ack_args(result: Any) -> list[Any]:
    """The ACK arguments for a handler's return value: none, one, or a tuple's items."""
    if result is None:
        return []
    if isinstance(result, tuple):
        return list(result)
    return [result]


def ack_value(args: tuple[Any, ...] | list[Any]) -> Any:
    """What an awaited ack resolves to: ``None``, the single value, or a tuple."""
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)


class Emitter:
    """Local listeners: ``on``/``once``/``off`` and calling them."""

    __slots__ = ("_listeners",)

    # An event's handlers: the Handler itself when there is one (most events), else a tuple,
    # replaced on change. Smaller than a list per event (a socket keeps several), and what a
    # dispatch iterates cannot change under it.
    def __init__(self) -> None:
        self._listeners: dict[str, Handler | tuple[Handler, ...]] = {}

    def add(self, event: str, fn: Callable[..., Any], once: bool = False) -> None:
        """Register ``fn`` for ``event``."""
        handler = Handler(fn, once)
        old = self._listeners.get(event)
        if old is None:
            self._listeners[event] = handler
        elif isinstance(old, Handler):
            self._listeners[event] = (old, handler)
        else:
            self._listeners[event] = (*old, handler)

    def remove(self, event: str | None = None, fn: Callable[..., Any] | None = None) -> None:
        """Remove one listener, every listener of an event, or all."""
        if event is None:
            self._listeners.clear()
        elif fn is None:
            self._listeners.pop(event, None)
        else:
            kept = tuple(h for h in self.get(event) if h.fn is not fn)
            if not kept:
                self._listeners.pop(event, None)
            else:
                self._listeners[event] = kept[0] if len(kept) == 1 else kept

    def get(self, event: str) -> tuple[Handler, ...]:
        """The handlers of ``event``."""
        handlers = self._listeners.get(event)
        if handlers is None:
            return ()
        return (handlers,) if isinstance(handlers, Handler) else handlers

    def listeners(self, event: str) -> list[Callable[..., Any]]:
        """The callables registered for ``event``."""
        return [h.fn for h in self.get(event)]

    def fire(self, event: str, *args: Any) -> None:
        """Call every listener of ``event`` with ``args``."""
        for h in self.get(event):
            if h.once:
                self.remove(event, h.fn)
            call_handler(h, args, event=event)


class Listeners:
    """Listener registration shared by the server's and the clients' sockets: ``on``,
    ``once``, ``off``, ``listeners`` and the catch-all ``on_any`` family.

    Handlers given to :meth:`on` get the event's arguments; for an event sent with an ack,
    the first handler's return value (a tuple for several values) answers it, and a handler
    with a keyword-only ``ack`` parameter gets a callable to answer with instead.
    """

    def __init__(self) -> None:
        self._events = Emitter()
        # tuples, replaced on change: most sockets never have a catch-all handler
        self._any: tuple[Handler, ...] = ()
        self._any_outgoing: tuple[Handler, ...] = ()

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Register a handler for ``event`` (also usable as ``@socket.on("event")``)."""
        if handler is None:
            def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
                self._events.add(event, fn)
                return fn
            return decorator
        self._events.add(event, handler)
        return handler

    def once(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Like :meth:`on`, for the next occurrence only."""
        if handler is None:
            def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
                self._events.add(event, fn, once=True)
                return fn
            return decorator
        self._events.add(event, handler, once=True)
        return handler

    def off(self, event: str | None = None, handler: Callable[..., Any] | None = None) -> None:
        """Remove one handler, every handler of ``event``, or every handler."""
        self._events.remove(event, handler)

    def listeners(self, event: str) -> list[Callable[..., Any]]:
        """The handlers registered for ``event``."""
        return self._events.listeners(event)

    def on_any(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``handler(event, *args)`` for every incoming event."""
        self._any = (*self._any, Handler(handler))
        return handler

    def prepend_any(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Like :meth:`on_any`, called before the others."""
        self._any = (Handler(handler), *self._any)
        return handler

    def off_any(self, handler: Callable[..., Any] | None = None) -> None:
        """Remove a catch-all handler (or all of them)."""
        self._any = () if handler is None else tuple(h for h in self._any if h.fn is not handler)

    def on_any_outgoing(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``handler(event, *args)`` for every event this socket emits."""
        self._any_outgoing = (*self._any_outgoing, Handler(handler))
        return handler

    def prepend_any_outgoing(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Like :meth:`on_any_outgoing`, called before the others."""
        self._any_outgoing = (Handler(handler), *self._any_outgoing)
        return handler

    def off_any_outgoing(self, handler: Callable[..., Any] | None = None) -> None:
        """Remove an outgoing catch-all handler (or all of them)."""
        self._any_outgoing = (
            () if handler is None
            else tuple(h for h in self._any_outgoing if h.fn is not handler)
        )


class AckSender:
    """Answers one acknowledgement request of the peer, once: called with the answer's
    arguments, or given a handler's return value through :meth:`from_result`."""

    __slots__ = ("ack_id", "send_ack", "sent")

    def __init__(self, send_ack: Callable[[int, list[Any]], None], ack_id: int) -> None:
        self.send_ack = send_ack
        self.ack_id = ack_id
        self.sent = False

    def __call__(self, *args: Any) -> None:
        if not self.sent:
            self.sent = True
            self.send_ack(self.ack_id, list(args))

    def from_result(self, result: Any) -> None:
        """Answer with a handler's return value (none, one value, or a tuple's items)."""
        if not self.sent:
            self.sent = True
            # ack_args(), inline: this runs for every answered ack
            if result is None:
                args: list[Any] = []
            elif type(result) is tuple or isinstance(result, tuple):
                args = list(result)
            else:
                args = [result]
            self.send_ack(self.ack_id, args)
