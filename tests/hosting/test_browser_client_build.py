"""The browser client's ES modules and the two single-file builds derived from them
(``socketwire.static``): the builds are valid scripts with the modules' exports, every module
is in the build, the rules that let the builds be concatenated are enforced, and the modules
are served as they are, and nothing else under their path."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

import socketwire
from servers import running
from socketwire import static
from socketwire.static import MODULES, BundleError, browser_client_file, bundle

MODULE_DIR = Path(static.__file__).with_name("socketwire")
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")


def sources() -> dict[str, str]:
    return {m: (MODULE_DIR / m).read_text() for m in MODULES}


def test_every_module_file_is_in_the_build() -> None:
    on_disk = {p.relative_to(MODULE_DIR).as_posix() for p in MODULE_DIR.rglob("*.js")}
    assert on_disk == set(MODULES)
    assert MODULES[-1] == "index.js"


def test_builds_hold_every_module_once() -> None:
    for kind in ("esm", "classic"):
        built = bundle(sources(), kind)
        for module in MODULES:
            assert built.count(f"// ---- {module} ") == 1
        assert "\nimport " not in built
    esm = bundle(sources(), "esm")
    assert esm.rstrip().endswith("export default io;")
    classic = bundle(sources(), "classic")
    assert "\nexport " not in classic and classic.startswith("(function () {")


@needs_node
def test_builds_and_modules_run_in_node(tmp_path: Path) -> None:
    (tmp_path / "build.mjs").write_bytes(browser_client_file("socketwire.esm.js") or b"")
    (tmp_path / "classic.js").write_bytes(browser_client_file("socketwire.js") or b"")
    script = f"""
      const vm = require("node:vm");
      const fs = require("node:fs");
      (async () => {{
        const build = await import({json.dumps(str(tmp_path / "build.mjs"))});
        const modules = await import({json.dumps(str(MODULE_DIR / "index.js"))});
        const sandbox = {{}};
        vm.runInNewContext(fs.readFileSync({json.dumps(str(tmp_path / "classic.js"))}, "utf8"),
                           sandbox);
        const shape = (m) => Object.keys(m).sort();
        console.log(JSON.stringify({{
          build: shape(build), modules: shape(modules),
          classic: [typeof sandbox.io, typeof sandbox.socketwire.Manager,
                    sandbox.socketwire.io === sandbox.io, sandbox.io.protocol],
          protocol: [build.protocol, modules.protocol],
        }}));
      }})().catch((e) => {{ console.error(e); process.exit(1); }});
    """
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    names = ["Manager", "Socket", "connect", "default", "io", "msgpackParser", "protocol"]
    assert result["build"] == names and result["modules"] == names
    assert result["classic"] == ["function", "function", True, 5]
    assert result["protocol"] == [5, 5]


@pytest.mark.parametrize(("module", "text", "error"), [
    ("util.js", "import {\n  isBinary } from './x.js';\n", "not a one-line named import"),
    ("emitter.js", 'import { isBinary as b } from "./util.js";\n', "not a one-line named import"),
    ("emitter.js", 'import * as util from "./util.js";\n', "not a one-line named import"),
    ("emitter.js", 'import { nothing } from "./util.js";\n', "not exported by util.js"),
    ("util.js", 'import { Emitter } from "./emitter.js";\n', "not an earlier module"),
    ("util.js", 'import { x } from "../../outside.js";\n', "outside the client"),
    ("backoff.js", "const Emitter = 1;\n", "declared by emitter.js and backoff.js"),
    ("backoff.js", "export { Backoff };\n", "only declarations may be exported"),
])
def test_rules_of_the_modules_are_enforced(module: str, text: str, error: str) -> None:
    broken = sources()
    broken[module] = text + broken[module]
    with pytest.raises(BundleError, match=error):
        bundle(broken, "esm")


async def test_modules_are_served_as_they_are(hosting: str) -> None:
    origin = "http://good.example"
    io = socketwire.Server(cors_allowed_origins=[origin])
    async with running(io, hosting) as url, httpx.AsyncClient(base_url=url) as http:
        for module in ("index.js", "engine/webtransport.js", "parser.js"):
            got = await http.get("/socket.io/socketwire/" + module, headers={"Origin": origin})
            assert got.status_code == 200
            assert "javascript" in got.headers["content-type"]
            assert got.headers["access-control-allow-origin"] == origin  # importable across
            assert got.content == (MODULE_DIR / module).read_bytes()
        head = await http.head("/socket.io/socketwire/manager.js")
        assert head.status_code == 200 and head.content == b""
        for other in ("socketwire/missing.js", "socketwire/../__init__.py",
                      "socketwire/engine", "socketwire/"):
            got = await http.get("/socket.io/" + other)
            assert "javascript" not in got.headers.get("content-type", ""), other


def test_served_names() -> None:
    assert browser_client_file("socketwire/index.js") == (MODULE_DIR / "index.js").read_bytes()
    assert browser_client_file("socketwire.esm.js") == bundle(sources(), "esm").encode()
    assert browser_client_file("socketwire.js") == bundle(sources(), "classic").encode()
    assert browser_client_file("socketwire/__init__.py") is None
    assert browser_client_file("index.js") is None


NOTEPACK = (Path(__file__).resolve().parents[2]
            / "node_modules/socket.io-msgpack-parser/node_modules/notepack.io/lib/index.js")


@needs_node
@pytest.mark.skipif(not NOTEPACK.is_file(), reason="needs the npm packages (npm ci)")
def test_msgpack_codec_agrees_with_notepack() -> None:
    """msgpack.js against notepack.io, the codec of socket.io-msgpack-parser (what a Node
    server with that parser reads and writes): the same bytes for the same value, and each
    decodes what the other encodes."""
    script = f"""
      const notepack = require({json.dumps(str(NOTEPACK))});
      const assert = require("node:assert");
      (async () => {{
        const m = await import({json.dumps(str(MODULE_DIR / "msgpack.js"))});
        const ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32,
          Number.MAX_SAFE_INTEGER, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31),
          -(2 ** 31) - 1, -Number.MAX_SAFE_INTEGER];
        const text = (n) => Array.from("é✓😀abc".repeat(Math.ceil(n / 6))).slice(0, n).join("");
        const strings = ["", "a", text(31), text(32), text(255), text(256), text(70000)];
        const list = (n) => Array.from({{ length: n }}, (_, i) => i);
        const map = (n) => Object.fromEntries(list(n).map((i) => ["k" + i, i]));
        const plain = [...ints, 1.5, -0.25, ...strings, null, true, false, [], list(15),
          list(16), list(70000), {{}}, map(15), map(16), map(70000),
          {{ nested: [{{ a: [1, {{ b: "c" }}] }}, [[[]]]] }}];
        for (const value of plain) {{
          const ours = Buffer.from(m.encodeMsgpack(value));
          assert.deepStrictEqual(ours, notepack.encode(value), JSON.stringify(value).slice(0, 80));
          assert.deepStrictEqual(m.decodeMsgpack(notepack.encode(value)), value);
          assert.deepStrictEqual(m.decodeMsgpack(m.encodeMsgpack(value)), value);
        }}
        // a whole float beyond 2**53: float64 (notepack writes it as a wrong uint64)
        assert.strictEqual(notepack.decode(Buffer.from(m.encodeMsgpack(1e300))), 1e300);
        assert.strictEqual(m.decodeMsgpack(m.encodeMsgpack(-1e300)), -1e300);
        // binary: ours as bin (notepack reads a Buffer), notepack's ArrayBuffer as ext 0
        const big = new Uint8Array(70000).map((_, i) => i % 251);
        for (const n of [0, 1, 255, 256, 65535, 65536, 70000]) {{
          const bytes = big.slice(0, n);
          const view = new Uint8Array(big.buffer, 3, n - (n > 3 ? 3 : n));
          for (const [value, expected] of [[bytes.buffer, bytes], [view, view.slice()]]) {{
            const back = notepack.decode(Buffer.from(m.encodeMsgpack({{ b: value }})));
            assert.deepStrictEqual(new Uint8Array(back.b), expected);
          }}
          const both = m.decodeMsgpack(notepack.encode([bytes.buffer, Buffer.from(bytes)]));
          assert.ok(both[0] instanceof ArrayBuffer && both[1] instanceof ArrayBuffer);
          assert.deepStrictEqual(new Uint8Array(both[0]), bytes);
          assert.deepStrictEqual(new Uint8Array(both[1]), bytes);
        }}
        // undefined (notepack's ext 0 of 1 byte), Dates (legacy ext 0 of 8 bytes)
        const odd = m.decodeMsgpack(notepack.encode({{ u: undefined, list: [undefined, 1],
                                                      when: new Date(1764581400123) }}));
        assert.deepStrictEqual(odd, {{ list: [undefined, 1], when: new Date(1764581400123) }});
        // a packet from the Encoder is what socket.io-msgpack-parser's Decoder accepts
        const parser = require({json.dumps(str(NOTEPACK.parents[3] / "index.js"))});
        const decoded = [];
        const theirs = new parser.Decoder();
        theirs.on("decoded", (p) => decoded.push(p));
        const packet = {{ type: 2, nsp: "/chat", data: ["hi", {{ x: 1 }}], id: 7 }};
        for (const message of new m.msgpackParser.Encoder().encode(packet)) {{
          theirs.add(Buffer.from(message));
        }}
        assert.deepStrictEqual(decoded, [packet]);
        const ours = new m.msgpackParser.Decoder();
        const got = [];
        ours.on("decoded", (p) => got.push(p));
        for (const message of new parser.Encoder().encode(packet)) ours.add(message);
        assert.deepStrictEqual(got, [packet]);
        for (const bad of [{{ type: 9, nsp: "/" }}, {{ type: 2, nsp: 1, data: [] }},
                           {{ type: 2, nsp: "/", data: "x" }},
                           {{ type: 2, nsp: "/", data: [], id: 1.5 }}, [1, 2]]) {{
          assert.throws(() => ours.add(notepack.encode(bad)), /invalid packet/);
        }}
        assert.throws(() => ours.add("text"), /text message/);
        assert.throws(() => m.decodeMsgpack(new Uint8Array([0x92, 1])), /truncated/);
        assert.throws(() => m.decodeMsgpack(new Uint8Array([1, 2])), /extra bytes/);
        assert.throws(() => m.decodeMsgpack(new Uint8Array([0xc1])), /unknown type/);
        console.log("ok");
      }})().catch((e) => {{ console.error(e); process.exit(1); }});
    """
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"
