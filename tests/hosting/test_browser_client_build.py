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
    names = ["Manager", "Socket", "connect", "default", "io", "protocol"]
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
