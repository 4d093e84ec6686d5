"""The browser client (``socketwire.esm.js``), as served at ``/socket.io/socketwire[.esm].js``."""

from functools import cache
from pathlib import Path
from typing import Literal

__all__ = ["browser_client_source"]

_ESM_PATH = Path(__file__).with_name("socketwire.esm.js")


@cache
def browser_client_source(kind: Literal["esm", "classic"]) -> bytes:
    """Return the browser client as UTF-8 bytes (read once, then cached).

    ``"esm"`` is the ES module file as is. ``"classic"`` is a plain ``<script>`` build of the same
    code: the module's ``export`` lines (all on its final lines) are dropped, the rest is wrapped
    in an IIFE, and ``io`` is published as ``window.io`` and ``window.socketwire.io``.
    """
    source = _ESM_PATH.read_bytes()
    if kind == "esm":
        return source
    if kind != "classic":
        raise ValueError(f"unknown browser client kind: {kind!r}")
    body = b"".join(
        line for line in source.splitlines(keepends=True) if not line.startswith(b"export ")
    )
    return (
        b'(function () {\n"use strict";\n'
        + body
        + b'const root = typeof window !== "undefined" ? window : globalThis;\n'
        + b"root.io = io;\nroot.socketwire = { io, Manager, Socket };\n})();\n"
    )
