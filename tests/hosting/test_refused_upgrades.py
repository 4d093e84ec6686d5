"""Refused WebSocket upgrades (issue 13 item 9): Node's status and JSON body, and no ERROR log
from the host. Under uvicorn the refusal is a ``websocket.http.response`` denial; its default
WebSocket protocol logged "ASGI callable returned without completing handshake" for each."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

import socketwire
from servers import running

GOOD = "http://good.example"


class _Records(logging.Handler):
    """Every record of socketwire's and uvicorn's loggers. uvicorn's do not propagate to the
    root logger, and its Config replaces their handlers, so caplog alone misses them: call
    :meth:`attach` once the server runs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self.loggers: list[logging.Logger] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def attach(self) -> None:
        for name in ("uvicorn.error", "socketwire"):
            logger = logging.getLogger(name)
            logger.addHandler(self)
            self.loggers.append(logger)


@pytest.fixture
def host_log(caplog: pytest.LogCaptureFixture) -> Iterator[_Records]:
    caplog.set_level(logging.INFO)
    handler = _Records()
    try:
        yield handler
    finally:
        for logger in handler.loggers:
            logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("query", "origin", "status", "code"),
    [
        ("EIO=4&transport=websocket", "http://evil.example", 403, 4),
        ("EIO=4&transport=websocket&sid=unknown", GOOD, 400, 1),
        ("EIO=3&transport=websocket", GOOD, 400, 5),
    ],
)
async def test_refused_upgrade_logs_no_error(
    hosting: str, query: str, origin: str, status: int, code: int,
    host_log: _Records,
) -> None:
    io = socketwire.Server(cors_allowed_origins=[GOOD])
    async with running(io, hosting) as url:
        host_log.attach()
        for _ in range(3):
            with pytest.raises(InvalidStatus) as info:
                await connect(f"ws{url[4:]}/socket.io/?{query}", origin=origin,  # type: ignore[arg-type]
                              proxy=None, open_timeout=5)
            assert info.value.response.status_code == status
            assert f'"code":{code}'.encode() in info.value.response.body
        # a good upgrade still works, and its handshake is not affected by the filter
        async with connect(f"ws{url[4:]}/socket.io/?EIO=4&transport=websocket",
                           origin=GOOD, proxy=None, open_timeout=5) as ws:  # type: ignore[arg-type]
            assert str(await ws.recv()).startswith("0{")
    errors = [r for r in host_log.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_other_apps_incomplete_handshakes_are_still_logged(
    host_log: _Records,
) -> None:
    """The filter only drops the record for upgrades socketwire refused itself."""

    async def other_app(scope: dict[str, object], receive: object, send: object) -> None:
        return None  # a broken app: neither accepts nor refuses

    io = socketwire.Server()
    async with running(io, "asgi", other_app=other_app) as url:
        host_log.attach()
        with pytest.raises(InvalidStatus):
            await connect(f"ws{url[4:]}/elsewhere", proxy=None, open_timeout=5)
    assert any("without completing handshake" in r.getMessage() for r in host_log.records)
