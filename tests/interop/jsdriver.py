"""Python side of tests/interop/js_client.mjs: the official socket.io-client, run in Node.

One Node process serves a whole test module. The tests send it commands (open a client socket,
emit, disconnect...) and read back what each client socket observed (connect, events,
disconnect reasons...), as JSON lines. Binary values travel as ``{"$bin": base64}``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("js_client.mjs")
WAIT = 10.0  # generous: the machine may be loaded

# socket.io-client options for the three transport settings of tests/servers.py
TRANSPORT_OPTS: dict[str, dict[str, Any]] = {
    "polling": {"transports": ["polling"]},
    "websocket": {"transports": ["websocket"]},
    "upgrade": {"transports": ["polling", "websocket"]},
}


def to_wire(value: Any) -> Any:
    """Python value -> JSON for the driver (bytes become ``{"$bin": ...}``)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bin": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    return value


def from_wire(value: Any) -> Any:
    """JSON from the driver -> Python value (``{"$bin": ...}`` becomes bytes)."""
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$bin"}:
            return base64.b64decode(value["$bin"])
        return {k: from_wire(v) for k, v in value.items()}
    return value


class DriverError(RuntimeError):
    """The driver refused a command."""


class JsDriver:
    """A running js_client.mjs process."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.log: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._changed = asyncio.Condition()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, script: Path = DRIVER, *args: str) -> Self:
        """Start Node with the driver (or another script speaking the same line protocol,
        with ``args``); returns once it reported ``ready``."""
        node = shutil.which("node")
        if node is None or not (ROOT / "node_modules" / "socket.io-client").is_dir():
            raise RuntimeError("the interop tests need node and the npm packages (npm ci)")
        proc = await asyncio.create_subprocess_exec(
            node, str(script), *args, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, start_new_session=True, limit=16 * 1024 * 1024,
        )
        driver = cls(proc)
        try:
            await driver.wait(None, "ready")
        except BaseException:
            await driver.stop()
            raise
        return driver

    async def stop(self) -> None:
        """Stop the Node process (by its PID), politely then firmly."""
        proc = self.proc
        if proc.returncode is None:
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                await proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            msg = json.loads(line)
            if "reply" in msg:
                fut = self._replies.pop(msg["reply"], None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
                continue
            async with self._changed:
                self.log.append(msg)
                self._changed.notify_all()
        for fut in self._replies.values():
            if not fut.done():
                fut.set_exception(RuntimeError("the Node driver exited"))
        async with self._changed:
            self.log.append({"kind": "exited"})
            self._changed.notify_all()

    # ---------------------------------------------------------------- commands

    async def call(self, op: str, *, reply_within: float = WAIT, **fields: Any) -> dict[str, Any]:
        """Send one command; return the driver's reply (raises :class:`DriverError`)."""
        assert self.proc.stdin is not None
        cmd_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[cmd_id] = fut
        self.proc.stdin.write((json.dumps({"id": cmd_id, "op": op, **fields}) + "\n").encode())
        await self.proc.stdin.drain()
        try:
            reply = await asyncio.wait_for(fut, reply_within)
        finally:
            self._replies.pop(cmd_id, None)
        if not reply["ok"]:
            raise DriverError(reply["error"])
        return from_wire(reply["result"])  # type: ignore[no-any-return]

    async def connect(self, c: str, url: str, transport: str = "upgrade", nsp: str = "/",
                      share: str | None = None, answers: dict[str, Any] | None = None,
                      early: dict[str, Any] | None = None, **opts: Any) -> dict[str, Any]:
        """Open client socket ``c``; returns ``{connected, id, transport...}`` or the
        ``connect_error`` (``{connected: False, message, data}``). ``early``
        (``{event, args, timeout}``) is emitted with that ack timeout (ms) before the
        connection is up; its outcome is reported as kind ``early_ack``."""
        options = {**({} if share else TRANSPORT_OPTS[transport]), **opts}
        extra = {"early": to_wire(early)} if early is not None else {}
        return await self.call("connect", c=c, url=url, nsp=nsp, share=share,
                               answers=to_wire(answers or {}), opts=to_wire(options), **extra)

    async def emit(self, c: str, event: str, *args: Any) -> None:
        """``socket.emit(event, ...args)`` on client ``c``."""
        await self.call("emit", c=c, event=event, args=to_wire(list(args)))

    async def emit_ack(self, c: str, event: str, *args: Any,
                       timeout_ms: int | None = None) -> dict[str, Any]:
        """``socket[.timeout(ms)].emit(event, ...args, cb)``: ``{"args": [...]}`` or
        ``{"err": message}``."""
        return await self.call("emit", c=c, event=event, args=to_wire(list(args)), ack=True,
                               timeout=timeout_ms)

    async def state(self, c: str) -> dict[str, Any]:
        """``{connected, id, transport, engine_id}`` of client ``c``."""
        return await self.call("state", c=c)

    async def reset(self) -> None:
        """Disconnect and forget every client socket; clear the log."""
        await self.call("reset")
        self.log.clear()

    # ------------------------------------------------------------------ events

    def events(self, c: str | None, kind: str, event: str | None = None) -> list[dict[str, Any]]:
        """What client ``c`` reported so far, of this kind (and event name)."""
        return [
            from_wire(m) for m in self.log
            if m.get("c") == c and m.get("kind") == kind
            and (event is None or m.get("event") == event)
        ]

    def received(self, c: str, event: str) -> list[list[Any]]:
        """The argument lists of every ``event`` client ``c`` received so far."""
        return [m["args"] for m in self.events(c, "event", event)]

    async def wait(self, c: str | None, kind: str, event: str | None = None, count: int = 1,
                   timeout: float = WAIT) -> list[dict[str, Any]]:
        """Wait until client ``c`` reported ``count`` of these; returns all of them."""
        def check() -> list[dict[str, Any]] | None:
            found = self.events(c, kind, event)
            return found if len(found) >= count else None

        result: list[dict[str, Any]] = await self.wait_until(
            check, timeout, f"{c}: {count} x {kind} {event or ''}"
        )
        return result

    async def wait_until(self, check: Callable[[], Any], timeout: float = WAIT,
                         what: str = "condition") -> Any:
        """Wait until ``check()`` (re-evaluated on each report) returns something truthy."""
        async def loop() -> Any:
            async with self._changed:
                while True:
                    result = check()
                    if result:
                        return result
                    if self.log and self.log[-1].get("kind") == "exited":
                        raise RuntimeError("the Node driver exited")
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(loop(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; log: {self.log[-20:]}") from None
