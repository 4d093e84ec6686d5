"""Targets for the conformance cases: socketwire in both hostings, and the Node reference.

Every case runs three times: against socketwire's conformance servers under the standalone
host and under uvicorn (ASGI), and against the official Node servers (engine.io 6.6 /
socket.io 4.8 from ``node_modules``) configured the same way. A case that fails only on Node
is a wrong case: the reference is right by definition.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest

pytest.register_assert_rewrite("rawpeer", "eio_cases", "sio_cases")

from rawpeer import (  # noqa: E402
    ROOT,
    LoopErrors,
    NodeReference,
    Peer,
    node_reference,
    socketwire_errors,
    watch_loop,
)

from servers import running  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workers"))
from workers_support import PYTHON, WorkersServer  # noqa: E402

__all__ = ["node_reference"]

# "workers-N": the conformance server with --workers N in a child process, every request on a
# fresh connection (no keep-alive), so requests land on whichever worker the kernel picks
TARGETS = ("standalone", "asgi", pytest.param("node", marks=pytest.mark.node), "workers-2",
           "workers-3")


def _load(name: str) -> ModuleType:
    path = Path(ROOT, "conformance", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_conformance_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ENGINE_SERVER = _load("engineio_server")
SOCKET_SERVER = _load("socketio_server")


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    """Which server the case runs against."""
    return str(request.param)


@pytest.fixture
async def loop_errors() -> AsyncIterator[LoopErrors]:
    """Exceptions that reached the event loop's handler during the test (must stay empty)."""
    async for errors in watch_loop():
        yield errors


async def _peer(
    request: pytest.FixtureRequest, target: str, app_factory: Any, path: str, which: str,
    loop_errors: LoopErrors, caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[Peer]:
    caplog.set_level(logging.INFO, logger="socketwire")
    async with aiohttp.ClientSession() as http:
        if target == "node":
            ref: NodeReference = request.getfixturevalue("node_reference")
            port = ref.engine_port if which == "engine" else ref.socket_port
            peer = Peer(f"http://127.0.0.1:{port}{path}", http)
            try:
                yield peer
            finally:
                await peer.close()
            return
        if target.startswith("workers-"):
            pool: WorkersPool = request.getfixturevalue("workers_pool")
            server = pool.get(which, int(target.split("-")[1]))
            async with aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(force_close=True)) as fresh:
                peer = Peer(server.url + path, fresh)
                try:
                    yield peer
                finally:
                    await peer.close()
            assert not server.errors(), server.log()
            return
        async with running(app_factory(), target) as url:
            peer = Peer(url + path, http)
            try:
                yield peer
            finally:
                await peer.close()
    assert not loop_errors.contexts, loop_errors.contexts
    # caplog.records in a fixture teardown holds only the teardown phase: check the call too
    assert not socketwire_errors(caplog.get_records("setup") + caplog.get_records("call")
                                 + caplog.records)


class WorkersPool:
    """The conformance servers with --workers N, started on first use, stopped at the end."""

    def __init__(self) -> None:
        self.servers: dict[tuple[str, int], WorkersServer] = {}

    def get(self, which: str, workers: int) -> WorkersServer:
        key = (which, workers)
        if key not in self.servers:
            script = "engineio_server.py" if which == "engine" else "socketio_server.py"
            self.servers[key] = WorkersServer.start(
                [PYTHON, str(Path(ROOT, "conformance", script))], workers)
        return self.servers[key]

    def stop(self) -> list[dict[str, Any]]:
        stats: list[dict[str, Any]] = []
        for server in self.servers.values():
            assert server.stop() == 0, server.log()
            assert not server.errors(), server.log()
            stats.extend(server.stats())
        return stats


@pytest.fixture(scope="session")
def workers_pool() -> Iterator[WorkersPool]:
    """Conformance servers with --workers; at the end: stopped, no process left, and
    requests were really handed between workers."""
    pool = WorkersPool()
    try:
        yield pool
    finally:
        stats = pool.stop()
    if pool.servers:
        assert sum(s["handed_off"] for s in stats) > 0, stats
        assert sum(s["received"] for s in stats) == sum(s["handed_off"] for s in stats), stats


@pytest.fixture
async def eio(
    request: pytest.FixtureRequest, target: str, loop_errors: LoopErrors,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[Peer]:
    """The Engine.IO echo server of the engine.io-protocol suite (path ``/engine.io/``)."""
    async for peer in _peer(request, target, ENGINE_SERVER.make_server, "/engine.io/",
                            "engine", loop_errors, caplog):
        yield peer


@pytest.fixture
async def sio(
    request: pytest.FixtureRequest, target: str, loop_errors: LoopErrors,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[Peer]:
    """The Socket.IO server of the socket.io-protocol suite (path ``/socket.io/``)."""
    async for peer in _peer(request, target, SOCKET_SERVER.make_server, "/socket.io/",
                            "socket", loop_errors, caplog):
        yield peer
