"""The standalone host's HTTP layer against raw TCP peers (issue 13 items 1 and 5):
backpressure on pipelined requests whose answers are never read, and Node-like header and
keep-alive timeouts, without cutting requests in progress."""

from __future__ import annotations

import asyncio
import contextlib
import socket as pysocket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import socketwire
from socketwire.hosting import http1
from socketwire.hosting.standalone import StandaloneServer, serve

FILE_SIZE = 5000


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    (tmp_path / "blob.txt").write_bytes(b"x" * FILE_SIZE)
    return tmp_path


async def _serve(static: Path | None = None, **options: Any) -> StandaloneServer:
    io = socketwire.Server(ping_interval=2.0, ping_timeout=5.0)
    return await serve(io, "127.0.0.1", 0,
                       {"/static": str(static)} if static is not None else None, **options)


async def _connect(port: int, rcvbuf: int | None = None
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = pysocket.socket()
    if rcvbuf is not None:
        sock.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await asyncio.open_connection(sock=sock, limit=2**20)


Connect = Callable[..., Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Opens raw TCP peers (``_connect``'s arguments); each is closed after the test."""
    writers: list[asyncio.StreamWriter] = []

    async def opener(port: int, rcvbuf: int | None = None
                     ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await _connect(port, rcvbuf)
        writers.append(writer)
        return reader, writer

    yield opener
    for writer in writers:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _http_conns(server: StandaloneServer) -> list[Any]:
    return [c for c in server.connections if isinstance(c, http1.HttpProtocol)]


async def test_pipelined_requests_never_read_are_bounded(
    connect: Connect, static_dir: Path, servers: list[StandaloneServer]
) -> None:
    """20,000 pipelined GETs whose answers are not read: the server stops reading, holds a
    bounded amount (not 20,000 answers), and answers every request once the client reads."""
    server = await _serve(static_dir)
    servers.append(server)
    reader, writer = await connect(server.port, rcvbuf=4096)
    n = 20_000
    request = b"GET /static/blob.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    writer.write(request * n)  # not drained: the client's own transport holds the rest
    await asyncio.sleep(1.0)
    [conn] = _http_conns(server)
    held = conn.transport.get_write_buffer_size()
    # one read chunk's requests (at most 256 KiB of them) and their answers
    assert held < http1.HTTP_HIGH_WATER + 2 * FILE_SIZE, held
    assert len(conn.queue) < 256 * 1024 // len(request) + http1.MAX_PIPELINED
    assert conn.read_paused
    # the client reads: every request is answered, in order
    head = b"HTTP/1.1 200 OK\r\n"
    seen = 0
    body = b""
    while seen < n:
        chunk = await asyncio.wait_for(reader.read(2**20), 20)
        assert chunk, f"connection closed after {seen} answers"
        body += chunk
        seen += body.count(head)
        body = body[body.rfind(head) + 1:] if head in body else body[-len(head):]
    assert seen == n
    writer.close()


async def test_header_timeout_answers_408_and_closes(
    connect: Connect, servers: list[StandaloneServer]
) -> None:
    server = await _serve(http_header_timeout=0.5, http_keepalive_timeout=None)
    servers.append(server)
    silent = await connect(server.port)
    partial = await connect(server.port)
    partial[1].write(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
    loop = asyncio.get_running_loop()
    started = loop.time()
    for reader, _ in (silent, partial):
        answer = await asyncio.wait_for(reader.read(), 5)  # until the server closes
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b"Connection: close" in answer
    assert 0.4 < loop.time() - started < 2.0
    assert not server.connections


async def test_idle_keepalive_connection_is_closed(
    connect: Connect, servers: list[StandaloneServer]
) -> None:
    server = await _serve(http_keepalive_timeout=0.3)
    servers.append(server)
    reader, writer = await connect(server.port)
    writer.write(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert first.startswith(b"HTTP/1.1 404 ") and b"keep-alive" in first
    await reader.readexactly(len(b"Not Found"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
    assert 0.2 < loop.time() - started < 2.0


async def test_timeouts_do_not_cut_requests_in_progress(
    connect: Connect, servers: list[StandaloneServer]
) -> None:
    """A long-poll that outlasts both timeouts is answered (by the 2 s ping), and the same
    keep-alive connection then serves the next request."""
    server = await _serve(http_header_timeout=0.5, http_keepalive_timeout=0.5)
    servers.append(server)
    reader, writer = await connect(server.port)
    writer.write(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    opened = await reader.readexactly(length)
    sid = opened.split(b'"sid":"')[1].split(b'"')[0].decode()
    writer.write(f"GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
                 "Host: x\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    assert await reader.readexactly(length) == b"2"  # the ping, after 2 s > both timeouts
    writer.write(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    again = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert again.startswith(b"HTTP/1.1 404 ")
    writer.close()


async def test_node_like_defaults(servers: list[StandaloneServer]) -> None:
    server = await _serve()
    servers.append(server)
    assert (server.http_header_timeout, server.http_keepalive_timeout) == (60.0, 5.0)
