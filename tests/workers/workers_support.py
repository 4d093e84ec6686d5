"""Run a socketwire server with ``--workers N`` in a child process, and watch its processes.

``WorkersServer.start([...command...], workers=N)`` starts the command with ``--port P
--workers N`` appended, waits for its "listening" line and knows the parent's PID and the
workers' (from ``/proc``). ``stop()`` sends SIGTERM to the parent (by PID) and checks that no
process of the tree survives. ``SOCKETWIRE_WORKERS_STATS`` makes each worker write its routing
counters when it stops (read with :meth:`WorkersServer.stats`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from servers import free_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def children(pid: int) -> list[int]:
    """The PIDs of ``pid``'s children (Linux ``/proc``)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(x) for x in f.read().split())
    except FileNotFoundError:
        return []
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class WorkersServer:
    """One server process tree: the parent and its N workers."""

    def __init__(self, proc: subprocess.Popen[str], port: int, workers: int,
                 stats_dir: str, log_path: str) -> None:
        self.proc = proc
        self.port = port
        self.count = workers
        self.stats_dir = stats_dir
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"
        self.seen: set[int] = set()  # every PID this tree ever had

    @classmethod
    def start(cls, command: list[str], workers: int, timeout: float = 30.0,
              env: dict[str, str] | None = None) -> WorkersServer:
        """Start ``command --port P --workers N`` and wait until every worker serves."""
        port = free_port()
        stats_dir = tempfile.mkdtemp(prefix="sw-workers-stats-")
        log_path = os.path.join(stats_dir, "server.log")
        full_env = dict(os.environ, SOCKETWIRE_WORKERS_STATS=stats_dir, **(env or {}))
        full_env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "tests" / "workers"), full_env.get("PYTHONPATH", "")])
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [*command, "--port", str(port), "--workers", str(workers)],
                stdout=log, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=full_env)
        server = cls(proc, port, workers, stats_dir, log_path)
        deadline = time.monotonic() + timeout
        while "listening" not in server.log():
            if proc.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise AssertionError(f"the server did not start:\n{server.log()}")
            time.sleep(0.05)
        if workers > 1:  # one worker is the process itself
            server.wait_workers(timeout)
        return server

    def log(self) -> str:
        """What the server printed so far."""
        with open(self.log_path) as f:
            return f.read()

    def workers(self) -> list[int]:
        """The PIDs of the running workers."""
        pids = [p for p in children(self.proc.pid) if alive(p)]
        self.seen.update(pids)
        return pids

    def wait_workers(self, timeout: float = 10.0, exclude: set[int] | None = None) -> list[int]:
        """Wait until N workers run (none of ``exclude``); returns their PIDs."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.workers()
            if len(pids) == self.count and not (exclude and set(pids) & exclude):
                return pids
            if time.monotonic() > deadline:
                raise AssertionError(f"workers {pids}, wanted {self.count}:\n{self.log()}")
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Signal the parent, wait for it; assert that no process of the tree is left."""
        self.workers()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the server did not stop:\n{self.log()}") from None
        self.assert_no_orphans()
        return code

    def assert_no_orphans(self, timeout: float = 10.0) -> None:
        """Every PID the tree had is gone (within ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            left = [p for p in self.seen | {self.proc.pid} if alive(p)]
            if not left:
                return
            if time.monotonic() > deadline:
                for pid in left:  # clean up, then fail
                    os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"processes left behind: {left}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the whole tree (cleanup after a failure)."""
        for pid in [*self.workers(), self.proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def stats(self) -> list[dict[str, Any]]:
        """The routing counters the workers wrote when they stopped."""
        out = []
        for name in sorted(os.listdir(self.stats_dir)):
            if name.endswith(".json"):
                with open(os.path.join(self.stats_dir, name)) as f:
                    out.append(json.load(f))
        return out

    def errors(self) -> list[str]:
        """ERROR lines and tracebacks in the server's output."""
        return [line for line in self.log().splitlines()
                if "Traceback" in line or "ERROR" in line]
