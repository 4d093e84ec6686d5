"""msgpack in headless Chromium: socketwire's browser client with socket.io-msgpack-parser as
its ``parser`` (and with its own ``msgpackParser``), against the official Node socket.io 4.8
server using that parser and against socketwire (``parser="msgpack"``); and the official
browser bundle with msgpack (socket.io-client's ``socket.io.msgpack.min.js``) against
socketwire. Events, acks both ways, binary, namespaces, rooms and broadcasts, on every
transport setting."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser_client import (
    NODE_SERVER,
    PYTHON_SERVER,
    ROOT,
    TRANSPORTS,
    ServerProcess,
    browser,
    client_dir,
    free_port,
    open_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

__all__ = ["browser", "client_dir"]  # fixtures, used by name

PARSER_DIR = ROOT / "node_modules" / "socket.io-msgpack-parser"
OFFICIAL_MSGPACK_BUNDLE = ROOT / "node_modules/socket.io-client/dist/socket.io.msgpack.min.js"


def msgpack_parser_bundle() -> str:
    """socket.io-msgpack-parser (and notepack.io, component-emitter) for a page: sets
    ``window.msgpackParser``. The npm sources as they are, in a minimal CommonJS wrapper."""
    notepack = (PARSER_DIR / "node_modules/notepack.io/dist/notepack.js").read_text()
    emitter = (ROOT / "node_modules/component-emitter/index.js").read_text()
    parser = (PARSER_DIR / "index.js").read_text()
    return (
        "(function () {\n" + notepack + "\n"
        "const modules = { 'notepack.io': self.notepack };\n"
        "const em = { exports: {} };\n"
        "(function (module, exports) {\n" + emitter + "\n})(em, em.exports);\n"
        "modules['component-emitter'] = em.exports;\n"
        "const pm = { exports: {} };\n"
        "(function (module, exports, require) {\n" + parser + "\n})"
        "(pm, pm.exports, (name) => modules[name]);\n"
        "window.msgpackParser = pm.exports;\n})();\n"
    )


def _server(argv: list[str], port: int) -> Iterator[ServerProcess]:
    server = ServerProcess(["env", "SOCKETWIRE_TEST_PARSER=msgpack", *argv], port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def node_msgpack_server(client_dir: Path) -> Iterator[ServerProcess]:
    port = free_port()
    yield from _server(["node", str(NODE_SERVER), str(port), str(client_dir)], port)


@pytest.fixture(scope="module")
def socketwire_msgpack_server(client_dir: Path) -> Iterator[ServerProcess]:
    port = free_port()
    yield from _server([sys.executable, str(PYTHON_SERVER), str(port), str(client_dir)], port)


@pytest.fixture(scope="module", params=["node", "socketwire"])
def msgpack_server(request: pytest.FixtureRequest) -> ServerProcess:
    server: ServerProcess = request.getfixturevalue(f"{request.param}_msgpack_server")
    return server


SCENARIO = """
  const opts = arg.parser ? { parser: arg.builtin ? window.builtinMsgpack : window.msgpackParser }
                          : {};
  const a = make(undefined, opts);
  const b = make(undefined, Object.assign({ forceNew: true }, opts));
  await Promise.all([next(a, "connect"), next(b, "connect")]);
  await upgraded(a);
  const out = {};
  // ArrayBuffers: notepack.io (socket.io-msgpack-parser's codec) encodes no typed arrays
  const bin = new Uint8Array([0, 1, 254, 255]).buffer;
  const echoed = next(a, "echo");
  a.emit("echo", "é✓", 1.5, null, { nested: [bin, true] });
  out.echo = await echoed;
  out.echo[3].nested[0] = bytes(out.echo[3].nested[0]);
  out.ack = await a.emitWithAck("ack", "x", 2);
  out.describe = await a.emitWithAck("describe", bin, { b: new Uint8Array([7]).buffer });
  a.on("question", (q, cb) => cb("answer to " + q));
  const answer = next(a, "answer");
  a.emit("ask-client", "life");
  out.answer = await answer;
  await b.emitWithAck("join", "r1");
  const inRoom = next(b, "room");
  a.emit("to-room", "r1", bin);
  out.room = await inRoom;
  out.room[1] = bytes(out.room[1]);
  const broadcast = next(b, "broadcast");
  a.emit("broadcast", { from: "a" });
  out.broadcast = await broadcast;
  const custom = a.io.socket("/custom", opts);
  await next(custom, "connect");
  out.custom = (await custom.emitWithAck("whoami")).nsp;
  out.transport = a.io.engine.transport.name;
  a.disconnect(); b.disconnect(); custom.disconnect();
  return out;
"""


def check(result: dict[str, Any], transports: list[str] | None) -> None:
    assert result["echo"] == ["é✓", 1.5, None, {"nested": [[0, 1, 254, 255], True]}]
    assert result["ack"] == "x"  # emitWithAck resolves with the first value
    assert result["describe"] == [{"buffer": [0, 1, 254, 255]}, {"b": {"buffer": [7]}}]
    assert result["answer"] == ["answer to life"]
    assert result["room"] == ["r1", [0, 1, 254, 255]]
    assert result["broadcast"] == [{"from": "a"}]
    assert result["custom"] == "/custom"
    assert result["transport"] == (transports[0] if transports else "websocket")


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_socketwire_browser_client_with_msgpack(
    browser: Any, msgpack_server: ServerProcess, transport: str
) -> None:
    context, page = await open_page(browser, msgpack_server, TRANSPORTS[transport])
    try:
        await page.page.add_script_tag(content=msgpack_parser_bundle())
        result = await page.run(SCENARIO, {"parser": True})
        assert await page.page.evaluate("window.errors") == []
    finally:
        await context.close()
    check(result, TRANSPORTS[transport])


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_socketwire_browser_client_with_its_own_msgpack_parser(
    browser: Any, msgpack_server: ServerProcess, transport: str
) -> None:
    """The client's own msgpack module (``msgpackParser``, no npm package), against the Node
    server with socket.io-msgpack-parser and against socketwire."""
    context, page = await open_page(browser, msgpack_server, TRANSPORTS[transport])
    try:
        await page.page.add_script_tag(type="module", content=(
            'import { msgpackParser } from "/socket.io/socketwire.esm.js";\n'
            "window.builtinMsgpack = msgpackParser;\n"))
        await page.page.wait_for_function("window.builtinMsgpack !== undefined", timeout=5000)
        result = await page.run(SCENARIO, {"parser": True, "builtin": True})
        assert await page.page.evaluate("window.errors") == []
    finally:
        await context.close()
    check(result, TRANSPORTS[transport])


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_official_msgpack_bundle_against_socketwire(
    browser: Any, socketwire_msgpack_server: ServerProcess, transport: str
) -> None:
    context, page = await open_page(browser, socketwire_msgpack_server, TRANSPORTS[transport])
    try:
        # the official bundle replaces window.io; the page helpers (make...) use it
        await page.page.add_script_tag(content=OFFICIAL_MSGPACK_BUNDLE.read_text())
        result = await page.run(SCENARIO, {"parser": False})
        assert await page.page.evaluate("window.errors") == []
    finally:
        await context.close()
    check(result, TRANSPORTS[transport])
