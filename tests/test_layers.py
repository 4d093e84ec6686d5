"""Dependencies point downward: each layer imports only the layers below it, at module level,
inside functions (lazy imports) and for type checking alike, but for the listed exceptions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import socketwire

ROOT = Path(socketwire.__file__).parent

# layer -> socketwire subpackages it must not import (in any way, but for ALLOWED)
FORBIDDEN = {
    "protocol": {"engine", "server", "adapters", "hosting", "client", "chat", "admin", "metrics"},
    "engine": {"server", "adapters", "hosting", "client", "chat", "admin", "metrics"},
    "adapters": {"hosting", "client", "chat", "admin", "metrics"},
    "server": {"hosting", "client", "chat", "admin", "metrics"},
    "hosting": {"server", "adapters", "client", "chat", "admin", "metrics"},
    "client": {"engine", "server", "adapters", "hosting", "chat", "admin", "metrics"},
}


Kind = str  # "module" (module level), "lazy" (inside a function), "type" (TYPE_CHECKING only)

# The imports against the layering that are there on purpose, each with its reason. A lazy
# import runs only when the function is called; a type-only one never runs. Entries are
# (file under socketwire/, kind, layer imported).
ALLOWED: dict[tuple[str, Kind, str], str] = {
    ("server/server.py", "lazy", "hosting"): (
        "Server.asgi_app() builds the ASGI host around the server for the user's convenience "
        "(io.asgi_app(...)); nothing in the server layer uses the host otherwise"),
    ("server/server.py", "type", "hosting"): "the return type of Server.asgi_app()",
}


class _ImportScanner(ast.NodeVisitor):
    """Collects (kind, subpackage) of every socketwire import in one module."""

    def __init__(self, package: tuple[str, ...]) -> None:
        self.package = package
        self.kind: list[Kind] = ["module"]
        self.found: set[tuple[Kind, str]] = set()

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):
            self.kind.append("type")
            for child in node.body:
                self.visit(child)
            self.kind.pop()
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # a function inside a TYPE_CHECKING block stays type-only
        self.kind.append("lazy" if self.kind[-1] != "type" else "type")
        self.generic_visit(node)
        self.kind.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = list(self.package[: len(self.package) - node.level + 1])
            parts = base + (node.module.split(".") if node.module else [])
        else:
            parts = (node.module or "").split(".")
        if parts and parts[0] == "socketwire":
            if len(parts) > 1:
                self.found.add((self.kind[-1], parts[1]))
            else:  # from socketwire import x / from .. import x: x may be a subpackage
                self.found.update((self.kind[-1], a.name) for a in node.names)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            parts = alias.name.split(".")
            if parts[0] == "socketwire" and len(parts) > 1:
                self.found.add((self.kind[-1], parts[1]))


def _imports(path: Path) -> set[tuple[Kind, str]]:
    """(kind, socketwire subpackage) of every import in ``path``."""
    rel = path.relative_to(ROOT.parent).with_suffix("").parts
    scanner = _ImportScanner(tuple(rel[:-1]))
    scanner.visit(ast.parse(path.read_text()))
    return scanner.found


def _violations(layer: str) -> dict[tuple[str, Kind, str], None]:
    out: dict[tuple[str, Kind, str], None] = {}
    for path in sorted((ROOT / layer).rglob("*.py")):
        for kind, imported in sorted(_imports(path)):
            if imported in FORBIDDEN[layer]:
                out[(str(path.relative_to(ROOT)), kind, imported)] = None
    return out


@pytest.mark.parametrize("kind", ["module", "lazy", "type"])
@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_downward(layer: str, kind: Kind) -> None:
    bad = [f"{where} imports {imported} ({k})" for where, k, imported in _violations(layer)
           if k == kind and (where, k, imported) not in ALLOWED]
    assert not bad, "\n".join(bad)


def test_every_allowed_exception_is_still_needed() -> None:
    found = {v for layer in FORBIDDEN for v in _violations(layer)}
    stale = [entry for entry in ALLOWED if entry not in found]
    assert not stale, f"ALLOWED lists imports that are gone: {stale}"


def test_the_scanner_sees_each_kind_of_import() -> None:
    # what a module of the server layer importing upward in each way is seen as
    source = (
        "from typing import TYPE_CHECKING\n"
        "from ..hosting import standalone\n"
        "if TYPE_CHECKING:\n"
        "    from socketwire.client import AsyncClient\n"
        "def f():\n"
        "    import socketwire.adapters.memory\n"
        "    from .. import metrics\n"
    )
    scanner = _ImportScanner(("socketwire", "server"))
    scanner.visit(ast.parse(source))
    assert scanner.found == {("module", "hosting"), ("type", "client"), ("lazy", "adapters"),
                             ("lazy", "metrics")}


def test_protocol_is_free_of_io() -> None:
    for path in (ROOT / "protocol").rglob("*.py"):
        text = path.read_text()
        for name in ("import asyncio", "import socket", "import time", "from time"):
            assert name not in text, f"{path.name} uses {name!r}"


def test_test_modules_have_unique_basenames() -> None:
    """pytest imports test files by basename (no packages under tests/): two files of one
    name in different folders stop the collection of the whole suite."""
    root = Path(__file__).parent
    names: dict[str, list[Path]] = {}
    for path in root.rglob("test_*.py"):
        names.setdefault(path.name, []).append(path)
    assert {n: p for n, p in names.items() if len(p) > 1} == {}
