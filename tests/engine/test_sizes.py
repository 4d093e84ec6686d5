"""The engine and client layers stay readable: no module over MAX_MODULE lines and no function
over MAX_FUNCTION lines (docstring included), measured with ``ast`` so it stays true."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import socketwire

ROOT = Path(socketwire.__file__).parent
PACKAGES = ("engine", "client")
MAX_MODULE = 400
MAX_FUNCTION = 50

MODULES = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).glob("*.py"))


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_the_packages_have_modules() -> None:
    assert len(MODULES) >= 10  # the glob finds the code it is meant to check


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_module_and_function_sizes(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    lines = source.count("\n")
    assert lines <= MAX_MODULE, f"{path.name}: {lines} lines (at most {MAX_MODULE})"
    long = {
        f"{fn.name} (line {fn.lineno})": (fn.end_lineno or fn.lineno) - fn.lineno + 1
        for fn in _functions(ast.parse(source))
        if (fn.end_lineno or fn.lineno) - fn.lineno + 1 > MAX_FUNCTION
    }
    assert not long, f"{path.name}: functions over {MAX_FUNCTION} lines: {long}"


def test_the_measure_sees_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION))
    (fn,) = _functions(ast.parse(f"def f() -> None:\n{body}\n"))
    assert (fn.end_lineno or 0) - fn.lineno + 1 == MAX_FUNCTION + 1
