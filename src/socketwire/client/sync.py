"""Client: the blocking Socket.IO client, for scripts and threads.

It runs an :class:`AsyncClient` on an event loop in its own thread and forwards every call
there, waiting for the result; it has no protocol logic of its own. Everything the
:class:`AsyncClient` offers is available with the same names and arguments, coroutine
methods becoming blocking ones::

    client = socketwire.Client()

    @client.on("news")
    def news(item):            # called on the client's loop thread
        print(item)

    client.connect("http://127.0.0.1:3000")
    print(client.emit_with_ack("add", 1, 2))
    client.disconnect()

Objects the async client hands out (``client.socket("/admin")``, ``client.timeout(5)``...)
come wrapped the same way. Handlers run on the loop thread; from there, calls run directly,
and a coroutine method cannot block, so it is started as a task and that task is returned.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future as ThreadFuture
from types import TracebackType
from typing import Any

from .client import AsyncClient, Auth

__all__ = ["Client"]

_OURS = "socketwire.client"


class _Runner:
    """An event loop in a daemon thread, started on demand and stopped on request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    def in_loop_thread(self) -> bool:
        return self.thread is not None and threading.current_thread() is self.thread

    def start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self.loop is not None:
                return self.loop
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                try:
                    loop.run_forever()
                finally:
                    pending = asyncio.all_tasks(loop)
                    for task in pending:
                        task.cancel()
                    if pending:
                        loop.run_until_complete(
                            asyncio.gather(*pending, return_exceptions=True)
                        )
                    loop.run_until_complete(loop.shutdown_asyncgens())
                    loop.close()

            thread = threading.Thread(target=main, name="socketwire-client", daemon=True)
            thread.start()
            ready.wait()
            self.loop, self.thread = loop, thread
            return loop

    def stop(self) -> None:
        with self._lock:
            loop, thread = self.loop, self.thread
            if loop is None or thread is None or threading.current_thread() is thread:
                return
            self.loop = self.thread = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` on the loop thread and return its result (awaited if a coroutine)."""
        if self.in_loop_thread():
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                return asyncio.ensure_future(result)
            return result
        loop = self.start()

        async def run() -> Any:
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

        future: ThreadFuture[Any] = asyncio.run_coroutine_threadsafe(run(), loop)
        return future.result()


def _is_ours(value: Any) -> bool:
    """Whether ``value`` belongs to the async client (and must be reached through the loop)."""
    if inspect.ismethod(value) or inspect.isfunction(value):
        return str(getattr(value, "__module__", "")).startswith(_OURS)
    return type(value).__module__.startswith(_OURS)


class _Proxy:
    """Forwards attribute reads and calls on a client-side object to the loop thread."""

    __slots__ = ("_runner", "_target")

    def __init__(self, runner: _Runner, target: Any) -> None:
        self._runner = runner
        self._target = target

    def _wrap(self, value: Any) -> Any:
        return _Proxy(self._runner, value) if _is_ours(value) else value

    def __getattr__(self, name: str) -> Any:
        if self._runner.loop is None:  # nothing runs: read it here rather than start a loop
            return self._wrap(getattr(self._target, name))
        return self._wrap(self._runner.call(getattr, self._target, name))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._wrap(self._runner.call(self._target, *args, **kwargs))

    def __repr__(self) -> str:
        return f"<blocking {self._target!r}>"


class Client(_Proxy):
    """A blocking Socket.IO client: an :class:`AsyncClient` driven from any thread.

    Takes the :class:`AsyncClient` options; every other method and attribute is the async
    client's, made blocking (see the module documentation).
    """

    __slots__ = ()

    def __init__(self, **options: Any) -> None:
        super().__init__(_Runner(), AsyncClient(**options))

    @property
    def async_client(self) -> AsyncClient:
        """The :class:`AsyncClient` this client drives (use it only on its loop thread)."""
        client: AsyncClient = self._target
        return client

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the client runs on (while it runs)."""
        return self._runner.loop

    def connect(
        self,
        url: str,
        *,
        namespaces: Iterable[str] | None = None,
        auth: Auth = None,
        headers: Mapping[str, str] | None = None,
        transports: Iterable[str] | None = None,
        path: str = "/socket.io/",
        wait_timeout: float = 20.0,
        retry: bool = False,
    ) -> None:
        """Connect and return once connected (see :meth:`AsyncClient.connect`)."""
        self._runner.call(
            self.async_client.connect, url, namespaces=namespaces, auth=auth,
            headers=headers, transports=transports, path=path, wait_timeout=wait_timeout,
            retry=retry,
        )

    def disconnect(self) -> None:
        """Disconnect, then stop the loop thread (a later call starts a new one)."""
        self._runner.call(self.async_client.disconnect)
        if not self._runner.in_loop_thread():
            self._runner.stop()

    def wait(self) -> None:
        """Block until the client is disconnected for good, then stop the loop thread."""
        self._runner.call(self.async_client.wait)
        if not self._runner.in_loop_thread():
            self._runner.stop()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()
