"""Origin checks, CORS headers, the ``allow_request`` hook and the sticky-session cookie.

Driven by raw HTTP (httpx) and WebSocket (websockets) peers, so that headers such as Origin
can be set freely, plus python-socketio's client for the end-to-end refusal. Both hosts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import socketio
from interop_support import Seen, install_basics
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

import socketwire
from servers import running
from socketwire.engine.http import HttpRequest
from socketwire.engine.server import EngineServer

GOOD = "http://good.example"
EVIL = "http://evil.example"
HANDSHAKE = {"EIO": "4", "transport": "polling"}
FORBIDDEN = b'{"code":4,"message":"Forbidden"}'

ORIGIN_CONFIGS: dict[str, Any] = {
    "list": [GOOD, "http://other.example"],
    "regex": re.compile(r"http://(good|other)\.example"),
    "callable": lambda origin: origin.endswith("://good.example"),
    "string": GOOD,
}


def ws_url(url: str, **query: str) -> str:
    params = "&".join(f"{k}={v}" for k, v in {"EIO": "4", "transport": "websocket",
                                                **query}.items())
    return url.replace("http://", "ws://") + "/socket.io/?" + params


async def ws_open_packet(url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Open a WebSocket-only Engine.IO session; return its OPEN packet."""
    async with ws_connect(ws_url(url), additional_headers=headers or {}, open_timeout=10) as ws:
        first = await ws.recv()
    assert isinstance(first, str) and first.startswith("0")
    return json.loads(first[1:])  # type: ignore[no-any-return]


async def ws_refusal(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """Try a WebSocket handshake that must be refused; return the HTTP status and body."""
    with pytest.raises(InvalidStatus) as info:
        async with ws_connect(ws_url(url), additional_headers=headers, open_timeout=10):
            pass
    return info.value.response.status_code, info.value.response.body or b""


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()
            if k.lower().startswith("access-control-")}


