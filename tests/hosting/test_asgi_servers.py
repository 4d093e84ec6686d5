"""The ASGI app under uvicorn, hypercorn and granian, beside FastAPI routes and static files."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import socketio

from servers import TRANSPORTS, free_port

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent

COMMANDS = {
    "uvicorn": [str(BIN / "uvicorn"), "asgi_app:app", "--host", "127.0.0.1", "--port", "{port}",
                "--log-level", "warning"],
    "hypercorn": [str(BIN / "hypercorn"), "asgi_app:app", "--bind", "127.0.0.1:{port}",
                  "--log-level", "warning"],
    "granian": [str(BIN / "granian"), "--interface", "asgi", "--host", "127.0.0.1", "--port",
                "{port}", "--log-level", "warning", "asgi_app:app"],
}


async def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                await http.get(url + "/api/hello", timeout=1)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


@pytest.fixture(params=list(COMMANDS))
async def asgi_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The test app served by one ASGI server in a subprocess."""
    port = free_port()
    cmd = [part.replace("{port}", str(port)) for part in COMMANDS[request.param]]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), *sys.path]))
    proc = subprocess.Popen(cmd, cwd=HERE, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(url, proc)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_socketio_beside_fastapi_and_static(asgi_url: str, transport: str) -> None:
    client = socketio.AsyncClient()
    got: asyncio.Queue[object] = asyncio.Queue()
    client.on("echo", lambda *args: got.put_nowait(args))
    await client.connect(asgi_url, transports=TRANSPORTS[transport], wait_timeout=10)
    try:
        await client.emit("echo", ({"n": 1}, b"\x01\x02"))
        assert await asyncio.wait_for(got.get(), 10) == ({"n": 1}, b"\x01\x02")
        assert await client.call("sum", (1, 2, 3), timeout=10) == 6
        async with httpx.AsyncClient() as http:
            api = (await http.get(asgi_url + "/api/hello", timeout=5)).json()
            assert api == {"hello": "world", "sockets": 1}
            page = await http.get(asgi_url + "/static/", timeout=5)
            assert page.status_code == 200 and "static ok" in page.text
            missing = await http.get(asgi_url + "/nothing-here", timeout=5)
            assert missing.status_code == 404
    finally:
        await client.disconnect()
