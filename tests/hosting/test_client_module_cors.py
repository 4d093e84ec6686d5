"""The browser client files under ``/socket.io/`` carry CORS headers for allowed origins (an ES
module ``import`` from another origin needs them), and a refused origin is logged once."""

from __future__ import annotations

import logging

import httpx
import pytest

import socketwire
from servers import running

GOOD = "http://good.example"
EVIL = "http://evil.example"
HANDSHAKE = {"EIO": "4", "transport": "polling"}


@pytest.mark.parametrize("name", ["socketwire.esm.js", "socketwire.js"])
async def test_client_files_have_cors_headers_for_allowed_origins(hosting: str,
                                                                  name: str) -> None:
    io = socketwire.Server(cors_allowed_origins=[GOOD], cors_credentials=True)
    async with running(io, hosting) as url, httpx.AsyncClient(base_url=url) as http:
        got = await http.get("/socket.io/" + name, headers={"Origin": GOOD})
        assert got.status_code == 200
        assert "javascript" in got.headers["content-type"]
        assert got.headers["access-control-allow-origin"] == GOOD
        assert got.headers["access-control-allow-credentials"] == "true"
        other = await http.get("/socket.io/" + name, headers={"Origin": EVIL})
        assert "access-control-allow-origin" not in other.headers


async def test_client_files_without_cors_configured(hosting: str) -> None:
    async with running(socketwire.Server(), hosting) as url, httpx.AsyncClient(base_url=url) as h:
        got = await h.get("/socket.io/socketwire.esm.js", headers={"Origin": GOOD})
        assert got.status_code == 200
        assert "access-control-allow-origin" not in got.headers


async def test_refused_origin_is_logged_once(hosting: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="socketwire")
    io = socketwire.Server(cors_allowed_origins=[GOOD])
    async with running(io, hosting) as url, httpx.AsyncClient(base_url=url) as http:
        for _ in range(3):
            refused = await http.get("/socket.io/", params=HANDSHAKE, headers={"Origin": EVIL})
            assert refused.status_code == 403
        assert (await http.get("/socket.io/", params=HANDSHAKE,
                               headers={"Origin": GOOD})).status_code == 200
    records = [r for r in caplog.records if r.name.startswith("socketwire")]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].levelno == logging.WARNING
    assert EVIL in records[0].getMessage() and "cors_allowed_origins" in records[0].getMessage()
