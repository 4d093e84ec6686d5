"""The browser client: ES modules in ``static/socketwire/``, served as they are and as two
single-file builds derived from them at ``/socket.io/socketwire.esm.js`` and
``/socket.io/socketwire.js``.

The modules follow the client's layers: ``engine/`` (Engine.IO packets, the ``Transport``
base, polling, WebSocket, WebTransport, the registry by name, the ``Engine`` session),
``parser.js`` (Socket.IO packets), ``manager.js``, ``socket.js``, ``index.js`` (``io()``),
with ``emitter.js``, ``util.js``, ``backoff.js`` and ``url.js`` beside them. A page can import
them with no build step (``import { io } from "/socket.io/socketwire/index.js"``).

The single-file builds are made here, by concatenation, which the modules allow by keeping to
a few rules that :func:`bundle` checks: every ``import`` is one line ``import { a, b } from
"./relative.js";`` naming declarations of that module (no renaming, no ``*``, no default);
every export is a top-level ``export class / function / const / let`` (only ``index.js``
ends with ``export { ... }`` and ``export default`` lines); no two modules declare the same
top-level name.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

__all__ = ["MODULES", "BundleError", "browser_client_file", "browser_client_source", "bundle"]

_DIR = Path(__file__).with_name("socketwire")

MODULES: tuple[str, ...] = (
    "util.js",
    "emitter.js",
    "engine/packet.js",
    "engine/transport.js",
    "engine/polling.js",
    "engine/websocket.js",
    "engine/webtransport.js",
    "engine/transports.js",
    "engine/engine.js",
    "parser.js",
    "backoff.js",
    "url.js",
    "socket.js",
    "manager.js",
    "index.js",
)
"""The client's modules, each after those it imports (the order of the builds)."""

ENTRY = "index.js"

_IMPORT = re.compile(r'^import \{ ([\w$]+(?:, [\w$]+)*) \} from "(\.{1,2}/[\w/.-]+\.js)";$')
_DECLARATION = re.compile(r"^(export )?(?:class|function|const|let) ([\w$]+)")
_BANNER = (
    "// socketwire browser client, built from its ES modules (socketwire/static/socketwire/ in\n"
    "// the Python package) by concatenation: the modules can be imported as they are, from\n"
    "// /socket.io/socketwire/index.js.\n"
)


class BundleError(ValueError):
    """A module breaks one of the rules that let the builds be made by concatenation."""


def _resolve(module: str, target: str) -> str:
    parts = module.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            if not parts:
                raise BundleError(f"{module}: import outside the client: {target}")
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _scan(module: str, text: str) -> tuple[list[str], set[str], list[tuple[str, list[str]]]]:
    """The module's lines without imports and ``export`` prefixes, what it exports, and
    its imports (module, names)."""
    body: list[str] = []
    exported: set[str] = set()
    imports: list[tuple[str, list[str]]] = []
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{module}:{number}"
        if line.startswith("import"):
            match = _IMPORT.match(line)
            if match is None:
                raise BundleError(f"{where}: not a one-line named import: {line}")
            imports.append((_resolve(module, match[2]), match[1].split(", ")))
            continue
        if line.startswith("export "):
            declared = _DECLARATION.match(line)
            if declared is not None:
                exported.add(declared[2])
                line = line[len("export "):]
            elif module != ENTRY:
                raise BundleError(f"{where}: only declarations may be exported: {line}")
        body.append(line)
    return body, exported, imports


def _check(scanned: dict[str, tuple[list[str], set[str], list[tuple[str, list[str]]]]]) -> None:
    """Imports name exports of earlier modules; no top-level name is declared twice."""
    owners: dict[str, str] = {}
    for index, module in enumerate(MODULES):
        body, exported, imports = scanned[module]
        for source, names in imports:
            if source not in MODULES[:index]:
                raise BundleError(f"{module} imports {source}, which is not an earlier module")
            missing = set(names) - scanned[source][1]
            if missing:
                raise BundleError(f"{module} imports {sorted(missing)}, not exported by {source}")
        for line in body:
            declared = _DECLARATION.match(line)
            if declared is None:
                continue
            name = declared[2]
            if name in owners:
                raise BundleError(f"{name} is declared by {owners[name]} and {module}")
            owners[name] = module


def bundle(sources: dict[str, str], kind: Literal["esm", "classic"]) -> str:
    """One script from the modules' ``sources`` (by path in :data:`MODULES`): an ES module
    (``"esm"``) or a classic script publishing ``window.io`` and ``window.socketwire``."""
    scanned = {module: _scan(module, sources[module]) for module in MODULES}
    _check(scanned)
    parts = [_BANNER]
    exports: list[str] = []
    for module in MODULES:
        body = scanned[module][0]
        if module == ENTRY:
            exports = [line for line in body if line.startswith("export ")]
            body = [line for line in body if not line.startswith("export ")]
        parts.append(f"\n// ---- {module} " + "-" * max(3, 88 - len(module)) + "\n")
        parts.append("\n".join(body).strip("\n") + "\n")
    code = "".join(parts)
    if kind == "esm":
        return code + "\n" + "\n".join(exports) + "\n"
    return (
        '(function () {\n"use strict";\n' + code
        + 'const root = typeof window !== "undefined" ? window : globalThis;\n'
        + "root.io = io;\nroot.socketwire = { io, Manager, Socket };\n})();\n"
    )


@cache
def _module_source(module: str) -> bytes:
    return (_DIR / module).read_bytes()


@cache
def browser_client_source(kind: Literal["esm", "classic"]) -> bytes:
    """Return a single-file build of the browser client as UTF-8 bytes (made once, then
    cached): ``"esm"`` an ES module, ``"classic"`` a plain ``<script>`` that publishes
    ``io`` as ``window.io`` and ``window.socketwire.io``."""
    if kind not in ("esm", "classic"):
        raise ValueError(f"unknown browser client kind: {kind!r}")
    sources = {module: _module_source(module).decode("utf-8") for module in MODULES}
    return bundle(sources, kind).encode("utf-8")


def browser_client_file(name: str) -> bytes | None:
    """The file served at ``/socket.io/<name>``: ``socketwire.js`` (classic build),
    ``socketwire.esm.js`` (module build) or ``socketwire/<module>`` (one module as it is);
    ``None`` for any other name."""
    if name == "socketwire.js":
        return browser_client_source("classic")
    if name == "socketwire.esm.js":
        return browser_client_source("esm")
    if name.startswith("socketwire/") and name[len("socketwire/"):] in MODULES:
        return _module_source(name[len("socketwire/"):])
    return None
