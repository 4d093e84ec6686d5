"""``socketwire chat --workers 2`` in headless Chromium: two people whose browsers are connected
to different workers chat in public, privately and in a room, over polling only and over
WebSocket only. Which worker a browser talks to is read from the session id of the Engine.IO
handshake it received (its first two characters name the worker).

The screenshot of the run (both users' pages) goes to a temporary folder, or to ``docs/img/``
with ``SOCKETWIRE_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from workers_support import PYTHON, ROOT, WorkersServer

from socketwire.hosting.workers import slot_of

sys.path.insert(0, str(ROOT / "tests" / "chat"))
from test_chat_browser import (
    DESKTOP,
    User,
    browser,
    close_user,
    expect,
    shots_folder,
)

__all__ = ["browser"]

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

CLI = [PYTHON, "-c", "import sys; from socketwire.cli import main; sys.exit(main())", "chat"]


@pytest.fixture
def chat() -> Iterator[WorkersServer]:  # a fresh server per test: no users left from another
    server = WorkersServer.start(CLI, 2)
    try:
        yield server
    finally:
        assert server.stop() == 0
        assert not server.errors(), server.log()


def watch_engine(page: Any, sids: list[str]) -> None:
    """Collect the session ids of the Engine.IO handshakes this page receives."""

    def open_packet(text: str) -> None:
        if text.startswith("0{"):
            sids.append(json.loads(text[1:])["sid"])

    async def on_response(response: Any) -> None:
        if "transport=polling" in response.url and "sid=" not in response.url:
            try:
                open_packet(await response.text())
            except Exception:  # a navigation may drop the body: the next one counts
                pass

    page.on("response", on_response)
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: open_packet(payload if isinstance(payload, str) else "")))


async def open_on_worker(browser: Any, url: str, name: str, transport: str,
                         avoid: int | None) -> tuple[User, int]:
    """Open the chat as ``name`` until the browser lands on a worker other than ``avoid``."""
    for _ in range(20):
        context = await browser.new_context(viewport=DESKTOP, color_scheme="light",
                                            locale="en-US")
        user = User(await context.new_page(), name)
        sids: list[str] = []
        watch_engine(user.page, sids)
        await user.page.goto(f"{url}/?transports={transport}")
        await user.page.fill("#login-name", name)
        await user.page.click("#login-button")
        await expect(user.page.locator("#users .me-user")).to_contain_text(name)
        slot = slot_of(sids[-1]) if sids else None
        if slot is not None and slot != avoid:
            return user, slot
        await close_user(user)
        await asyncio.sleep(1.0)  # its disconnect reaches every worker before the next one
    raise AssertionError(f"{name}: never landed on a worker other than {avoid}")


@pytest_asyncio.fixture(loop_scope="module")
async def people(browser: Any, chat: WorkersServer,
                 request: pytest.FixtureRequest) -> AsyncIterator[tuple[User, User]]:
    transport = request.param
    ada, ada_slot = await open_on_worker(browser, chat.url, "Ada", transport, None)
    grace, grace_slot = await open_on_worker(browser, chat.url, "Grace", transport, ada_slot)
    assert ada_slot != grace_slot
    try:
        yield ada, grace
    finally:
        await close_user(ada)
        await close_user(grace)


@pytest.mark.parametrize("people", ["polling", "websocket"], indirect=True)
async def test_two_users_on_two_workers_chat(people: tuple[User, User], tmp_path: Path,
                                             request: pytest.FixtureRequest) -> None:
    ada, grace = people
    # who is online: the other worker's user too (a page closed while it had no poll pending,
    # when a browser had landed on the wrong worker, may stay listed until its ping timeout)
    await expect(ada.page.locator(f'#users .user[data-id="{await grace.sid()}"]')).to_have_count(1)
    await expect(grace.page.locator(f'#users .user[data-id="{await ada.sid()}"]')).to_have_count(1)
    await expect(ada.page.locator("#users")).to_contain_text("Grace")
    await expect(grace.page.locator("#users")).to_contain_text("Ada")

    # public
    await ada.send("Hello from Ada")
    own = ada.conv("public").locator(".msg.own").last
    await expect(own.locator('.tick[data-state="delivered"]')).to_have_count(1)
    theirs = grace.conv("public").locator(".msg:not(.own)").last
    await expect(theirs.locator(".text")).to_have_text("Hello from Ada")
    await grace.send("Hi Ada, Grace here")
    await expect(ada.conv("public").locator(".msg:not(.own) .text").last).to_have_text(
        "Hi Ada, Grace here")

    # private, to a user of the other worker
    ada_id = await ada.sid()
    grace_id = await grace.sid()
    await grace.page.click(f'#users .user[data-id="{ada_id}"]')
    await grace.send("Just between us")
    dm = grace.conv(f"dm:{ada_id}").locator(".msg.own").last
    await expect(dm.locator('.tick[data-state="delivered"]')).to_have_count(1)
    dm_button = ada.page.locator(f'.conv[data-conv="dm:{grace_id}"]')
    await expect(dm_button.locator(".badge")).to_have_text("1")
    await dm_button.click()
    await expect(ada.conv(f"dm:{grace_id}").locator(".msg .text")).to_have_text(
        "Just between us")

    # a room with members on both workers
    for user in (ada, grace):
        await user.page.fill("#room-name", "python")
        await user.page.press("#room-name", "Enter")
        await expect(user.page.locator("#conv-title")).to_have_text("# python")
    await expect(ada.conv("room:python").locator(".notice-join").last).to_have_text(
        "Grace joined python")
    await expect(grace.page.locator("#conv-subtitle")).to_contain_text("2 members")
    await grace.send("Anyone here likes asyncio?")
    await expect(ada.conv("room:python").locator(".msg .text")).to_have_text(
        "Anyone here likes asyncio?")
    await ada.send("Me, from the other worker")
    await expect(grace.conv("room:python").locator(".msg:not(.own) .text").last).to_have_text(
        "Me, from the other worker")

    shots = shots_folder(tmp_path)
    kind = request.node.callspec.params["people"]
    await ada.page.screenshot(path=str(shots / f"chat-workers-{kind}-ada.png"))
    await grace.page.screenshot(path=str(shots / f"chat-workers-{kind}-grace.png"))
    assert ada.errors == [] and grace.errors == []
