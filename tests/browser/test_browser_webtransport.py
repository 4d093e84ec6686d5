"""Browser clients in headless Chromium over WebTransport: the official socket.io-client (its
browser bundle) and socketwire's own browser client (served by the server).

socketwire serves HTTP/3 on the UDP port of the same number as its TCP port (where the client
looks for it) with a fresh self-signed certificate, which the page trusts by its SHA-256 hash
(``transportOptions.webtransport.serverCertificateHashes``): Chromium needs no flag for it.
Each scenario runs with WebTransport only, and with polling first, then the upgrade to
WebTransport. Both the
standalone host (``serve(..., http3=True)``) and uvicorn with the HTTP/3 host beside it serve
the same app.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn

from servers import free_port
from socketwire import Server, Socket
from socketwire.hosting.asgi import ASGIApp
from socketwire.hosting.http3 import Http3Server
from socketwire.hosting.standalone import serve
from wt_support import tutorial_handlers

playwright_api = pytest.importorskip("playwright.async_api")

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL_BUNDLE = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

TRANSPORTS = {
    "webtransport": ["webtransport"],
    # polling, then the upgrade. (With WebSocket listed too, the client probes it 200 ms after
    # WebTransport and takes whichever answers first: on a loaded machine either may win.)
    "upgrade": ["polling", "webtransport"],
}


def build() -> tuple[Server, list[str]]:
    """The tutorial's features: echo, acks both ways, rooms, broadcasts."""
    io = Server(transports=("polling", "websocket", "webtransport"))
    seen: list[str] = []

    @io.on("connection")
    def connection(socket: Socket) -> None:
        seen.append(socket.conn.transport)

        tutorial_handlers(io, socket)

        @socket.on("transport")
        def transport(*, ack: Any) -> None:
            ack(socket.conn.transport)

    return io, seen


@contextlib.asynccontextmanager
async def standalone(io: Server, static: Path) -> AsyncIterator[tuple[str, bytes]]:
    for _ in range(5):  # the UDP port of the TCP port's number may be taken: try another
        port = free_port()
        try:
            server = await serve(io, "127.0.0.1", port, {"/": str(static)}, http3=True)
        except OSError:
            continue
        break
    else:
        raise RuntimeError("no port free for both TCP and UDP")
    assert server.http3 is not None and server.http3.port == port
    try:
        yield f"http://127.0.0.1:{port}", server.http3.certificate.sha256
    finally:
        await server.close()


@contextlib.asynccontextmanager
async def with_uvicorn(io: Server, static: Path) -> AsyncIterator[tuple[str, bytes]]:
    port = free_port()
    config = uvicorn.Config(ASGIApp(io, static_files={"/": str(static)}), host="127.0.0.1",
                            port=port, log_level="warning", lifespan="on",
                            ws_per_message_deflate=False)
    userver = uvicorn.Server(config)
    task = asyncio.ensure_future(userver.serve())
    while not userver.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    http3 = Http3Server(io)  # the HTTP/3 host beside any TCP host, on the same app
    try:
        await http3.start("127.0.0.1", port)
        yield f"http://127.0.0.1:{port}", http3.certificate.sha256
    finally:
        await http3.close()
        userver.should_exit = True
        await asyncio.wait_for(task, 10)


HOSTS = {"standalone": standalone, "uvicorn": with_uvicorn}
# client -> the page that loads it (both set window.io)
PAGES = {"official.html": "/socket.io.min.js", "socketwire.html": "/socket.io/socketwire.js"}
CLIENTS = {"official": "official.html", "socketwire": "socketwire.html"}


@pytest.fixture(scope="module")
def static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wt-page")
    shutil.copy(OFFICIAL_BUNDLE, path / "socket.io.min.js")
    for page, script in PAGES.items():
        (path / page).write_text(
            '<!doctype html><html><head><link rel="icon" href="data:,"></head><body>'
            f'<script src="{script}"></script></body></html>'
        )
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


SCENARIO = """async ([hash, transports]) => {
  const errors = [];
  const next = (emitter, event, ms = 5000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out waiting for " + event)), ms);
    emitter.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
  const opts = () => ({
    forceNew: true, transports,
    transportOptions: { webtransport: { serverCertificateHashes: [
      { algorithm: "sha-256", value: new Uint8Array(hash) }] } },
  });
  const upgraded = (s) => s.io.engine.transport.name === "webtransport"
    ? Promise.resolve() : next(s.io.engine, "upgrade");
  const a = io(opts()), b = io(opts());
  a.on("connect_error", (e) => errors.push("a: " + e.message));
  b.on("connect_error", (e) => errors.push("b: " + e.message));
  await Promise.all([next(a, "connect"), next(b, "connect")]);
  await Promise.all([upgraded(a), upgraded(b)]);
  const out = { errors };
  const echoed = next(a, "echo");
  a.emit("echo", "é✓", 1.5, null, { nested: [true] }, new Uint8Array([0, 1, 255]));
  out.echo = await echoed;
  out.echo[4] = Array.from(new Uint8Array(out.echo[4]));
  out.ack = await a.emitWithAck("ack", "x", 2);
  a.on("question", (q, cb) => cb("answer to " + q));
  const answer = next(a, "answer");
  a.emit("ask-client", "life");
  out.answer = await answer;
  await b.emitWithAck("join", "r1");
  const inRoom = next(b, "room");
  a.emit("to-room", "r1", "hello room");
  out.room = await inRoom;
  const broadcast = next(b, "broadcast");
  a.emit("broadcast", { from: "a" });
  out.broadcast = await broadcast;
  const big = "x".repeat(70000);  // a frame with a 64-bit length
  const bigBack = next(a, "echo");
  a.emit("echo", big);
  out.big = (await bigBack)[0] === big;
  out.transports = [a.io.engine.transport.name, b.io.engine.transport.name];
  out.server_side = [await a.emitWithAck("transport"), await b.emitWithAck("transport")];
  const closed = next(b, "disconnect");
  a.disconnect(); b.disconnect();
  out.disconnect = (await closed)[0];
  return out;
}"""


@pytest.mark.parametrize("transports", list(TRANSPORTS))
@pytest.mark.parametrize("host", list(HOSTS))
@pytest.mark.parametrize("client", list(CLIENTS))
async def test_browser_client_over_webtransport(
    browser: Any, static: Path, client: str, host: str, transports: str
) -> None:
    io, seen = build()
    async with HOSTS[host](io, static) as (url, cert_hash):
        context = await browser.new_context()
        try:
            page = await context.new_page()
            await page.goto(f"{url}/{CLIENTS[client]}")
            result = await page.evaluate(SCENARIO, [list(cert_hash), TRANSPORTS[transports]])
        finally:
            await context.close()
    assert result["errors"] == []
    assert result["echo"] == ["é✓", 1.5, None, {"nested": [True]}, [0, 1, 255]]
    assert result["ack"] == "x"
    assert result["answer"] == ["answer to life"]
    assert result["room"] == ["r1", "hello room"]
    assert result["broadcast"] == [{"from": "a"}]
    assert result["big"] is True
    assert result["transports"] == ["webtransport", "webtransport"]
    assert result["server_side"] == ["webtransport", "webtransport"]
    assert result["disconnect"] == "io client disconnect"
    assert seen == ["webtransport"] * 2 if transports == "webtransport" else ["polling"] * 2
