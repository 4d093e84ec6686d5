"""Real Redis servers for the tests: Debian's ``redis-server`` started by the test itself.

Every server listens on a free loopback port, keeps nothing on disk (no RDB, no AOF), runs in
a temporary directory and is stopped by its PID. ``scripts/setup.sh test`` installs
``redis-server`` when missing; without it the tests using these fixtures fail (they never skip).

Fixtures (registered for the whole suite by ``tests/conftest.py``):

- ``redis_server``: one standalone server for the test (:class:`RedisServer`; its
  ``restart()`` brings it back on the same port, for fault tests).
- ``redis_cluster``: a Redis Cluster of 3 masters for the module (:class:`RedisCluster`).
- ``redis_hygiene``: fails the test when an exception reached the loop's exception handler
  or socketwire logged an ERROR.

Both are plain classes too, for tests and benchmarks that need more than one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "RedisCluster",
    "RedisServer",
    "free_port_pair",
    "redis_cluster",
    "redis_hygiene",
    "redis_server",
]

START_TIMEOUT = 10.0


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"{name} not found: run `bash scripts/setup.sh test` (installs redis-server)"
        )
    return path


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair(offset: int = 10000) -> int:
    """A free loopback port ``p`` such that ``p + offset`` is free too (Redis Cluster's bus
    port) and below 65536."""
    for _ in range(20):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + offset < 65536 and _port_free(port + offset):
            return port
    # ephemeral ports are often too high for the bus port: pick a lower one at random
    for _ in range(500):
        port = random.randrange(15000, 65536 - offset)
        if _port_free(port) and _port_free(port + offset):
            return port
    raise RuntimeError("no free port pair found")


def _ping(port: int, timeout: float = 0.5) -> str | None:
    """Send a raw RESP PING; returns the reply line, or None when nothing answers."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).decode(errors="replace").strip()
    except OSError:
        return None


def _command(port: int, *args: str) -> str:
    """Run one command through redis-cli; returns its output."""
    out = subprocess.run(
        [_binary("redis-cli"), "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True, text=True, timeout=10, check=True,
    )
    return out.stdout


class RedisServer:
    """One ``redis-server`` process on ``127.0.0.1:port`` (free port by default)."""

    def __init__(self, port: int | None = None, *, cluster: bool = False,
                 directory: Path | None = None) -> None:
        self.cluster = cluster
        self.port = port if port is not None else (free_port_pair() if cluster else _free_port())
        self._own_dir = directory is None
        self.dir = directory or Path(tempfile.mkdtemp(prefix="sw-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def _args(self) -> list[str]:
        args = [
            _binary("redis-server"),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.dir),
            "--daemonize", "no",
            "--protected-mode", "no",
            "--loglevel", "warning",
            "--logfile", str(self.dir / f"redis-{self.port}.log"),
        ]
        if self.cluster:
            args += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(self.dir / f"nodes-{self.port}.conf"),
                "--cluster-node-timeout", "2000",
            ]
        return args

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("already running")
        deadline = time.monotonic() + START_TIMEOUT
        while not _port_free(self.port):  # a restart: the old socket may linger briefly
            if time.monotonic() > deadline:
                raise RuntimeError(f"port {self.port} stays busy")
            time.sleep(0.02)
        self.proc = subprocess.Popen(
            self._args(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True,
        )
        while _ping(self.port) != "+PONG":
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                log = self.dir / f"redis-{self.port}.log"
                if log.exists():
                    err += log.read_text()
                raise RuntimeError(f"redis-server exited ({self.proc.returncode}): {err}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server on {self.port} did not answer")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server by its PID (SIGTERM, then SIGKILL)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.stderr:
            proc.stderr.close()

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL by PID), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.stop()

    def restart(self, down_for: float = 0.0) -> None:
        """Stop the server, wait ``down_for`` seconds, start it again on the same port (its
        data is gone: no persistence)."""
        self.stop()
        if down_for:
            time.sleep(down_for)
        self.start()

    def command(self, *args: str) -> str:
        """Run a command through ``redis-cli`` (for checks from tests)."""
        return _command(self.port, *args)

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisCluster:
    """A Redis Cluster of ``masters`` masters (no replicas) on free loopback ports."""

    def __init__(self, masters: int = 3) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sw-rcluster-"))
        self.nodes: list[RedisServer] = []
        self.masters = masters

    @property
    def ports(self) -> list[int]:
        """The nodes' client ports."""
        return [node.port for node in self.nodes]

    @property
    def url(self) -> str:
        """A URL of the first node (cluster clients discover the others)."""
        return self.nodes[0].url

    def start(self) -> RedisCluster:
        """Start the nodes, create the cluster, wait until every node says ``cluster_state:ok``."""
        try:
            used: set[int] = set()
            for _ in range(self.masters):
                port = free_port_pair()
                while port in used or port + 10000 in used:
                    port = free_port_pair()
                used.update((port, port + 10000))
                self.nodes.append(RedisServer(port, cluster=True, directory=self.dir).start())
            subprocess.run(
                [_binary("redis-cli"), "--cluster", "create",
                 *(f"127.0.0.1:{p}" for p in self.ports),
                 "--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True, text=True, timeout=30, check=True,
            )
            deadline = time.monotonic() + 20
            while not all("cluster_state:ok" in _command(p, "CLUSTER", "INFO") for p in self.ports):
                if time.monotonic() > deadline:
                    raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
                time.sleep(0.1)
        except BaseException:
            self.close()
            raise
        return self

    def owner_of(self, key: str) -> RedisServer:
        """The node serving the slot of ``key``."""
        slot = int(self.nodes[0].command("CLUSTER", "KEYSLOT", key))
        for node in self.nodes:
            me = next(line for line in node.command("CLUSTER", "NODES").splitlines()
                      if "myself" in line.split()[2])
            for spec in me.split()[8:]:
                if spec.startswith("["):
                    continue
                lo, _, hi = spec.partition("-")
                if int(lo) <= slot <= int(hi or lo):
                    return node
        raise RuntimeError(f"no owner for slot {slot}")

    def move_slot(self, key: str) -> tuple[RedisServer, RedisServer]:
        """Give the slot of ``key`` (holding no keys) to another master, as a resharding
        would; returns ``(old owner, new owner)``."""
        slot = self.nodes[0].command("CLUSTER", "KEYSLOT", key).strip()
        old = self.owner_of(key)
        new = next(n for n in self.nodes if n is not old)
        new_id = new.command("CLUSTER", "MYID").strip()
        for node in sorted(self.nodes, key=lambda n: (n is not new, n is not old)):
            node.command("CLUSTER", "SETSLOT", slot, "NODE", new_id)
        return old, new

    def close(self) -> None:
        """Stop every node by PID and remove the directory."""
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
async def redis_hygiene(caplog: pytest.LogCaptureFixture) -> AsyncIterator[list[dict[str, Any]]]:
    """Fail the test if an exception reached the event loop's exception handler or socketwire
    logged an ERROR (use with ``pytestmark = pytest.mark.usefixtures("redis_hygiene")``)."""
    caplog.set_level(logging.INFO, logger="socketwire")
    loop = asyncio.get_running_loop()
    contexts: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))
    try:
        yield contexts
    finally:
        loop.set_exception_handler(previous)
    assert not contexts, contexts
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records
              if r.levelno >= logging.ERROR and r.name.startswith("socketwire")]
    assert not errors, errors


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh standalone redis-server for this test."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisCluster]:
    """A Redis Cluster of 3 masters shared by the test module."""
    cluster = RedisCluster().start()
    try:
        yield cluster
    finally:
        cluster.close()
