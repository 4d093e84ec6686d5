"""The README's examples, taken from README.md itself and run as a new user would: the server
quick start (with ``python server.py`` and with ``socketwire serve server:io``), the Python
client quick start against it, the FastAPI example under uvicorn with WebSocket working, and
the cross-origin browser example in Chromium. The README's fixed ports (3000, 8080) are
replaced by free ones."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import playwright.async_api as playwright_api
import pytest

import socketwire
from servers import free_port, running

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("SOCKETWIRE_CHROMIUM", "/usr/bin/chromium")
WAIT = 20.0


def block(lang: str, needle: str) -> str:
    """The README's code block in ``lang`` containing ``needle``."""
    for found_lang, body in re.findall(r"```(\w+)\n(.*?)```", README, re.S):
        if found_lang == lang and needle in body:
            return str(body)
    raise AssertionError(f"README.md has no {lang} block with {needle!r}")


SERVER = block("python", 'io = socketwire.Server(cors_allowed_origins=["http://localhost:8080"])')
CLIENT = block("python", "async def main():")
FASTAPI = block("python", "from fastapi import FastAPI")
PAGE = block("html", "http://localhost:3000/socket.io/socketwire.esm.js")


@contextmanager
def started(argv: list[str], cwd: Path, ready: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until a line containing ``ready`` shows (stdout or stderr, merged)."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        seen = []
        while True:
            line = proc.stdout.readline().decode()
            seen.append(line)
            if ready in line:
                break
            if not line:
                pytest.fail(f"{argv} did not start: {''.join(seen)!r}")
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        if proc.stdout is not None:
            proc.stdout.close()


async def _client_quick_start(tmp_path: Path, port: int) -> str:
    (tmp_path / "client.py").write_text(CLIENT.replace("3000", str(port)))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "client.py", cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        start_new_session=True)
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(WAIT):
            return (await proc.stdout.readline()).decode()  # then it waits, as written
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        await proc.wait()


@pytest.mark.parametrize("how", ["python", "serve"])
async def test_server_and_client_quick_starts(tmp_path: Path, how: str) -> None:
    port = free_port()
    (tmp_path / "server.py").write_text(SERVER.replace("3000", str(port)))
    argv = ([sys.executable, "server.py"] if how == "python"
            else [str(BIN / "socketwire"), "serve", "server:io", "--port", str(port)])
    with started(argv, tmp_path, f"listening on http://127.0.0.1:{port}/") as proc:
        line = await _client_quick_start(tmp_path, port)
        assert line.startswith("connected as ")
        assert proc.poll() is None


async def test_fastapi_example_with_websocket(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "myapp.py").write_text(FASTAPI)
    argv = [str(BIN / "uvicorn"), "myapp:app", "--port", str(port), "--host", "127.0.0.1"]
    with started(argv, tmp_path, "Uvicorn running"):
        url = f"http://127.0.0.1:{port}"
        for transports in (["websocket"], ["polling", "websocket"]):
            client = socketwire.AsyncClient()
            await client.connect(url, transports=transports)
            try:
                async with asyncio.timeout(WAIT):
                    while client.transport != "websocket":  # the upgrade happened
                        await asyncio.sleep(0.02)
                assert await client.emit_with_ack("ping-me") == "pong"
                async with httpx.AsyncClient() as http:
                    assert (await http.get(url + "/hello")).json() == {"clients": 1}
            finally:
                await client.disconnect()


@pytest.mark.browser
async def test_cross_origin_browser_example(tmp_path: Path) -> None:
    port, page_port = free_port(), free_port()
    (tmp_path / "server.py").write_text(
        SERVER.replace("3000", str(port)).replace("8080", str(page_port)))
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "index.html").write_text(PAGE.replace("3000", str(port)))
    pages = socketwire.Server(serve_client=False)  # a plain static server for the page
    with started([sys.executable, "server.py"], tmp_path, "listening on"):
        async with running(pages, static_files={"/": str(tmp_path / "public")},
                           port=page_port), playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM,
                                               args=["--headless", "--no-sandbox"])
            try:
                page = await browser.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(f"http://localhost:{page_port}/")
                await page.wait_for_function(
                    "document.body.textContent.includes('connected as')",
                    timeout=WAIT * 1000)
                assert errors == []
            finally:
                await browser.close()
