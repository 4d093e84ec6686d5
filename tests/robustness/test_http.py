"""HTTP-level rules: engine.io's error replies (R5), polling overlap and content type (R6),
maxHttpBufferSize on polling (R10), header abuse (R12), origins (R15), session ids (R16) and
CORS headers (R17)."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from rawpeer import NodeReference, Peer, error_body
from support import fresh_handshake_works, make_server, polling_closed, polling_join

from servers import running
from socketwire.engine.server import new_sid

POLLING = "EIO=4&transport=polling"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


# --------------------------------------------------------------------------- R5

# (method, query, expected engine.io error code); a "{sid}" is a live polling sid
ERROR_CASES: list[tuple[str, str, int]] = [
    ("GET", "transport=polling", 5),
    ("GET", "EIO=abc&transport=polling", 5),
    ("GET", "EIO=3&transport=polling", 5),
    ("GET", "EIO=5&transport=polling", 5),
    ("GET", "EIO=4", 0),
    ("GET", "EIO=4&transport=abc", 0),
    ("GET", "EIO=4&transport=__proto__", 0),
    ("GET", "EIO=4&transport=constructor", 0),
    ("GET", "EIO=4&transport=toString", 0),
    ("GET", "EIO=4&transport=hasOwnProperty", 0),
    ("GET", "EIO=4&transport=webtransport", 0),
    ("POST", POLLING, 2),
    ("PUT", POLLING, 2),
    ("DELETE", POLLING, 2),
    ("GET", POLLING + "&sid=unknown", 1),
    ("GET", POLLING + "&sid=__proto__", 1),
    ("POST", POLLING + "&sid=constructor", 1),
    ("GET", POLLING + "&sid=toString", 1),
    ("GET", POLLING + "&sid=valueOf", 1),
    ("GET", "EIO=4&transport=websocket", 3),
    ("GET", "EIO=4&transport=websocket&sid={sid}", 3),
]


@pytest.mark.parametrize("target", ["standalone", "asgi",
                                    pytest.param("node", marks=pytest.mark.node)])
async def test_error_replies_match_engine_io(
    target: str, http: aiohttp.ClientSession, request: pytest.FixtureRequest
) -> None:
    """R5: status, content type and JSON body as engine.io, checked against Node too."""
    async def check(peer: Peer) -> list[str]:
        wrong = []
        sid, _ = await peer.handshake()
        for method, query, code in ERROR_CASES:
            reply = await peer.request(method, query.format(sid=sid), body=b"" if
                                       method != "GET" else None)
            got = (reply.status, reply.headers.get("content-type"), reply.body)
            want = (400, "application/json",
                    f'{{"code":{code},"message":"{error_body(code)["message"]}"}}'.encode())
            if got != want:
                wrong.append(f"{method} {query}: {got}")
        return wrong

    if target == "node":
        ref: NodeReference = request.getfixturevalue("node_reference")
        wrong = await check(Peer(f"http://127.0.0.1:{ref.socket_port}/socket.io/", http))
    else:
        io, _ = make_server()
        async with running(io, target) as url:
            wrong = await check(Peer(url + "/socket.io/", http))
    assert not wrong, "\n".join(wrong)


# --------------------------------------------------------------------------- R6


async def test_overlapping_get_closes_the_session(hosting: str,
                                                  http: aiohttp.ClientSession) -> None:
    io, _ = make_server()
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        sid = await polling_join(peer)
        first = asyncio.ensure_future(peer.poll(sid))
        await asyncio.sleep(0.1)
        second = await peer.poll(sid)
        assert second.status == 400 and second.json() == error_body(3)
        reply = await first
        assert (reply.status, reply.text) == (200, "1")
        await polling_closed(peer, sid)
        await fresh_handshake_works(peer)


async def _stalled_post(port: int, sid: str) -> asyncio.StreamWriter:
    """Start a POST whose body never finishes (the server is still reading it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /socket.io/?{POLLING}&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: text/plain;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\n42[\r\n".encode()
    )
    await writer.drain()
    return writer


async def test_overlapping_post_closes_the_session(
    hosting: str, http: aiohttp.ClientSession
) -> None:
    io, _ = make_server()
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        sid = await polling_join(peer)
        writer = await _stalled_post(int(url.rsplit(":", 1)[1]), sid)
        try:
            await asyncio.sleep(0.2)
            second = await peer.push(sid, '42["echo",1]')
            assert second.status == 400 and second.json() == error_body(3)
            await polling_closed(peer, sid)
        finally:
            writer.close()
        await fresh_handshake_works(peer)


async def test_binary_post_is_refused_and_closes(hosting: str,
                                                 http: aiohttp.ClientSession) -> None:
    io, _ = make_server()
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        sid = await polling_join(peer)
        reply = await peer.push(sid, b"\x04\x01\x02",
                                headers={"Content-Type": "application/octet-stream"})
        assert reply.status == 400 and reply.json() == error_body(3)
        await polling_closed(peer, sid)
        await fresh_handshake_works(peer)


# -------------------------------------------------------------------------- R10


async def _chunks(data: bytes, size: int = 300) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_oversized_post_gets_413_and_session_survives(
    hosting: str, framing: str, http: aiohttp.ClientSession
) -> None:
    """R10: a POST over maxHttpBufferSize gets 413; as in Node the session stays usable."""
    io, _ = make_server(max_http_buffer_size=1000)
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        sid = await polling_join(peer)
        big = ('42["echo","' + "x" * 5000 + '"]').encode()
        body: Any = big if framing == "content-length" else _chunks(big)
        async with http.post(f"{peer.base}?{POLLING}&sid={sid}", data=body,
                             headers={"Content-Type": "text/plain;charset=UTF-8"}) as resp:
            assert resp.status == 413
        assert (await peer.push(sid, '42["echo","small"]')).text == "ok"
        reply = await peer.poll(sid)
        assert (reply.status, reply.text) == (200, '42["echo","small"]')


# -------------------------------------------------------------------------- R12


async def _raw_request(port: int, head: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    try:
        writer.write(head)
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    try:
        return await asyncio.wait_for(reader.read(65536), 5)
    except (ConnectionError, OSError):
        return b""
    finally:
        writer.close()


HEADER_ABUSE = {
    "10000 headers": b"".join(b"X-H%d: v\r\n" % i for i in range(10000)),
    "1 MiB header": b"X-Big: " + b"a" * (1 << 20) + b"\r\n",
    "64 KiB of spaces in Sec-WebSocket-Protocol": b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: a"
    + b" " * 65536 + b"b\r\n",
    "64 KiB of commas in Sec-WebSocket-Extensions": b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: "
    + b"," * 65536 + b"\r\n",
}


@pytest.mark.parametrize("case", list(HEADER_ABUSE))
async def test_header_abuse_is_refused(hosting: str, case: str,
                                       http: aiohttp.ClientSession) -> None:
    """R12: answered 431 or 400 (or the connection dropped), never a session; the server
    keeps serving."""
    io, _ = make_server()
    async with running(io, hosting) as url:
        port = int(url.rsplit(":", 1)[1])
        head = (b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
 + HEADER_ABUSE[case] + b"\r\n")
        answer = await _raw_request(port, head)
        status = answer.split(b"\r\n", 1)[0]
        assert answer == b"" or re.match(rb"HTTP/1\.1 (400|431) ", status), status
        assert not io.engine.sessions
        await fresh_handshake_works(Peer(url + "/socket.io/", http))


# -------------------------------------------------------------------------- R15

BAD_ORIGINS = ["http://evil.example", "null", "http://good.example.evil",
               "https://good.example", "http://good.example:8080", "http://sub.good.example"]


async def test_origin_allowlist_refuses_before_a_session(hosting: str,
                                                         http: aiohttp.ClientSession) -> None:
    io, _ = make_server(cors_allowed_origins=["http://good.example"])
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        for origin in BAD_ORIGINS:
            reply = await peer.request("GET", POLLING, headers={"Origin": origin})
            assert reply.status == 403, origin
            assert reply.json() == error_body(4), origin
            assert "access-control-allow-origin" not in reply.headers, origin
            status = await peer.ws_refused("EIO=4&transport=websocket",
                                           origin=origin)  # type: ignore[arg-type]
            assert status in (400, 403), origin
            assert not io.engine.sessions, origin
        good = await peer.request("GET", POLLING, headers={"Origin": "http://good.example"})
        assert good.status == 200
        assert good.headers["access-control-allow-origin"] == "http://good.example"
        ws = await peer.ws(origin="http://good.example")  # type: ignore[arg-type]
        await ws.open_info()
        no_origin = await peer.get(POLLING)  # non-browser clients send no Origin
        assert no_origin.status == 200
        await peer.close()


# -------------------------------------------------------------------------- R16


async def test_session_ids_are_unguessable(hosting: str, http: aiohttp.ClientSession) -> None:
    ids = {new_sid() for _ in range(100_000)}
    assert len(ids) == 100_000
    for sid in list(ids)[:1000]:
        assert re.fullmatch(r"[A-Za-z0-9_-]{20}", sid)
        assert len(base64.urlsafe_b64decode(sid)) == 15  # 120 random bits
    io, _ = make_server()
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        seen = set()
        for _ in range(50):
            sid, _ = await peer.handshake()
            seen.add(sid)
            assert re.fullmatch(r"[A-Za-z0-9_-]{20}", sid)
        assert len(seen) == 50
        # a guessed sid (one character changed) and an expired one are unknown
        guessed = sid[:-1] + ("A" if sid[-1] != "A" else "B")
        reply = await peer.poll(guessed)
        assert (reply.status, reply.json()) == (400, error_body(1))
        assert (await peer.push(sid, "1")).text == "ok"
        reply = await peer.poll(sid)
        assert (reply.status, reply.json()) == (400, error_body(1))


# -------------------------------------------------------------------------- R17


@pytest.mark.parametrize("config", ["default", "star", "list+credentials"])
async def test_cors_headers(hosting: str, config: str, http: aiohttp.ClientSession) -> None:
    """R17: never ``*`` with credentials, never a reflected non-allowlisted Origin; no CORS
    headers at all by default."""
    options: dict[str, Any] = {
        "default": {},
        "star": {"cors_allowed_origins": "*"},
        "list+credentials": {"cors_allowed_origins": ["http://good.example"],
                             "cors_credentials": True},
    }[config]
    io, _ = make_server(**options)
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        for origin in ("http://good.example", "http://evil.example"):
            for method in ("GET", "OPTIONS"):
                reply = await peer.request(method, POLLING, headers={
                    "Origin": origin, "Access-Control-Request-Method": "POST"})
                acao = reply.headers.get("access-control-allow-origin")
                creds = reply.headers.get("access-control-allow-credentials")
                where = f"{config} {method} {origin}: {reply.status} {acao} {creds}"
                assert not (acao == "*" and creds == "true"), where
                if config == "default":
                    assert acao is None and creds is None, where
                if config == "star":
                    assert acao == "*" and creds is None, where
                if config == "list+credentials":
                    if origin == "http://evil.example":
                        assert acao is None and creds is None, where
                        assert reply.status in (403, 204) if method == "OPTIONS" \
                            else reply.status == 403, where
                    else:
                        assert (acao, creds) == (origin, "true"), where
                if acao not in (None, "*"):
                    assert acao == origin and "origin" in reply.headers.get("vary", "").lower()