@pytest.mark.parametrize("config", list(ORIGIN_CONFIGS))
async def test_allowed_origin_gets_cors_headers(hosting: str, config: str) -> None:
    io = socketwire.Server(cors_allowed_origins=ORIGIN_CONFIGS[config])
    async with running(io, hosting) as url, httpx.AsyncClient(base_url=url) as http:
        opened = await http.get("/socket.io/", params=HANDSHAKE, headers={"Origin": GOOD})
        assert opened.status_code == 200
        assert opened.headers["access-control-allow-origin"] == GOOD
        assert "origin" in opened.headers["vary"].lower()
        sid = json.loads(opened.text[1:])["sid"]
        # the later requests of the session carry the header too
        posted = await http.post("/socket.io/", params={**HANDSHAKE, "sid": sid}, content="40",
                                 headers={"Origin": GOOD})
        assert posted.text == "ok"
        assert posted.headers["access-control-allow-origin"] == GOOD

        preflight = await http.options(
            "/socket.io/", params=HANDSHAKE,
            headers={"Origin": GOOD, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "x-custom, content-type"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == GOOD
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert preflight.headers["access-control-allow-headers"] == "x-custom, content-type"
        assert "access-control-allow-credentials" not in preflight.headers

        assert (await ws_open_packet(url, {"Origin": GOOD}))["sid"]
        # requests without an Origin (not from a browser) are not cross-origin: accepted
        assert (await http.get("/socket.io/", params=HANDSHAKE)).status_code == 200
        assert (await ws_open_packet(url))["sid"]


@pytest.mark.parametrize("config", list(ORIGIN_CONFIGS))
async def test_disallowed_origin_is_refused(hosting: str, config: str) -> None:
    io = socketwire.Server(cors_allowed_origins=ORIGIN_CONFIGS[config])
    seen = Seen()
    install_basics(io, seen)
    async with running(io, hosting) as url, httpx.AsyncClient(base_url=url) as http:
        refused = await http.get("/socket.io/", params=HANDSHAKE, headers={"Origin": EVIL})
        assert refused.status_code == 403
        assert refused.json() == {"code": 4, "message": "Forbidden"}
        assert "access-control-allow-origin" not in refused.headers
        preflight = await http.options("/socket.io/", params=HANDSHAKE,
                                       headers={"Origin": EVIL,
                                                "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in preflight.headers

        status, body = await ws_refusal(url, {"Origin": EVIL})
        assert status == 403
        assert json.loads(body) == {"code": 4, "message": "Forbidden"}
        assert io.engine.sessions == {}

        # a client that says it comes from elsewhere does not get in
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(url, headers={"Origin": EVIL}, transports=["polling"],
                                 wait_timeout=10)
        await client.disconnect()
        assert seen.of("connection") == []


async def test_no_cors_headers_by_default(hosting: str) -> None:
    io = socketwire.Server()
    async with running(io, hosting) as url, httpx.AsyncClient(base_url=url) as http:
        opened = await http.get("/socket.io/", params=HANDSHAKE, headers={"Origin": EVIL})
        assert opened.status_code == 200  # as Node: every origin, and no CORS headers
        assert cors_headers(opened) == {}
        preflight = await http.options("/socket.io/", params=HANDSHAKE,
                                       headers={"Origin": EVIL,
                                                "Access-Control-Request-Method": "POST"})
        assert cors_headers(preflight) == {}
        assert "set-cookie" not in opened.headers  # no cookie unless asked for
        assert (await ws_open_packet(url, {"Origin": EVIL}))["sid"]


async def test_wildcard_and_credentials(hosting: str) -> None:
    async with running(socketwire.Server(cors_allowed_origins="*"), hosting) as url, \
            httpx.AsyncClient(base_url=url) as http:
        opened = await http.get("/socket.io/", params=HANDSHAKE, headers={"Origin": EVIL})
        assert opened.status_code == 200
        assert opened.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in opened.headers

    io = socketwire.Server(cors_allowed_origins=[GOOD], cors_credentials=True)
    async with running(io, hosting) as url, httpx.AsyncClient(base_url=url) as http:
        opened = await http.get("/socket.io/", params=HANDSHAKE, headers={"Origin": GOOD})
        # with credentials the origin is echoed, never "*"
        assert opened.headers["access-control-allow-origin"] == GOOD
        assert opened.headers["access-control-allow-credentials"] == "true"
        refused = await http.get("/socket.io/", params=HANDSHAKE, headers={"Origin": EVIL})
        assert refused.status_code == 403
        assert "access-control-allow-credentials" not in refused.headers


def _sync_hook(request: HttpRequest) -> bool:
    return request.headers.get("x-token") == "letmein" or request.query.get("token") == "q"


async def _async_hook(request: HttpRequest) -> bool:
    return _sync_hook(request)


def _failing_hook(request: HttpRequest) -> bool:
    if request.headers.get("x-token") != "letmein":
        raise RuntimeError("hook broke")
    return True


@pytest.mark.parametrize("hook", [_sync_hook, _async_hook, _failing_hook],
                         ids=["sync", "async", "raising"])
async def test_allow_request_hook(hosting: str, hook: Callable[[HttpRequest], Any]) -> None:
    io = socketwire.Server(allow_request=hook)
    seen = Seen()
    install_basics(io, seen)
    async with running(io, hosting) as url, httpx.AsyncClient(base_url=url) as http:
        refused = await http.get("/socket.io/", params=HANDSHAKE)
        assert refused.status_code == 403
        assert refused.content == FORBIDDEN
        assert refused.headers["content-type"].startswith("application/json")
        status, body = await ws_refusal(url, {})
        assert (status, body) == (403, FORBIDDEN)

        allowed = await http.get("/socket.io/", params=HANDSHAKE, headers={"x-token": "letmein"})
        assert allowed.status_code == 200 and allowed.text.startswith("0{")
        sid = json.loads(allowed.text[1:])["sid"]
        # the hook guards handshakes only: the session's own requests go through
        posted = await http.post("/socket.io/", params={**HANDSHAKE, "sid": sid}, content="40")
        assert posted.text == "ok"
        await seen.wait("connection")
        assert (await ws_open_packet(url, {"x-token": "letmein"}))["sid"]
        if hook is not _failing_hook:
            token_in_query = await http.get("/socket.io/", params={**HANDSHAKE, "token": "q"})
            assert token_in_query.status_code == 200

        # end to end: python-socketio is refused, then let in with the header
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(url, wait_timeout=10)
        await client.connect(url, headers={"x-token": "letmein"}, wait_timeout=10)
        await seen.wait("connection", 2)
        await client.disconnect()


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        (True, "io={sid}; Path=/; HttpOnly; SameSite=Lax"),
        ("sticky", "sticky={sid}; Path=/; HttpOnly; SameSite=Lax"),
        ({"name": "lb", "path": "/app", "httponly": False, "samesite": "Strict", "secure": True},
         "lb={sid}; Path=/app; SameSite=Strict; Secure"),
    ],
    ids=["true", "name", "options"],
)
async def test_sticky_session_cookie(hosting: str, cookie: Any, expected: str) -> None:
    io = socketwire.Server(cookie=cookie)
    async with running(io, hosting) as url, httpx.AsyncClient(base_url=url) as http:
        opened = await http.get("/socket.io/", params=HANDSHAKE)
        sid = json.loads(opened.text[1:])["sid"]
        assert opened.headers.get_list("set-cookie") == [expected.format(sid=sid)]
        # only the handshake sets it
        posted = await http.post("/socket.io/", params={**HANDSHAKE, "sid": sid}, content="40")
        assert posted.text == "ok" and "set-cookie" not in posted.headers


async def test_sticky_session_cookie_on_websocket_handshake(hosting: str) -> None:
    io = socketwire.Server(cookie=True)
    async with running(io, hosting) as url, \
            ws_connect(ws_url(url), open_timeout=10) as ws:
        first = await ws.recv()
        sid = json.loads(first[1:])["sid"]
        assert ws.response is not None
        assert ws.response.headers.get_all("set-cookie") == [
            f"io={sid}; Path=/; HttpOnly; SameSite=Lax"
        ]


@pytest.mark.parametrize("make", [socketwire.Server, EngineServer])
def test_wildcard_with_credentials_is_refused_at_construction(make: Any) -> None:
    """Issue 13: ``"*"`` with credentials used to reflect every Origin together with
    ``Allow-Credentials: true``; it is now a configuration error naming the fix."""
    with pytest.raises(ValueError, match="list the allowed origins"):
        make(cors_allowed_origins="*", cors_credentials=True)


async def test_credentials_never_reflect_an_unlisted_origin(hosting: str) -> None:
    """With credentials the Origin is echoed only when listed, on polling and on the
    preflight; an unlisted one gets 403 and no CORS header at all."""
    io = socketwire.Server(cors_allowed_origins=[GOOD], cors_credentials=True)
    async with running(io, hosting) as url, httpx.AsyncClient(base_url=url) as http:
        for method in ("GET", "OPTIONS"):
            reply = await http.request(method, "/socket.io/", params=HANDSHAKE, headers={
                "Origin": EVIL, "Access-Control-Request-Method": "POST"})
            assert "access-control-allow-origin" not in reply.headers, (method, reply.headers)
            assert "access-control-allow-credentials" not in reply.headers
