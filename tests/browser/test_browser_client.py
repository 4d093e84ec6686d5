"""The socketwire browser client (socketwire.esm.js) in a real headless Chromium.

Each scenario runs over three transport settings: polling only, WebSocket only, and the default
(polling, then upgraded to WebSocket). The server side is a fixture parametrized by target: the
official Node socket.io 4.8 server (tests/browser/node_sio_server.js), the reference, and the
socketwire Python server with the same handlers (tests/browser/socketwire_server.py) on its
standalone host; a few scenarios also run with it under uvicorn (``socketwire_asgi``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from socketwire.static import browser_client_source

playwright_api = pytest.importorskip("playwright.async_api")

ROOT = Path(__file__).resolve().parents[2]
NODE_SERVER = Path(__file__).with_name("node_sio_server.js")
PYTHON_SERVER = Path(__file__).with_name("socketwire_server.py")
CHROMIUM = os.environ.get("SOCKETWIRE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The page the tests run in: a real response of the server under test (the client file itself),
# so that the page is on the server's origin, io() with no URL connects there, and Chromium's
# local-network checks allow its WebSockets (they block pages fulfilled by Playwright routes).
TEST_PAGE = "/socket.io/socketwire.esm.js"

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

TRANSPORTS: dict[str, list[str] | None] = {
    "polling": ["polling"],
    "websocket": ["websocket"],
    "default": None,  # socket.io's default: polling first, then the upgrade to WebSocket
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A test server run as a child process, which the tests may stop and start again."""

    argv: list[str]
    port: int
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.proc is None
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=None, start_new_session=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()  # "listening PORT", or "" if it died
        if not line.startswith("listening"):
            self.stop()
            raise RuntimeError(f"test server did not start: {line!r}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)  # in case a test froze it
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()

    def freeze(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both builds of the browser client, as the Python package produces them."""
    path = tmp_path_factory.mktemp("socketwire-client")
    (path / "socketwire.esm.js").write_bytes(browser_client_source("esm"))
    (path / "socketwire.js").write_bytes(browser_client_source("classic"))
    return path


def _node_server(client_dir: Path, *ping: int) -> Iterator[ServerProcess]:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "socket.io").is_dir():
        pytest.skip("needs node and the npm packages (npm ci)")
    port = free_port()
    server = ServerProcess(
        ["node", str(NODE_SERVER), str(port), str(client_dir), *map(str, ping)], port
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def node_server(client_dir: Path) -> Iterator[ServerProcess]:
    """The official socket.io 4.8 server with the scenario handlers of node_sio_server.js."""
    yield from _node_server(client_dir)


@pytest.fixture(scope="module")
def node_server_fast_ping(client_dir: Path) -> Iterator[ServerProcess]:
    """Same, with pingInterval 400 ms and pingTimeout 400 ms (heartbeat tests)."""
    yield from _node_server(client_dir, 400, 400)


def _python_server(client_dir: Path, *ping: int, hosting: str) -> Iterator[ServerProcess]:
    port = free_port()
    argv = [sys.executable, str(PYTHON_SERVER), str(port), str(client_dir), *map(str, ping),
            "--hosting", hosting]
    server = ServerProcess(argv, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def socketwire_server(client_dir: Path) -> Iterator[ServerProcess]:
    """The socketwire server (standalone host) with the same scenario handlers."""
    yield from _python_server(client_dir, hosting="standalone")


@pytest.fixture(scope="module")
def socketwire_asgi_server(client_dir: Path) -> Iterator[ServerProcess]:
    """The same socketwire server as an ASGI app under uvicorn."""
    yield from _python_server(client_dir, hosting="asgi")


@pytest.fixture(scope="module")
def socketwire_server_fast_ping(client_dir: Path) -> Iterator[ServerProcess]:
    """The socketwire server with pingInterval 400 ms and pingTimeout 400 ms."""
    yield from _python_server(client_dir, 400, 400, hosting="standalone")


# Server targets: every scenario runs against each (fixtures named TARGET_server); the ASGI host
# only where a test asks for it with ``@with_asgi``.
TARGETS = ["node", "socketwire"]
with_asgi = pytest.mark.parametrize(
    "sio_server", [*TARGETS, "socketwire_asgi"], indirect=True, scope="module"
)


@pytest.fixture(scope="module", params=TARGETS)
def sio_server(request: pytest.FixtureRequest) -> ServerProcess:
    server: ServerProcess = request.getfixturevalue(f"{request.param}_server")
    return server


@pytest.fixture(scope="module", params=TARGETS)
def fast_ping_server(request: pytest.FixtureRequest) -> ServerProcess:
    """A TARGET_server_fast_ping: pingInterval 400 ms, pingTimeout 400 ms."""
    server: ServerProcess = request.getfixturevalue(f"{request.param}_server_fast_ping")
    return server


@pytest.fixture(params=list(TRANSPORTS))
def transports(request: pytest.FixtureRequest) -> list[str] | None:
    return TRANSPORTS[request.param]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


PAGE_HELPERS = """
  window.errors = [];
  addEventListener("error", (e) => window.errors.push(String(e.message)));
  addEventListener("unhandledrejection", (e) => window.errors.push(String(e.reason)));
  // Resolves with the listener's arguments, or rejects after `ms`.
  window.next = (emitter, event, ms = 5000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out waiting for " + event)), ms);
    emitter.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
  window.sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  window.bytes = (buffer) => Array.from(new Uint8Array(buffer));
"""

ESM_IMPORT = """
  import io, { io as named, connect, Manager, Socket } from "/socket.io/socketwire.esm.js";
  window.io = io;
  window.exportsOk = named === io && connect === io && typeof Manager === "function"
    && typeof Socket === "function";
"""


class Page:
    """A Chromium page on the server's origin with the client loaded and a `connect` helper."""

    def __init__(self, page: Any, transports: list[str] | None) -> None:
        self.page = page
        self.transports = transports

    async def run(self, body: str, arg: Any = None) -> Any:
        """Runs `body` (the inside of an async function of `arg`) in the page."""
        return await self.page.evaluate(f"async (arg) => {{ {body} }}", arg)


async def open_page(
    browser: Any, server: ServerProcess, transports: list[str] | None, classic: bool = False,
    module: str = "/socket.io/socketwire.esm.js",
) -> tuple[Any, Page]:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(server.url + TEST_PAGE)
    await page.add_script_tag(content=PAGE_HELPERS)
    if classic:
        await page.add_script_tag(url="/socket.io/socketwire.js")
    else:
        await page.add_script_tag(content=ESM_IMPORT.replace("/socket.io/socketwire.esm.js",
                                                             module), type="module")
    await page.wait_for_function("typeof window.io === 'function'", timeout=5000)
    # Options every test socket gets: the transports under test, quick reconnection.
    await page.evaluate(
        """(transports) => {
          window.base = { reconnectionDelay: 100, reconnectionDelayMax: 400 };
          if (transports) window.base.transports = transports;
          window.make = (uri, opts) => io(uri, Object.assign({}, window.base, opts));
          window.upgraded = async (socket) => {
            if (!window.base.transports && socket.io.engine.transport.name !== "websocket") {
              await next(socket.io.engine, "upgrade");
            }
          };
        }""",
        transports,
    )
    return context, Page(page, transports)


@pytest_asyncio.fixture(loop_scope="module")
async def page(
    browser: Any, sio_server: ServerProcess, transports: list[str] | None
) -> AsyncIterator[Page]:
    if sio_server.proc is None:  # an earlier test left it stopped
        sio_server.start()
    context, wrapped = await open_page(browser, sio_server, transports)
    try:
        yield wrapped
        errors = await wrapped.page.evaluate("window.errors")
        assert errors == [], errors
    finally:
        await context.close()


def expected_transport(transports: list[str] | None) -> str:
    return transports[0] if transports else "websocket"


# ------------------------------------------------------------------------------------------------


@with_asgi
async def test_connect_and_id(page: Page) -> None:
    result = await page.run(
        """
        const socket = make();
        const before = [socket.connected, socket.disconnected, socket.id];
        await next(socket, "connect");
        await upgraded(socket);
        const server = await socket.emitWithAck("whoami");
        const out = {
          before, connected: socket.connected, disconnected: socket.disconnected, id: socket.id,
          server, transport: socket.io.engine.transport.name,
        };
        socket.disconnect();
        out.after = [socket.connected, socket.id === undefined];
        return out;
        """
    )
    assert result["before"] == [False, True, None]
    assert result["connected"] is True and result["disconnected"] is False
    assert isinstance(result["id"], str) and result["id"]
    assert result["server"]["id"] == result["id"]
    assert result["server"]["nsp"] == "/"
    want = expected_transport(page.transports)
    assert result["transport"] == want
    assert result["server"]["transport"] == want
    assert result["after"] == [False, True]


async def test_custom_events_both_ways(page: Page) -> None:
    result = await page.run(
        """
        const socket = make();
        const incoming = [], outgoing = [];
        socket.onAny((...args) => incoming.push(args[0]));
        socket.onAnyOutgoing((...args) => outgoing.push(args[0]));
        const [auth] = await next(socket, "auth");  // sent by the server in its connection handler
        const payload = ["héllo wörld ✓ 🎉", 42, 1.5, true, null, { nested: { list: [1, "two"] } }];
        const echoed = next(socket, "echo");
        socket.emit("echo", ...payload);
        const back = next(socket, "message-back");
        socket.send("via send", 7);
        const result = { auth, echo: await echoed, message: await back };
        // Many emits in a row arrive complete and in order.
        const got = [];
        const done = new Promise((resolve) => socket.on("tagged-echo", (tag, n) => {
          got.push(n);
          if (got.length === 50) resolve();
        }));
        for (let i = 0; i < 50; i++) socket.emit("tagged-echo", i);
        await done;
        result.order = got;
        result.incoming = incoming.slice(0, 3);
        result.outgoing = outgoing.slice(0, 2);
        socket.offAny();
        result.listeners = [socket.listeners("tagged-echo").length, socket.listenersAny().length];
        socket.disconnect();
        return result;
        """
    )
    assert result["auth"] == {}
    nested = {"nested": {"list": [1, "two"]}}
    assert result["echo"] == ["héllo wörld ✓ 🎉", 42, 1.5, True, None, nested]
    assert result["message"] == ["via send", 7]
    assert result["order"] == list(range(50))
    assert result["incoming"] == ["auth", "echo", "message-back"]
    assert result["outgoing"] == ["echo", "message"]
    assert result["listeners"] == [1, 0]


async def test_catch_all_listeners(page: Page) -> None:
    result = await page.run(
        """
        const socket = make();
        const calls = [];
        const first = (ev) => calls.push("first:" + ev);
        const second = (ev) => calls.push("second:" + ev);
        const out = (ev) => calls.push("out:" + ev);
        socket.onAny(second);
        socket.prependAny(first);
        socket.onAnyOutgoing(out);
        await next(socket, "auth");
        const echo = next(socket, "echo");
        socket.emit("echo", 1);
        await echo;
        socket.offAny(first);
        socket.offAnyOutgoing(out);
        const again = next(socket, "echo");
        socket.emit("echo", 2);
        await again;
        const counts = [socket.listenersAny().length, socket.listenersAnyOutgoing().length];
        socket.disconnect();
        return { calls, counts };
        """
    )
    assert result["calls"] == [
        "first:auth",
        "second:auth",
        "out:echo",
        "first:echo",
        "second:echo",
        "second:echo",
    ]
    assert result["counts"] == [1, 0]


@with_asgi
async def test_order_kept_across_connect_and_upgrade(page: Page) -> None:
    # Emitted from the moment the socket is created: some are buffered before CONNECT, some go
    # over polling and, by default, some during and after the upgrade to WebSocket.
    result = await page.run(
        """
        const socket = make();
        const key = "order-" + Math.random();
        const acks = [];
        for (let i = 0; i < 200; i++) {
          socket.emit("record", key, i);
          if (i % 20 === 0) socket.emit("ack", i, (n) => acks.push(n));
          if (i % 50 === 0) await sleep(5);
        }
        await upgraded(socket);
        for (let i = 200; i < 250; i++) socket.emit("record", key, i);
        const records = await socket.emitWithAck("records", key);
        socket.disconnect();
        return { records, acks };
        """
    )
    assert result["records"] == list(range(250))
    assert result["acks"] == list(range(0, 200, 20))


@with_asgi
async def test_options_query_headers_autoconnect(page: Page) -> None:
    result = await page.run(
        """
        const manual = make("/?fromUrl=1", {
          forceNew: true,
          autoConnect: false,
          extraHeaders: { "X-Socketwire-Test": "hello" },
        });
        await sleep(100);
        const idle = [manual.connected, manual.io.engine === undefined];
        manual.open();  // alias of connect()
        await next(manual, "connect");
        const fromUrl = await manual.emitWithAck("whoami");
        manual.close();  // alias of disconnect()
        const withQuery = make("/custom", { forceNew: true, query: { room: "a b", n: 3 } });
        await next(withQuery, "connect");
        const fromOption = await withQuery.emitWithAck("whoami");
        withQuery.disconnect();
        return { idle, fromUrl, fromOption, closed: manual.connected };
        """
    )
    assert result["idle"] == [False, True]
    assert result["fromUrl"]["query"]["fromUrl"] == "1"
    assert result["fromUrl"]["query"]["EIO"] == "4"
    # extraHeaders only exist for HTTP requests: the handshake is a WebSocket when websocket-only.
    want_header = None if page.transports == ["websocket"] else "hello"
    assert result["fromUrl"]["header"] == want_header
    assert result["fromOption"]["nsp"] == "/custom"
    assert result["fromOption"]["query"]["room"] == "a b"
    assert result["fromOption"]["query"]["n"] == "3"
    assert result["closed"] is False


async def test_retries_and_ack_timeout(page: Page) -> None:
    result = await page.run(
        """
        const socket = make("/", { retries: 3, ackTimeout: 150 });
        await next(socket, "connect");
        const key = "flaky-" + Math.random();
        // Acked only on the third copy: two timeouts, then success.
        const ok = await new Promise((resolve) =>
          socket.emit("flaky", key, 3, (err, value) => resolve([err && err.message, value])));
        // Never acked: the error comes after the first try and the three retries.
        const started = Date.now();
        let failed;
        try {
          await socket.emitWithAck("no-ack");
        } catch (err) {
          failed = err.message;
        }
        const elapsed = Date.now() - started;
        socket.disconnect();
        return { ok, failed, elapsed };
        """
    )
    assert result["ok"] == [None, "acked copy 3"]
    assert result["failed"] == "operation has timed out"
    assert result["elapsed"] >= 4 * 150 - 50


async def test_rooms_and_broadcast(page: Page) -> None:
    result = await page.run(
        """
        const [a, b, c] = [make("/", { forceNew: true }), make("/", { forceNew: true }),
                           make("/", { forceNew: true })];
        await Promise.all([a, b, c].map((s) => next(s, "connect")));
        const seen = { a: [], b: [], c: [] };
        for (const [name, s] of Object.entries({ a, b, c })) {
          s.on("room", (room, msg) => seen[name].push(room + ":" + msg));
          s.on("broadcast", (msg) => seen[name].push("all:" + msg));
        }
        await a.emitWithAck("join", "blue");
        await b.emitWithAck("join", "blue");
        const arrived = Promise.all([next(a, "room"), next(b, "room"), next(b, "broadcast"),
                                     next(c, "broadcast")]);
        c.emit("to-room", "blue", "hi blue");
        a.emit("broadcast", "from a");
        await arrived;
        await sleep(100);  // anything unexpected would arrive meanwhile
        for (const s of [a, b, c]) s.disconnect();
        return seen;
        """
    )
    # Sent by two different clients, so the two messages of b may come in either order.
    assert {name: sorted(seen) for name, seen in result.items()} == {
        "a": ["blue:hi blue"],
        "b": ["all:from a", "blue:hi blue"],
        "c": ["all:from a"],
    }


async def test_ack_callback_and_emit_with_ack(page: Page) -> None:
    result = await page.run(
        """
        const socket = make();
        // Emitted before the connection is up: buffered, then sent with ack id 0.
        const first = new Promise((resolve) => socket.emit("ack", "first", (...a) => resolve(a)));
        const second = new Promise((resolve) =>
          socket.emit("ack", 1, { two: [2] }, (...a) => resolve(a)));
        const out = { first: await first, second: await second };
        out.none = await new Promise((resolve) => socket.emit("ack", (...a) => resolve(a)));
        out.withAck = await socket.emitWithAck("ack", "x", 2);
        out.parallel = await Promise.all([1, 2, 3, 4, 5].map((n) => socket.emitWithAck("ack", n)));
        socket.disconnect();
        return out;
        """
    )
    assert result["first"] == ["first"]
    assert result["second"] == [1, {"two": [2]}]
    assert result["none"] == []
    assert result["withAck"] == "x"  # emitWithAck resolves with the first argument
    assert result["parallel"] == [1, 2, 3, 4, 5]


async def test_server_initiated_ack(page: Page) -> None:
    result = await page.run(
        """
        const socket = make();
        socket.on("question", (n, ack) => ack({ doubled: n * 2 }));
        await next(socket, "connect");
        const answer = next(socket, "answer");
        socket.emit("ask-client", 21);
        const [text] = await answer;
        socket.disconnect();
        return text;
        """
    )
    assert result == {"doubled": 42}


async def test_timeout(page: Page) -> None:
    result = await page.run(
        """
        const socket = make();
        await next(socket, "connect");
        const started = Date.now();
        const viaCallback = await new Promise((resolve) =>
          socket.timeout(200).emit("no-ack", "x", (err, ...rest) =>
            resolve([String(err && err.message), rest.length])));
        const elapsed = Date.now() - started;
        let viaPromise;
        try {
          await socket.timeout(150).emitWithAck("no-ack");
          viaPromise = "resolved";
        } catch (err) {
          viaPromise = err.message;
        }
        const inTime = await new Promise((resolve) =>
          socket.timeout(3000).emit("ack", "ok", (err, value) => resolve([err, value])));
        const inTimePromise = await socket.timeout(3000).emitWithAck("ack", "ok2");
        socket.disconnect();
        return { viaCallback, elapsed, viaPromise, inTime, inTimePromise };
        """
    )
    assert result["viaCallback"] == ["operation has timed out", 0]
    assert 150 <= result["elapsed"] < 2000
    assert result["viaPromise"] == "operation has timed out"
    assert result["inTime"] == [None, "ok"]
    assert result["inTimePromise"] == "ok2"


@with_asgi
async def test_binary_both_ways(page: Page) -> None:
    result = await page.run(
        """
        const socket = make();
        await next(socket, "connect");
        await upgraded(socket);
        const u8 = new Uint8Array([0, 1, 2, 253, 254, 255]);
        const ab = new Uint8Array([9, 8, 7]).buffer;
        const view = new Uint8Array([100, 101, 102, 103, 104]).subarray(1, 3);  // bytes 101, 102
        const i16 = new Int16Array([1, -1]);
        // What the server decoded (placeholders numbered depth-first).
        const described = await socket.emitWithAck(
          "describe", "text", u8, { deep: [ab, { v: view }] }, i16);
        // Echo: the server sends the same buffers back.
        const echo = next(socket, "echo");
        socket.emit("echo", { file: ab, list: [u8, "s", i16] }, view);
        const [obj, lone] = await echo;
        const acked = await socket.emitWithAck("ack", u8, "after");
        socket.disconnect();
        return {
          described,
          echo: {
            file: [obj.file instanceof ArrayBuffer, bytes(obj.file)],
            list: [bytes(obj.list[0]), obj.list[1], bytes(obj.list[2])],
            lone: [lone instanceof ArrayBuffer, bytes(lone)],
          },
          acked: [acked instanceof ArrayBuffer, bytes(acked)],
        };
        """
    )
    assert result["described"] == [
        "text",
        {"buffer": [0, 1, 2, 253, 254, 255]},
        {"deep": [{"buffer": [9, 8, 7]}, {"v": {"buffer": [101, 102]}}]},
        {"buffer": [1, 0, 255, 255]},
    ]
    assert result["echo"] == {
        "file": [True, [9, 8, 7]],
        "list": [[0, 1, 2, 253, 254, 255], "s", [1, 0, 255, 255]],
        "lone": [True, [101, 102]],
    }
    assert result["acked"] == [True, [0, 1, 2, 253, 254, 255]]


@with_asgi
async def test_large_batch_respects_max_payload(page: Page) -> None:
    # 30 x 100 KB in one go is 3 MB: over polling it must be split into POSTs below the
    # server's maxPayload (1 MB), or the server answers 413 and the session dies.
    result = await page.run(
        """
        const socket = make();
        await next(socket, "connect");
        const big = "x".repeat(100000);
        const done = new Promise((resolve) => {
          let n = 0;
          socket.on("tagged-echo", () => { if (++n === 30) resolve(n); });
        });
        for (let i = 0; i < 30; i++) socket.emit("tagged-echo", big + i);
        const count = await done;
        const connected = socket.connected;
        socket.disconnect();
        return [count, connected];
        """
    )
    assert result == [30, True]


async def test_two_namespaces_share_one_connection(page: Page) -> None:
    result = await page.run(
        """
        const root = make();
        const custom = make(location.origin + "/custom");
        const other = make("/custom", { forceNew: true });  // a second connection on purpose
        await Promise.all([next(root, "connect"), next(custom, "connect"), next(other, "connect")]);
        const [a, b, c] = await Promise.all(
          [root, custom, other].map((s) => s.emitWithAck("whoami")));
        const tagged = next(custom, "tagged-echo");
        custom.emit("tagged-echo", "hi");
        const out = { sameManager: root.io === custom.io, otherManager: other.io !== root.io,
                      a, b, c, tagged: await tagged };
        custom.disconnect();
        await sleep(100);
        out.rootStill = [root.connected, await root.emitWithAck("ack", "still")];
        root.disconnect();
        other.disconnect();
        return out;
        """
    )
    assert result["sameManager"] and result["otherManager"]
    assert result["a"]["nsp"] == "/" and result["b"]["nsp"] == "/custom"
    assert result["a"]["conn"] == result["b"]["conn"]  # one Engine.IO connection for both
    assert result["c"]["conn"] != result["a"]["conn"]
    assert result["tagged"] == ["/custom", "hi"]
    assert result["rootStill"] == [True, "still"]


async def test_connect_error(page: Page) -> None:
    result = await page.run(
        """
        const socket = make("/", { auth: { refuse: "bad token" } });
        const [err] = await next(socket, "connect_error");
        const custom = make("/custom", { auth: { refuse: "no" } });
        const [err2] = await next(custom, "connect_error");
        const unknown = make("/nowhere");
        const [err3] = await next(unknown, "connect_error");
        await sleep(200);
        return {
          isError: err instanceof Error, message: err.message, data: err.data,
          active: socket.active, connected: socket.connected,
          custom: [err2.message, err2.data], unknown: err3.message,
        };
        """
    )
    assert result["isError"] is True
    assert result["message"] == "not authorized"
    assert result["data"] == {"code": 4001, "reason": "bad token"}
    assert result["active"] is False and result["connected"] is False
    assert result["custom"] == ["not authorized", {"code": 4001, "reason": "no"}]
    assert result["unknown"] == "Invalid namespace"


async def test_connect_error_when_server_unreachable(page: Page) -> None:
    result = await page.run(
        """
        const socket = make("http://127.0.0.1:" + arg, { reconnectionAttempts: 2 });
        const errors = [];
        socket.on("connect_error", (err) => errors.push(err.message));
        const attempts = [];
        let reconnectErrors = 0;
        socket.io.on("reconnect_attempt", (n) => attempts.push(n));
        socket.io.on("reconnect_error", () => reconnectErrors++);
        await next(socket.io, "reconnect_failed", 5000);
        return { errors: errors.length, attempts, reconnectErrors };
        """,
        free_port(),
    )
    assert result["errors"] == 3  # the first try and two reconnection attempts
    assert result["attempts"] == [1, 2]
    assert result["reconnectErrors"] == 2


async def test_auth_object_and_function(page: Page) -> None:
    result = await page.run(
        """
        const withObject = make("/", { forceNew: true, auth: { token: "abc", n: 1 } });
        const [authObject] = await next(withObject, "auth");
        withObject.disconnect();
        let calls = 0;
        const withFunction = make("/custom", {
          forceNew: true,
          auth: (cb) => { calls += 1; cb({ token: "t" + calls }); },
        });
        const [first] = await next(withFunction, "auth");
        // The server drops the Engine.IO connection: the client reconnects and asks auth again.
        const reasons = [];
        withFunction.on("disconnect", (reason) => reasons.push(reason));
        withFunction.emit("close-conn");
        const [second] = await next(withFunction, "auth");
        const seen = reasons.slice();
        withFunction.disconnect();
        return { authObject, first, second, calls, reasons: seen };
        """
    )
    assert result["authObject"] == {"token": "abc", "n": 1}
    assert result["first"] == {"token": "t1"}
    assert result["second"] == {"token": "t2"}
    assert result["calls"] == 2
    assert result["reasons"] == ["transport close"]


@with_asgi
async def test_disconnect_reasons(page: Page) -> None:
    result = await page.run(
        """
        const out = {};
        // Server-side socket.disconnect(): only the namespace, and no reconnection.
        const a = make("/", { forceNew: true });
        await next(a, "connect");
        await upgraded(a);
        const reconnects = [];
        a.io.on("reconnect_attempt", () => reconnects.push(1));
        a.emit("disconnect-me", false);
        out.serverNs = (await next(a, "disconnect"))[0];
        // Server-side socket.disconnect(true): closes the whole connection.
        const b = make("/", { forceNew: true });
        await next(b, "connect");
        await upgraded(b);
        b.io.on("reconnect_attempt", () => reconnects.push(1));
        b.emit("disconnect-me", true);
        out.serverClose = (await next(b, "disconnect"))[0];
        // Client side.
        const c = make("/", { forceNew: true });
        await next(c, "connect");
        const reason = next(c, "disconnect");
        c.disconnect();
        out.client = (await reason)[0];
        await sleep(300);
        out.states = [a.connected, a.active, b.connected, b.active, c.connected, c.active];
        out.reconnects = reconnects.length;
        // A socket closed by the client can connect again.
        c.connect();
        await next(c, "connect");
        out.again = await c.emitWithAck("ack", "again");
        c.disconnect();
        return out;
        """
    )
    assert result["serverNs"] == "io server disconnect"
    assert result["serverClose"] == "io server disconnect"
    assert result["client"] == "io client disconnect"
    assert result["states"] == [False, False, False, False, False, False]
    assert result["reconnects"] == 0
    assert result["again"] == "again"


@with_asgi
async def test_parse_error_then_reconnect(page: Page) -> None:
    result = await page.run(
        """
        const socket = make();
        await next(socket, "connect");
        await upgraded(socket);
        const firstId = socket.id;
        const disconnected = next(socket, "disconnect");
        socket.emit("send-garbage");
        const [reason] = await disconnected;
        await next(socket, "connect");
        const out = { reason, newId: socket.id !== firstId,
                      echo: await socket.emitWithAck("ack", "back") };
        socket.disconnect();
        return out;
        """
    )
    assert result == {"reason": "parse error", "newId": True, "echo": "back"}


async def test_remember_upgrade(page: Page) -> None:
    result = await page.run(
        """
        const first = make("/", { forceNew: true, rememberUpgrade: true });
        await next(first, "connect");
        await upgraded(first);
        const second = make("/", { forceNew: true, rememberUpgrade: true });
        const startedWith = second.io.engine.transport.name;
        await next(second, "connect");
        const server = await second.emitWithAck("whoami");
        first.disconnect();
        second.disconnect();
        return [startedWith, server.transport];
        """
    )
    # After a successful upgrade, the next connection goes straight to WebSocket.
    want = expected_transport(page.transports)
    assert result == [want, want]


@with_asgi
async def test_reconnect_after_server_restart(page: Page, sio_server: ServerProcess) -> None:
    await page.run(
        """
        const socket = make();
        window.s = socket;
        window.events = [];
        window.acked = [];
        socket.on("connect", () => events.push("connect"));
        socket.on("disconnect", (reason) => events.push("disconnect:" + reason));
        socket.io.on("reconnect_attempt", () => events.push("attempt"));
        socket.io.on("reconnect", () => events.push("reconnect"));
        await next(socket, "connect");
        await upgraded(socket);
        window.firstId = socket.id;
        """
    )
    sio_server.stop()
    result = await page.run(
        """
        if (s.connected) await next(s, "disconnect", 5000);
        // Emitted while disconnected: buffered and sent once, in order, after reconnection.
        for (let i = 1; i <= 5; i++) s.emit("record", "restart", i);
        s.volatile.emit("record", "restart", "volatile");  // dropped, never buffered
        s.emit("ack", "late", (value) => acked.push(value));
        return { connected: s.connected, events };
        """
    )
    assert result["connected"] is False
    # A server that closes its sessions before exiting (socketwire) is seen to go a little
    # earlier, so a reconnection attempt may already be under way: not only the last event.
    disconnects = [e for e in result["events"] if e.startswith("disconnect:")]
    assert len(disconnects) == 1, result["events"]
    assert disconnects[0] in ("disconnect:transport close", "disconnect:transport error")
    await asyncio.sleep(0.3)  # let a reconnection attempt or two fail
    sio_server.start()
    result = await page.run(
        """
        if (!s.connected) await next(s, "connect", 8000);
        await upgraded(s);
        const records = await s.emitWithAck("records", "restart");
        await sleep(100);
        return { records, acked, events, newId: s.id !== firstId,
                 transport: s.io.engine.transport.name };
        """
    )
    assert result["records"] == [1, 2, 3, 4, 5]
    assert result["acked"] == ["late"]
    assert result["newId"] is True
    assert result["transport"] == expected_transport(page.transports)
    events = result["events"]
    assert events[0] == "connect" and events[-2:] == ["reconnect", "connect"]
    assert events.count("connect") == 2 and "attempt" in events


async def test_classic_script(
    browser: Any, sio_server: ServerProcess, transports: list[str] | None
) -> None:
    if sio_server.proc is None:
        sio_server.start()
    context, page = await open_page(browser, sio_server, transports, classic=True)
    try:
        result = await page.run(
            """
            const socket = make();
            await next(socket, "connect");
            const echo = await socket.emitWithAck("ack", "classic");
            socket.disconnect();
            return { echo, same: window.socketwire.io === window.io,
                     connect: typeof io.connect, manager: typeof io.Manager };
            """
        )
    finally:
        await context.close()
    assert result == {"echo": "classic", "same": True, "connect": "function", "manager": "function"}


async def test_modules_work_without_a_build(
    browser: Any, socketwire_server: ServerProcess, transports: list[str] | None
) -> None:
    """The ES modules the builds are made from, imported as they are from the server: the
    page loads index.js, which imports the rest (manager, socket, parser, engine/...)."""
    if socketwire_server.proc is None:
        socketwire_server.start()
    context, page = await open_page(browser, socketwire_server, transports,
                                    module="/socket.io/socketwire/index.js")
    try:
        result = await page.run(
            """
            const socket = make();
            await next(socket, "connect");
            await upgraded(socket);
            const echo = await socket.emitWithAck("ack", { modules: [1, 2] });
            const transport = socket.io.engine.transport.name;
            socket.disconnect();
            const loaded = performance.getEntriesByType("resource")
              .map((entry) => new URL(entry.name).pathname)
              .filter((path) => path.startsWith("/socket.io/socketwire/"));
            return { echo, transport, exports: window.exportsOk, loaded, errors: window.errors };
            """
        )
    finally:
        await context.close()
    assert result["echo"] == {"modules": [1, 2]} and result["exports"] is True
    assert result["transport"] == expected_transport(transports)
    assert {"/socket.io/socketwire/index.js", "/socket.io/socketwire/manager.js",
            "/socket.io/socketwire/engine/webtransport.js"} <= set(result["loaded"])
    assert result["errors"] == []


async def test_esm_exports(page: Page) -> None:
    assert await page.page.evaluate("window.exportsOk") is True


async def test_ping_pong_and_ping_timeout(
    browser: Any, fast_ping_server: ServerProcess, transports: list[str] | None
) -> None:
    # pingInterval 400 + pingTimeout 400: pings are answered (the connection outlives several
    # intervals), then a frozen server sends none and the client gives up with "ping timeout".
    server = fast_ping_server
    context, page = await open_page(browser, server, transports)
    try:
        await page.run(
            """
            window.s = make("/", { reconnection: false });
            window.pings = 0;
            s.io.on("ping", () => pings++);
            await next(s, "connect");
            await upgraded(s);
            await sleep(1300);
            """
        )
        server.freeze()
        try:
            result = await page.run(
                """
                const started = Date.now();
                const [reason] = await next(s, "disconnect", 3000);
                return { reason, pings, waited: Date.now() - started };
                """
            )
        finally:
            server.thaw()
    finally:
        await context.close()
    assert result["reason"] == "ping timeout"
    assert result["pings"] >= 2
    assert result["waited"] <= 1500
