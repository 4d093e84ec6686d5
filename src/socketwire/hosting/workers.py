"""``--workers N``: one listening socket served by N forked processes, without sticky sessions.

How it works:

- The parent binds the TCP socket, then forks the workers: they all accept on it (a worker that
  dies loses no queued connection: the accept queue is the socket's, not the worker's). The
  parent only supervises: a dead worker is forked again in its slot; SIGTERM or SIGINT stops
  every worker gracefully (``server shutting down`` for their clients); a worker whose parent
  is gone stops too (Linux's parent-death signal), so none is ever orphaned.
- Each Engine.IO session id starts with two characters naming the slot of the worker that
  owns it (:func:`sid_prefix`; ids keep their usual 20 URL-safe characters). A request whose
  ``sid`` names another worker is handed to that worker, connection and all: the file
  descriptor and the bytes already read go over a Unix socket (``SCM_RIGHTS``), and the owner
  carries on as if it had accepted the connection. Sessions never move, requests do; the next
  request on a keep-alive connection is routed again.
- The application gets a :class:`WorkerInfo` before it starts (``app.join_workers(info)``
  when it has that method): a ``socketwire.Server`` joins its workers' Socket.IO cluster over
  local IPC there (:mod:`socketwire.adapters.ipc`), unless it was given an adapter.

The application object reaches the workers by ``fork``: each worker is a copy of the process
that called ``run(..., workers=N)`` (or ``socketwire serve``), made before any event loop runs.
So build the server at import time or in the script before ``run()``, and open no network
connection, thread or event loop before it: the adapters connect in each worker when it starts.
Unix only (fork, ``SCM_RIGHTS``).
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..engine.http import HttpApp
from ..engine.static import StaticFiles
from .http1 import HttpProtocol as _HttpProtocol
from .standalone import LISTEN_BACKLOG, StandaloneServer, install_uvloop

__all__ = [
    "WorkerInfo",
    "add_workers_argument",
    "resolve_workers",
    "run_workers",
    "sid_prefix",
    "slot_of",
    "workers_option",
]

log = logging.getLogger("socketwire.workers")

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
MAX_WORKERS = 64 * 64
RESTART_BACKOFF = 1.0  # seconds before a worker that died young is forked again
STOP_TIMEOUT = 10.0  # seconds workers get to stop before they are killed
READY_TIMEOUT = 20.0
MAX_HEAD_WAIT = 8 * 1024  # bytes of a request line looked at to route it
CLIENT_CLOSE_GRACE = 0.2  # seconds: see EngineServer.client_close_grace
HANDOFF_CHUNK = 48 * 1024  # bytes per handoff record (a SOCK_SEQPACKET record must fit)


def sid_prefix(slot: int) -> str:
    """The two characters starting the session ids of worker ``slot``."""
    return _ALPHABET[slot // 64] + _ALPHABET[slot % 64]


def slot_of(sid: bytes | str) -> int | None:
    """The worker slot a session id names (``None`` when it names none)."""
    if isinstance(sid, bytes):
        sid = sid[:2].decode("latin-1")
    if len(sid) < 2:
        return None
    hi, lo = _INDEX.get(sid[0]), _INDEX.get(sid[1])
    if hi is None or lo is None:
        return None
    return hi * 64 + lo


def resolve_workers(workers: int | str) -> int:
    """``N`` as given, ``0`` or ``"auto"``: one per core this process may use."""
    if isinstance(workers, str):
        workers = 0 if workers.strip().lower() == "auto" else int(workers)
    if workers < 0:
        raise ValueError("workers must be 0 (one per core) or more")
    if workers == 0:
        try:
            workers = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            workers = os.cpu_count() or 1
    return min(workers, MAX_WORKERS)


def workers_option(value: str) -> int:
    """``--workers`` as argparse reads it: a number, or ``auto`` (0: one per core)."""
    text = value.strip().lower()
    if text == "auto":
        return 0
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of workers: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError("--workers wants 0 or more (0 or auto: one per core)")
    return number


def add_workers_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--workers N`` to a command line parser (default 1: one process)."""
    parser.add_argument("--workers", type=workers_option, default=1, metavar="N",
                        help="serve with N processes sharing the port, no sticky sessions "
                             "needed (0 or auto: one per core)")


