"""The ``socketwire`` command, run as a real subprocess: ``chat`` and ``serve MODULE:ATTR``."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import socketio

from servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("socketwire")


def command(*args: str) -> list[str]:
    """The installed ``socketwire`` script, or the module when it is not installed."""
    if SCRIPT.exists():
        return [str(SCRIPT), *args]
    return [sys.executable, "-m", "socketwire.cli", *args]


@contextmanager
def started(argv: list[str], cwd: Path = ROOT) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run ``argv`` until it prints its "listening on URL" line; stop it by PID afterwards."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        if "listening on http://" not in line:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"server did not start: {line!r} {err.decode()!r}")
        yield proc, line.split("listening on ", 1)[1].strip().rstrip("/")
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM by PID; the exit status."""
    os.kill(proc.pid, signal.SIGTERM)
    return proc.wait(15)


async def test_chat_command_serves_page_client_and_socketio() -> None:
    port = free_port()
    with started(command("chat", "--host", "127.0.0.1", "--port", str(port))) as (proc, url):
        assert url == f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=20) as http:
            page = await http.get("/")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert '<script type="module" src="chat.js">' in page.text
            script = await http.get("/chat.js")
            assert script.status_code == 200
            assert 'from "/socket.io/socketwire.esm.js"' in script.text
            style = await http.get("/chat.css")
            assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
            client = await http.get("/socket.io/socketwire.esm.js")
            assert client.status_code == 200
            assert "javascript" in client.headers["content-type"]
            assert "export {" in client.text
            assert (await http.get("/nope.js")).status_code == 404

        sio = socketio.AsyncClient(reconnection=False)
        welcome: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()
        sio.on("welcome", welcome.set_result)
        await sio.connect(url, auth={"username": "cli"}, wait_timeout=20)
        try:
            got = await asyncio.wait_for(welcome, 20)
            assert got["userName"] == "cli"
            assert got["users"] == [{"id": sio.get_sid("/"), "userName": "cli"}]
        finally:
            await sio.disconnect()
        assert stop(proc) == 0


APP = """
import socketwire

io = socketwire.Server()

@io.on("connection")
def connection(socket):
    socket.on("echo", lambda data: {"echo": data})

def factory():
    return io

not_a_server = 42
"""


@pytest.mark.parametrize("target", ["myapp:io", "myapp:factory"])
@pytest.mark.parametrize("hosting", ["standalone", "asgi"])
async def test_serve_command_serves_a_user_server(tmp_path: Path, hosting: str,
                                                  target: str) -> None:
    (tmp_path / "myapp.py").write_text(textwrap.dedent(APP))
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text("<p>mine</p>")
    argv = command("serve", target, "--port", "0", "--hosting", hosting,
                   "--static", "/=public")
    with started(argv, cwd=tmp_path) as (proc, url):
        async with httpx.AsyncClient(base_url=url, timeout=20) as http:
            assert (await http.get("/")).text == "<p>mine</p>"
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(url, wait_timeout=20)
        try:
            assert await sio.call("echo", "hi", timeout=20) == {"echo": "hi"}
        finally:
            await sio.disconnect()
        # uvicorn shuts down cleanly, then lets SIGTERM end the process as it would have
        assert stop(proc) in ((0,) if hosting == "standalone" else (0, -signal.SIGTERM))


@pytest.mark.parametrize("target, message", [
    ("myapp", "expected MODULE:ATTR"),
    ("nosuchmodule:io", "cannot import"),
    ("myapp:missing", "has no attribute"),
    ("myapp:not_a_server", "is not a socketwire.Server"),
])
def test_serve_command_rejects_bad_targets(tmp_path: Path, target: str, message: str) -> None:
    (tmp_path / "myapp.py").write_text(textwrap.dedent(APP))
    done = subprocess.run(command("serve", target, "--port", "0"), cwd=tmp_path,
                          capture_output=True, timeout=60)
    assert done.returncode != 0
    assert message in done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()


APP_WITH_BAD_FACTORY = APP + """
def not_a_factory():
    return "a string"
"""


def test_serve_command_rejects_a_function_returning_no_server(tmp_path: Path) -> None:
    (tmp_path / "myapp.py").write_text(textwrap.dedent(APP_WITH_BAD_FACTORY))
    done = subprocess.run(command("serve", "myapp:not_a_factory", "--port", "0"), cwd=tmp_path,
                          capture_output=True, timeout=60)
    err = done.stderr.decode()
    assert done.returncode != 0
    assert "myapp:not_a_factory() is not a socketwire.Server (it returned a value of type str)" in (
        err)
    assert "Traceback" not in err


def test_chat_admin_option_is_checked() -> None:
    done = subprocess.run(command("chat", "--port", "0", "--admin", "no-colon"),
                          capture_output=True, timeout=60)
    assert done.returncode != 0
    assert "USER:PASSWORD" in done.stderr.decode()


