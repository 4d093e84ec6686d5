"""``socketwire serve MODULE:ATTR --http3``, run as a real subprocess: it prints the UDP port
and the certificate hash, and the Python client connects over WebTransport with that hash;
and the combinations it cannot serve are refused with a message."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import socketwire
from servers import free_port

pytest.importorskip("aioquic")

SCRIPT = Path(sys.executable).with_name("socketwire")
APP = """
    import socketwire

    io = socketwire.Server(transports={transports!r})

    @io.on("connection")
    def connection(socket):
        socket.on("transport", lambda: socket.transport)
        socket.on("echo", lambda *args: list(args))
"""
WEBTRANSPORT = re.compile(
    r"serving WebTransport on UDP port (\d+), certificate SHA-256 ([0-9a-f]{64})")


def command(*args: str) -> list[str]:
    if SCRIPT.exists():
        return [str(SCRIPT), *args]
    return [sys.executable, "-m", "socketwire.cli", *args]


def write_app(folder: Path, transports: tuple[str, ...]) -> None:
    (folder / "wtapp.py").write_text(textwrap.dedent(APP.format(transports=transports)))


@contextmanager
def serving(argv: list[str], cwd: Path) -> Iterator[list[str]]:
    """Run ``argv``; yield its first two stdout lines; stop it by PID afterwards."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().decode().strip() for _ in range(2)]
        if not lines[0]:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"server did not start: {err.decode()!r}")
        yield lines
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


async def test_serve_http3_prints_the_hash_and_serves_webtransport(tmp_path: Path) -> None:
    write_app(tmp_path, ("polling", "websocket", "webtransport"))
    argv = command("serve", "wtapp:io", "--host", "127.0.0.1", "--port", "0", "--http3")
    with serving(argv, tmp_path) as (listening, announced):
        url = listening.split("listening on ", 1)[1].rstrip("/")
        found = WEBTRANSPORT.search(announced)
        assert found, announced
        port, digest = int(found[1]), bytes.fromhex(found[2])
        assert port == int(url.rsplit(":", 1)[1])  # by default the TCP port's number
        client = socketwire.AsyncClient(reconnection=False, server_certificate_hashes=[digest])
        await client.connect(url, transports=["webtransport"], wait_timeout=10)
        try:
            assert client.transport == "webtransport"
            assert await client.emit_with_ack("transport") == "webtransport"
            assert await client.emit_with_ack("echo", "hi", b"\x00\x01") == ["hi", b"\x00\x01"]
        finally:
            await client.disconnect()


async def test_serve_http3_on_its_own_port(tmp_path: Path) -> None:
    write_app(tmp_path, ("polling", "webtransport"))
    udp = free_port()  # a TCP port found free; its number is very likely free in UDP too
    argv = command("serve", "wtapp:io", "--port", "0", "--http3", "--http3-port", str(udp))
    with serving(argv, tmp_path) as (_, announced):
        found = WEBTRANSPORT.search(announced)
        assert found and int(found[1]) == udp, announced


@pytest.mark.parametrize(("transports", "extra", "message"), [
    (("polling", "websocket"), [], "does not accept WebTransport"),
    (("polling", "webtransport"), ["--workers", "2"], "cannot be combined with --workers"),
    (("polling", "webtransport"), ["--hosting", "asgi"], "needs the standalone hosting"),
])
def test_serve_http3_refuses_what_it_cannot_serve(
        tmp_path: Path, transports: tuple[str, ...], extra: list[str], message: str) -> None:
    write_app(tmp_path, transports)
    done = subprocess.run(command("serve", "wtapp:io", "--port", "0", "--http3", *extra),
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr


def test_http3_port_alone_is_refused(tmp_path: Path) -> None:
    write_app(tmp_path, ("polling", "webtransport"))
    done = subprocess.run(command("serve", "wtapp:io", "--port", "0", "--http3-port", "4433"),
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "--http3-port goes with --http3" in done.stderr