@dataclass(slots=True)
class WorkerInfo:
    """What a worker knows of its siblings; handed to ``app.join_workers(info)``."""

    slot: int
    """This worker's number, 0 to ``count - 1`` (kept by the worker restarted in its place)."""
    count: int
    rundir: str
    """A private folder of the parent holding the workers' Unix sockets."""
    bus_listener: socket.socket | None = field(default=None, repr=False)
    """This worker's listening socket for the cluster bus (bound by the parent)."""

    def bus_path(self, slot: int) -> str:
        """The Unix socket path of worker ``slot``'s cluster bus."""
        return os.path.join(self.rundir, f"bus-{slot}")

    def handoff_path(self, slot: int) -> str:
        """The Unix socket path where worker ``slot`` takes connections handed to it."""
        return os.path.join(self.rundir, f"fd-{slot}")


# --------------------------------------------------------------------------- routing


class _Router:
    """Tells which worker owns a request and hands connections to it."""

    def __init__(self, info: WorkerInfo, path: str) -> None:
        self.info = info
        self.path = path.encode("latin-1")
        self.peers: dict[int, socket.socket] = {}
        self.accepted = 0  # connections this worker accepted from the shared socket
        self.handed_off = 0
        self.received = 0

    def owner(self, request_line: bytes) -> int | None:
        """The slot of the worker owning the session of this request, when not this one."""
        parts = request_line.split(b" ", 2)
        if len(parts) < 2:
            return None
        target = parts[1]
        if not target.startswith(self.path):
            return None
        q = target.find(b"?")
        if q < 0:
            return None
        at = target.find(b"sid=", q)
        while at >= 0 and target[at - 1:at] not in (b"?", b"&"):
            at = target.find(b"sid=", at + 1)
        if at < 0:
            return None
        slot = slot_of(target[at + 4:at + 6])
        if slot is None or slot == self.info.slot or slot >= self.info.count:
            return None
        return slot

    def hand_off(self, slot: int, fd: int, data: bytes) -> bool:
        """Send the connection ``fd`` and the bytes read from it to worker ``slot``."""
        for _attempt in range(2):
            peer = self.peers.get(slot)
            try:
                if peer is None:
                    peer = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                    peer.settimeout(1.0)
                    peer.connect(self.info.handoff_path(slot))
                    self.peers[slot] = peer
                chunks = [data[i:i + HANDOFF_CHUNK] for i in range(0, len(data), HANDOFF_CHUNK)]
                chunks = chunks or [b""]
                fds = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]).tobytes())]
                for index, chunk in enumerate(chunks):
                    more = b"\x01" if index < len(chunks) - 1 else b"\x00"
                    peer.sendmsg([more, chunk], fds if index == 0 else [])
                self.handed_off += 1
                return True
            except OSError as exc:
                log.debug("worker %d: cannot hand a connection to worker %d: %s",
                          self.info.slot, slot, exc)
                if peer is not None:
                    peer.close()
                self.peers.pop(slot, None)
        return False

    def close(self) -> None:
        for peer in self.peers.values():
            peer.close()
        self.peers.clear()


