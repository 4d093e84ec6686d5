"""The headers an :class:`~socketwire.engine.server.EngineServer` adds for the browser: CORS
(which origins may call, the preflight's answer) and the session cookie."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Union

from .http import HttpRequest, HttpResponse

__all__ = ["CorsOrigins", "cookie_header", "cors_headers", "origin_allowed", "preflight"]

CorsOrigins = Union[None, str, Iterable[str], "re.Pattern[str]", Callable[[str], bool]]


def origin_allowed(allowed: CorsOrigins, origin: str | None) -> bool:
    """Whether a request with this Origin header may go on, given ``allowed``."""
    if allowed is None or allowed == "*" or origin is None:
        return True
    if isinstance(allowed, str):
        return origin == allowed
    if isinstance(allowed, re.Pattern):
        return allowed.fullmatch(origin) is not None
    if callable(allowed):
        return bool(allowed(origin))
    return origin in set(allowed)


def cors_headers(allowed: CorsOrigins, credentials: bool,
                 origin: str | None) -> list[tuple[str, str]]:
    """The CORS headers of an answer to a request from ``origin`` (none unless configured)."""
    if allowed is None:
        return []
    out: list[tuple[str, str]] = []
    if allowed == "*":  # never with credentials (EngineServer refuses that)
        out.append(("Access-Control-Allow-Origin", "*"))
    elif origin is not None and origin_allowed(allowed, origin):
        out.append(("Access-Control-Allow-Origin", origin))
        out.append(("Vary", "Origin"))
    if credentials and out:
        out.append(("Access-Control-Allow-Credentials", "true"))
    return out


def preflight(request: HttpRequest, cors: list[tuple[str, str]]) -> HttpResponse:
    """The answer to an OPTIONS request (``cors``: its CORS headers)."""
    headers = list(cors)
    if cors:
        headers.append(("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"))
        wanted = request.headers.get("access-control-request-headers")
        if wanted:
            headers.append(("Access-Control-Allow-Headers", wanted))
    headers.append(("Content-Length", "0"))
    return HttpResponse(204, headers)


def cookie_header(cookie: bool | str | dict[str, Any], sid: str) -> list[tuple[str, str]]:
    """The Set-Cookie header naming session ``sid`` (``cookie``: EngineServer's option)."""
    if not cookie:
        return []
    opts: dict[str, Any] = {"name": "io", "path": "/", "httponly": True, "samesite": "Lax"}
    if isinstance(cookie, str):
        opts["name"] = cookie
    elif isinstance(cookie, dict):
        opts.update(cookie)
    parts = [f"{opts.pop('name')}={sid}"]
    if opts.get("path"):
        parts.append(f"Path={opts.pop('path')}")
    if opts.pop("httponly", False):
        parts.append("HttpOnly")
    if opts.get("samesite"):
        parts.append(f"SameSite={opts.pop('samesite')}")
    if opts.pop("secure", False):
        parts.append("Secure")
    return [("Set-Cookie", "; ".join(parts))]
