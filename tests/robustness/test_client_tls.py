"""R21: socketwire's client verifies the server's TLS certificate by default.

The server is the standalone host over TLS with a fresh self-signed certificate for
127.0.0.1 (a man in the middle's, as far as the client knows). The client, left with its
defaults, must refuse it on every transport before any HTTP request reaches the server
(CVE-2016-10536 was engine.io-client turning verification off by accident); only an
explicit ``ssl_verify=False`` connects, which also shows the server itself works.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import socketwire
from servers import free_port
from socketwire.hosting.http3 import self_signed_certificate
from socketwire.hosting.standalone import serve


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[str, socketwire.Server]]:
    """``https://127.0.0.1:PORT`` served with a self-signed certificate, and its server."""
    cert = self_signed_certificate(["127.0.0.1"])
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.certificate_pem())
    keyfile.write_bytes(cert.private_key_pem())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    io = socketwire.Server()

    def on_connection(sock: socketwire.Socket) -> None:
        sock.on("echo", lambda *args: args)

    io.on("connection", on_connection)

    port = free_port()
    host = await serve(io, "127.0.0.1", port, ssl=context)
    try:
        yield f"https://127.0.0.1:{port}", io
    finally:
        await host.close()


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], ["polling", "websocket"]])
async def test_self_signed_certificate_is_refused_by_default(
    tls_server: tuple[str, socketwire.Server], transports: list[str]
) -> None:
    url, io = tls_server
    client = socketwire.AsyncClient(reconnection=False)
    with pytest.raises(socketwire.ConnectError) as refused:
        await client.connect(url, transports=transports, wait_timeout=10)
    assert "certificate verify failed" in str(refused.value.data), refused.value.data
    assert not client.connected
    assert not io.engine.sessions  # no handshake got through
    await client.disconnect()


async def test_blocking_client_refuses_it_too(tls_server: tuple[str, socketwire.Server]) -> None:
    """The blocking client (its own loop in a thread) has the same default."""
    url, io = tls_server

    def connect() -> str:
        client = socketwire.Client(reconnection=False)
        try:
            client.connect(url, wait_timeout=10)
        except socketwire.ConnectError as exc:
            return str(exc)
        finally:
            client.disconnect()
        return "connected"

    outcome = await asyncio.to_thread(connect)
    assert "certificate verify failed" in outcome, outcome
    assert not io.engine.sessions


async def test_verification_off_only_when_asked(
    tls_server: tuple[str, socketwire.Server]
) -> None:
    """The control: the same server, ``ssl_verify=False``: connected, an ack comes back,
    over polling upgraded to WebSocket."""
    url, io = tls_server
    client = socketwire.AsyncClient(reconnection=False, ssl_verify=False)
    await client.connect(url, wait_timeout=10)
    try:
        assert await client.call("echo", "over tls", timeout=5) == "over tls"
        for _ in range(100):
            if client.transport == "websocket":
                break
            await asyncio.sleep(0.05)
        assert client.transport == "websocket"
    finally:
        await client.disconnect()
