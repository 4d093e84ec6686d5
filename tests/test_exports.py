"""The public surface: every public module says what it exports (``__all__``), every exported
name exists, and every exported class and function, and every public method of an exported
class, has a docstring and complete type hints (what ``help()``, IDEs and mypy users see)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import socketwire


def _public_modules() -> list[ModuleType]:
    modules = [socketwire]
    for info in pkgutil.walk_packages(socketwire.__path__, "socketwire."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        modules.append(importlib.import_module(info.name))
    return modules


MODULES = _public_modules()


def _defines_public_names(module: ModuleType) -> bool:
    return any(
        (inspect.isclass(v) or inspect.isfunction(v)) and v.__module__ == module.__name__
        for k, v in vars(module).items() if not k.startswith("_")
    )


def _exported(module: ModuleType) -> list[tuple[str, Any]]:
    """The classes and functions ``module`` exports and defines itself."""
    out = []
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module.__name__:
            out.append((name, obj))
    return out


def _missing_hints(func: Any, method: bool) -> list[str]:
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if method and params and params[0].name in ("self", "cls"):
        params = params[1:]
    missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty and func.__name__ != "__init__":
        missing.append("return")
    return missing


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_module_says_what_it_exports(module: ModuleType) -> None:
    assert (module.__doc__ or "").strip(), f"{module.__name__} has no docstring"
    if not hasattr(module, "__all__"):
        assert not _defines_public_names(module), f"{module.__name__} defines no __all__"
        return
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{module.__name__}.__all__ names what is not there: {missing}"
    assert len(set(module.__all__)) == len(module.__all__), "__all__ lists a name twice"


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_exports_are_documented_and_typed(module: ModuleType) -> None:
    problems = []
    for name, obj in _exported(module):
        where = f"{module.__name__}.{name}"
        if not (obj.__doc__ or "").strip():
            problems.append(f"{where}: no docstring")
        if inspect.isfunction(obj):
            if missing := _missing_hints(obj, method=False):
                problems.append(f"{where}: no type hints for {missing}")
            continue
        for attr, raw in vars(obj).items():
            if attr.startswith("_"):
                continue
            if isinstance(raw, property):
                func = raw.fget
                is_property = True
            elif isinstance(raw, staticmethod | classmethod):
                func = raw.__func__
                is_property = False
            else:
                func = raw
                is_property = False
            if not inspect.isfunction(func):
                continue
            if not (func.__doc__ or "").strip():
                problems.append(f"{where}.{attr}: no docstring")
            missing = _missing_hints(func, method=not isinstance(raw, staticmethod))
            if is_property:
                missing = [m for m in missing if m == "return"]
            if missing:
                problems.append(f"{where}.{attr}: no type hints for {missing}")
    assert not problems, "\n".join(problems)


def test_the_top_level_exports_are_reachable() -> None:
    assert socketwire.__all__, "socketwire exports nothing"
    for name in socketwire.__all__:
        assert getattr(socketwire, name) is not None


def test_the_package_ships_type_information() -> None:
    assert Path(socketwire.__path__[0], "py.typed").is_file()
