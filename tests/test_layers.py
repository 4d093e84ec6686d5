"""Dependencies point downward: each layer imports only the layers below it (module level)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import socketwire

ROOT = Path(socketwire.__file__).parent

# layer -> socketwire subpackages it must not import at module level
FORBIDDEN = {
    "protocol": {"engine", "server", "adapters", "hosting", "client", "chat", "admin", "metrics"},
    "engine": {"server", "adapters", "hosting", "client", "chat", "admin", "metrics"},
    "adapters": {"hosting", "client", "chat", "admin", "metrics"},
    "server": {"hosting", "client", "chat", "admin", "metrics"},
    "hosting": {"server", "adapters", "client", "chat", "admin", "metrics"},
    "client": {"engine", "server", "adapters", "hosting", "chat", "admin", "metrics"},
}


def _module_level_imports(path: Path, package: tuple[str, ...]) -> set[str]:
    """The socketwire subpackages imported at module level (type-checking blocks excluded)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else []:
            if isinstance(sub, ast.ImportFrom):
                if sub.level:
                    base = list(package[: len(package) - sub.level + 1])
                    parts = base + (sub.module.split(".") if sub.module else [])
                else:
                    parts = (sub.module or "").split(".")
                if parts and parts[0] == "socketwire" and len(parts) > 1:
                    found.add(parts[1])
                elif not sub.module and sub.level:
                    found.update(a.name for a in sub.names)
            elif isinstance(sub, ast.Import):
                for alias in sub.names:
                    parts = alias.name.split(".")
                    if parts[0] == "socketwire" and len(parts) > 1:
                        found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_downward(layer: str) -> None:
    bad = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("").parts
        package = rel[:-1] if path.name != "__init__.py" else rel[:-1]
        imported = _module_level_imports(path, tuple(package))
        wrong = imported & FORBIDDEN[layer]
        if wrong:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert not bad, "\n".join(bad)


def test_protocol_is_free_of_io() -> None:
    for path in (ROOT / "protocol").rglob("*.py"):
        text = path.read_text()
        for name in ("import asyncio", "import socket", "import time", "from time"):
            assert name not in text, f"{path.name} uses {name!r}"