APP_WITH_FUNCTION = APP + """
def handler(socket):
    pass
"""


def test_serve_command_rejects_a_function_taking_arguments(tmp_path: Path) -> None:
    (tmp_path / "myapp.py").write_text(textwrap.dedent(APP_WITH_FUNCTION))
    done = subprocess.run(command("serve", "myapp:handler", "--port", "0"), cwd=tmp_path,
                          capture_output=True, timeout=60)
    err = done.stderr.decode()
    assert done.returncode != 0
    assert "myapp:handler is a function that takes arguments" in err
    assert "Traceback" not in err


def test_serve_command_refuses_a_missing_static_folder(tmp_path: Path) -> None:
    (tmp_path / "myapp.py").write_text(textwrap.dedent(APP))
    done = subprocess.run(command("serve", "myapp:io", "--port", "0", "--static",
                                  "/=missing-folder"),
                          cwd=tmp_path, capture_output=True, timeout=60)
    err = done.stderr.decode()
    assert done.returncode != 0
    assert "--static /=missing-folder: no such folder or file" in err
    assert str(tmp_path / "missing-folder") in err


SCRIPT_CALLING_RUN = """
import socketwire

io = socketwire.Server()

@io.on("connection")
def connection(socket):
    socket.on("echo", lambda data: {{"echo": data}})

socketwire.run(io, port={port})   # at import, as a script would
"""


async def test_run_prints_where_it_serves(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "server.py").write_text(SCRIPT_CALLING_RUN.format(port=port))
    with started([sys.executable, "server.py"], cwd=tmp_path) as (proc, url):
        assert url == f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=20) as http:
            assert (await http.get("/socket.io/socketwire.js")).status_code == 200
        assert stop(proc) == 0


async def test_serve_command_skips_run_called_at_import(tmp_path: Path) -> None:
    script_port, port = free_port(), free_port()
    (tmp_path / "server.py").write_text(SCRIPT_CALLING_RUN.format(port=script_port))
    argv = command("serve", "server:io", "--port", str(port))
    with started(argv, cwd=tmp_path) as (proc, url):
        assert url == f"http://127.0.0.1:{port}"  # the port asked for, not the script's
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(url, wait_timeout=20)
        try:
            assert await sio.call("echo", "hi", timeout=20) == {"echo": "hi"}
        finally:
            await sio.disconnect()
        async with httpx.AsyncClient(timeout=5) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{script_port}/socket.io/socketwire.js")
        assert stop(proc) == 0
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        assert "server called socketwire.run() while being imported; skipped" in err
        assert 'if __name__ == "__main__":' in err


@pytest.mark.parametrize("origin", ["admin.socket.io", "https://admin.socket.io/path"])
def test_chat_cors_option_is_checked(origin: str) -> None:
    done = subprocess.run(command("chat", "--port", "0", "--cors", origin),
                          capture_output=True, timeout=60)
    assert done.returncode != 0
    assert "--cors wants an origin" in done.stderr.decode()


async def test_chat_cors_option_allows_origins_with_credentials() -> None:
    port = free_port()
    argv = command("chat", "--port", str(port), "--cors", "https://admin.socket.io/",
                   "--cors", "http://127.0.0.1:9")
    with started(argv) as (proc, url):
        async with httpx.AsyncClient(base_url=url, timeout=20) as http:
            handshake = {"EIO": "4", "transport": "polling"}
            for origin in ("https://admin.socket.io", "http://127.0.0.1:9"):
                got = await http.get("/socket.io/", params=handshake, headers={"Origin": origin})
                assert got.status_code == 200
                assert got.headers["access-control-allow-origin"] == origin
                assert got.headers["access-control-allow-credentials"] == "true"
            refused = await http.get("/socket.io/", params=handshake,
                                     headers={"Origin": "http://evil.example"})
            assert refused.status_code == 403
        assert stop(proc) == 0


async def test_readme_chat_script_passes_its_arguments_on() -> None:
    """README's first command, as written there with ``--port``: ``scripts/chat.sh`` (it
    installs into .venv, then runs ``socketwire chat`` with the arguments it was given)."""
    readme = (ROOT / "README.md").read_text()
    assert "arguments go on to `socketwire chat`, e.g. `./scripts/chat.sh --port 8080`" in readme
    port = free_port()
    with started(["bash", str(ROOT / "scripts" / "chat.sh"), "--port", str(port)]) as (proc,
                                                                                         url):
        assert url.endswith(f":{port}")
        sio = socketio.AsyncClient(reconnection=False)
        welcome: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()
        sio.on("welcome", welcome.set_result)
        await sio.connect(f"http://127.0.0.1:{port}", auth={"username": "readme"},
                          wait_timeout=20)
        try:
            got = await asyncio.wait_for(welcome, 20)
            assert "readme" in str(got)
        finally:
            await sio.disconnect()