class _RoutedHttpProtocol(_HttpProtocol):
    """An HTTP connection whose requests are routed: each request line is looked at before it
    is parsed, and a request for another worker's session takes the connection there."""

    __slots__ = ("handoff", "head", "initial", "router")

    def __init__(self, server: StandaloneServer, router: _Router, initial: bytes = b"") -> None:
        super().__init__(server)
        self.router = router
        self.head = b""
        self.initial = initial
        self.handoff: tuple[int, bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.initial:
            data, self.initial = self.initial, b""
            self.data_received(data)

    def data_received(self, data: bytes) -> None:
        if self.handoff is not None:  # read before reading stopped: it goes along
            self.handoff = (self.handoff[0], self.handoff[1] + data)
            return
        if self.upgrading or self.in_message or self.closed:
            super().data_received(data)
            return
        # between requests: the next request line says where this connection goes
        head = self.head + data if self.head else data
        start = 0
        while head.startswith(b"\r\n", start):
            start += 2
        end = head.find(b"\r\n", start)
        if end < 0 and len(head) < MAX_HEAD_WAIT:
            self.head = head
            return
        self.head = b""
        slot = self.router.owner(head[start:end]) if end >= 0 else None
        if slot is None:
            super().data_received(head)
            return
        self.handoff = (slot, head)
        if self.transport is not None:
            self.transport.pause_reading()
        self._try_handoff()

    async def _work(self) -> None:
        await super()._work()
        if self.handoff is not None:  # once this task is done
            asyncio.get_running_loop().call_soon(self._try_handoff)

    def _try_handoff(self) -> None:
        if self.handoff is None or (self.worker is not None and not self.worker.done()):
            return  # answers to earlier requests go out first
        transport = self.transport
        if transport is None or transport.is_closing() or self.closed:
            self.handoff = None
            return
        if transport.get_write_buffer_size():  # what we still send must not mix with theirs
            asyncio.get_running_loop().call_later(0.005, self._try_handoff)
            return
        slot, data = self.handoff
        self.handoff = None
        sock = transport.get_extra_info("socket")
        if sock is not None and self.router.hand_off(slot, sock.fileno(), data):
            # the connection is the owner's now: drop our file descriptor, not the connection
            self._cancel_timer()
            self.closed = True
            transport.close()
            return
        transport.resume_reading()  # the owner is gone: answered here (unknown session)
        super().data_received(data)


class _WorkerServer(StandaloneServer):
    """The standalone server of one worker: routed connections, handed-off ones taken in."""

    def __init__(self, app: Any, static: StaticFiles, router: _Router, **kwargs: Any) -> None:
        super().__init__(app, static, **kwargs)
        self.router = router
        self._handoff_conns: list[socket.socket] = []
        self._partial: dict[int, tuple[int, bytearray]] = {}
        self._handoff_listener: socket.socket | None = None

    def protocol_factory(self) -> asyncio.Protocol:
        """Every connection is routed."""
        self.router.accepted += 1
        return _RoutedHttpProtocol(self, self.router)

    def take_handoffs(self, listener: socket.socket) -> None:
        """Accept the connections other workers hand to this one."""
        listener.setblocking(False)
        self._handoff_listener = listener
        asyncio.get_running_loop().add_reader(listener.fileno(), self._accept_handoff_conn)

    def _accept_handoff_conn(self) -> None:
        assert self._handoff_listener is not None
        try:
            conn, _ = self._handoff_listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.warning("worker %d: handoff accept failed: %s", self.router.info.slot, exc)
            return
        conn.setblocking(False)
        self._handoff_conns.append(conn)
        asyncio.get_running_loop().add_reader(conn.fileno(), self._read_handoff, conn)

    def _drop_handoff_conn(self, conn: socket.socket) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(conn.fileno())
        pending = self._partial.pop(conn.fileno(), None)
        if pending is not None:
            os.close(pending[0])
        if conn in self._handoff_conns:
            self._handoff_conns.remove(conn)
        conn.close()

    def _read_handoff(self, conn: socket.socket) -> None:
        for _ in range(64):
            try:
                msg, ancdata, _flags, _addr = conn.recvmsg(HANDOFF_CHUNK + 1,
                                                           socket.CMSG_SPACE(16))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._drop_handoff_conn(conn)
                return
            fds: list[int] = []
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    usable = len(payload) - len(payload) % 4
                    fds.extend(array.array("i", payload[:usable]))
            if not msg and not fds:
                self._drop_handoff_conn(conn)  # the sender is gone
                return
            key = conn.fileno()
            if fds:
                for extra in fds[1:]:
                    os.close(extra)
                stale = self._partial.pop(key, None)
                if stale is not None:
                    os.close(stale[0])
                self._partial[key] = (fds[0], bytearray())
            current = self._partial.get(key)
            if current is None:
                continue  # a continuation without its start: nothing to attach it to
            current[1].extend(msg[1:])
            if msg[:1] != b"\x01":
                del self._partial[key]
                self._adopt(current[0], bytes(current[1]))

    def _adopt(self, fd: int, data: bytes) -> None:
        """Serve a connection another worker accepted, starting with ``data``."""
        self.router.received += 1
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            os.close(fd)
            return
        loop = asyncio.get_running_loop()

        async def adopt() -> None:
            try:
                await loop.connect_accepted_socket(
                    lambda: _RoutedHttpProtocol(self, self.router, data), sock)
            except OSError as exc:
                log.debug("worker %d: cannot adopt a connection: %s", self.router.info.slot, exc)
                sock.close()

        loop.create_task(adopt())

    async def close(self) -> None:
        """Stop taking handoffs, then close as a standalone server."""
        loop = asyncio.get_running_loop()
        if self._handoff_listener is not None:
            loop.remove_reader(self._handoff_listener.fileno())
            self._handoff_listener.close()
            self._handoff_listener = None
        for conn in list(self._handoff_conns):
            self._drop_handoff_conn(conn)
        await super().close()
        self.router.close()


# --------------------------------------------------------------------------- a worker


@dataclass(slots=True)
class _Plan:
    app: Any
    static_files: Mapping[str, str | os.PathLike[str]] | None
    count: int
    rundir: str
    listener: socket.socket
    bus: list[socket.socket]
    handoff: list[socket.socket]
    use_uvloop: bool
    server_options: dict[str, Any]
    parent: int
    reuse_port: bool = False
    backlog: int = LISTEN_BACKLOG


def _set_parent_death_signal() -> None:
    """Linux: SIGTERM this process when its parent dies (no orphan workers)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no libc
        pass


def _worker_main(plan: _Plan, slot: int, ready_fd: int) -> int:
    """A forked worker: serve until SIGTERM or SIGINT (or the parent's death)."""
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
    _set_parent_death_signal()
    if os.getppid() != plan.parent:
        return 1
    for index in range(plan.count):
        if index != slot:
            plan.bus[index].close()
            plan.handoff[index].close()
    if plan.use_uvloop:
        install_uvloop()
    info = WorkerInfo(slot, plan.count, plan.rundir, plan.bus[slot])
    app: HttpApp = plan.app
    engine: Any = getattr(app, "engine", app)
    if hasattr(engine, "sid_prefix"):
        engine.sid_prefix = sid_prefix(slot)
        engine.client_close_grace = CLIENT_CLOSE_GRACE
    join = getattr(plan.app, "join_workers", None)
    if callable(join):
        join(info)

    async def main() -> None:
        router = _Router(info, app.path)
        server = _WorkerServer(app, StaticFiles(plan.static_files), router,
                               **plan.server_options)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        listener = plan.listener
        if plan.reuse_port:  # a socket of its own, the kernel spreading connections by hash
            host, port = plan.listener.getsockname()[:2]
            listener = _bind(host, port, plan.backlog, reuse_port=True)
        await server.start(None, None, sock=listener)
        server.take_handoffs(plan.handoff[slot])
        os.write(ready_fd, b"1")
        os.close(ready_fd)
        await stop.wait()
        signal.alarm(int(STOP_TIMEOUT) + 5)  # a stop that hangs ends anyway
        await server.close()
        _write_stats(info, router)

    asyncio.run(main())
    return 0


def _write_stats(info: WorkerInfo, router: _Router) -> None:
    """``SOCKETWIRE_WORKERS_STATS=DIR``: each stopping worker writes its routing counters to
    ``DIR/worker-SLOT-PID.json`` (for tests and benchmarks)."""
    folder = os.environ.get("SOCKETWIRE_WORKERS_STATS")
    if not folder:
        return
    stats = {"slot": info.slot, "pid": os.getpid(), "accepted": router.accepted,
             "handed_off": router.handed_off, "received": router.received}
    path = os.path.join(folder, f"worker-{info.slot}-{os.getpid()}.json")
    with contextlib.suppress(OSError), open(path, "w") as f:
        json.dump(stats, f)


# --------------------------------------------------------------------------- the parent


class _Supervisor:
    """The parent: forks the workers, restarts those that die, stops them all."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.pids: dict[int, int] = {}  # pid -> slot
        self.started: dict[int, float] = {}  # slot -> when forked
        self.due: dict[int, float] = {}  # slot -> when to fork it again
        self.ready: dict[int, int] = {}  # read end of the readiness pipe -> slot
        self.restarts = 0

    @property
    def port(self) -> int:
        """The TCP port served."""
        return int(self.plan.listener.getsockname()[1])

    @property
    def workers(self) -> dict[int, int]:
        """slot -> pid of the running workers."""
        return {slot: pid for pid, slot in self.pids.items()}

    def spawn(self, slot: int) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                os.close(read_fd)
                for fd in list(self.ready):
                    os.close(fd)
                code = _worker_main(self.plan, slot, write_fd)
            except KeyboardInterrupt:
                code = 0
            except BaseException:
                log.exception("worker %d failed", slot)
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        os.close(write_fd)
        self.ready[read_fd] = slot
        self.pids[pid] = slot
        self.started[slot] = time.monotonic()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until every worker forked so far said it serves."""
        deadline = time.monotonic() + timeout
        while self.ready:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.check_ready(min(left, 0.2))
            self.reap(restart=False)
            if not self.pids:
                return False
        return True

    def check_ready(self, timeout: float = 0.0) -> None:
        """Close the readiness pipes of the workers that said they serve (or died)."""
        if not self.ready:
            return
        readable, _, _ = select.select(list(self.ready), [], [], timeout)
        for fd in readable:
            os.close(fd)
            del self.ready[fd]

    def reap(self, restart: bool = True) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            slot = self.pids.pop(pid, None)
            if slot is None:
                continue
            for fd, ready_slot in list(self.ready.items()):
                if ready_slot == slot:
                    os.close(fd)
                    del self.ready[fd]
            if restart:
                young = time.monotonic() - self.started.get(slot, 0.0) < RESTART_BACKOFF
                log.warning("worker %d (pid %d) exited (%s); starting it again", slot, pid,
                            _describe(status))
                self.due[slot] = time.monotonic() + (RESTART_BACKOFF if young else 0.0)

    def restart_due(self) -> None:
        now = time.monotonic()
        for slot, when in list(self.due.items()):
            if when <= now:
                del self.due[slot]
                self.restarts += 1
                self.spawn(slot)

    def stop(self) -> None:
        """SIGTERM every worker, wait for them, SIGKILL those that would not stop."""
        self.due.clear()
        for pid in list(self.pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.pids and time.monotonic() < deadline:
            self.reap(restart=False)
            time.sleep(0.02)
        for pid in list(self.pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while self.pids:
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            self.pids.pop(pid, None)
        for fd in list(self.ready):
            os.close(fd)
        self.ready.clear()


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"status {os.waitstatus_to_exitcode(status)}"


def _bind(host: str, port: int, backlog: int, reuse_port: bool = False,
          listen: bool = True) -> socket.socket:
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        if listen:
            sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _unix_listener(path: str, kind: int) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, kind)
    sock.bind(path)
    sock.listen(256)
    return sock


def run_workers(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 3000,
    static_files: Mapping[str, str | os.PathLike[str]] | None = None,
    *,
    workers: int | str = 0,
    use_uvloop: bool = True,
    on_started: Callable[[Any], None] | None = None,
    backlog: int = LISTEN_BACKLOG,
    reuse_port: bool | None = None,
    **server_options: Any,
) -> None:
    """Serve ``app`` with ``workers`` processes (``0`` or ``"auto"``: one per core) sharing
    one listening socket, until SIGTERM or SIGINT (blocking).

    ``on_started(supervisor)`` is called once every worker serves (``.port``, ``.workers``:
    slot -> pid); by default a line saying where it serves is printed. Other keyword
    arguments are :class:`~socketwire.hosting.standalone.StandaloneServer`'s.

    ``reuse_port=True`` (or ``SOCKETWIRE_WORKERS_REUSE_PORT=1``), for comparison: each worker
    listens on a ``SO_REUSEPORT`` socket of its own instead of the shared one (the parent
    keeps the port bound, not listening); see docs/scaling.md for why it is not the default.
    """
    if reuse_port is None:
        reuse_port = os.environ.get("SOCKETWIRE_WORKERS_REUSE_PORT") == "1"
    if not hasattr(os, "fork"):
        raise RuntimeError("workers need fork(): not available on this platform")
    count = resolve_workers(workers)
    listener = _bind(host, port, backlog, reuse_port=reuse_port, listen=not reuse_port)
    rundir = tempfile.mkdtemp(prefix="socketwire-workers-")
    os.chmod(rundir, 0o700)
    bus: list[socket.socket] = []
    handoff: list[socket.socket] = []
    blocked = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    supervisor: _Supervisor | None = None
    parent = os.getpid()
    try:
        for slot in range(count):
            bus.append(_unix_listener(os.path.join(rundir, f"bus-{slot}"), socket.SOCK_STREAM))
            handoff.append(_unix_listener(os.path.join(rundir, f"fd-{slot}"),
                                          socket.SOCK_SEQPACKET))
        plan = _Plan(app, static_files, count, rundir, listener, bus, handoff, use_uvloop,
                     server_options, parent, reuse_port, backlog)
        supervisor = _Supervisor(plan)
        for slot in range(count):
            supervisor.spawn(slot)
        if not supervisor.wait_ready(READY_TIMEOUT):
            raise RuntimeError("the workers did not start")
        if on_started is not None:
            on_started(supervisor)
        else:
            shown = "localhost" if host in ("0.0.0.0", "::", "") else host
            shown = f"[{shown}]" if ":" in shown else shown
            print(f"socketwire listening on http://{shown}:{supervisor.port}/ "
                  f"({count} workers)", flush=True)
        while True:
            supervisor.restart_due()
            wait = 0.2 if not supervisor.due else max(
                0.0, min(supervisor.due.values()) - time.monotonic())
            try:
                info = signal.sigtimedwait(blocked, min(wait, 0.2))
            except InterruptedError:  # pragma: no cover
                info = None
            if info is not None and info.si_signo in (signal.SIGTERM, signal.SIGINT):
                break
            supervisor.reap()
            supervisor.check_ready()
    finally:
        if supervisor is not None:
            supervisor.stop()
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        listener.close()
        for sock in bus + handoff:
            sock.close()
        shutil.rmtree(rundir, ignore_errors=True)

