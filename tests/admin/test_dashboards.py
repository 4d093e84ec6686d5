"""Both dashboards in headless Chromium against an instrumented socketwire server.

- The official one (``node_modules/@socket.io/admin-ui/ui/dist``), served on loopback by a second
  small server (another origin, as admin.socket.io would be): it logs in, lists the sockets and
  rooms, and logs in again with its session id after a reload.
- Ours at ``/admin/``: log in, sockets table, rooms, a live event, commands (join, leave,
  disconnect), session re-login, and no command buttons in read-only mode.

Each takes a screenshot (docs/img/admin-official.png, docs/img/admin-dashboard.png, written there
when SOCKETWIRE_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import playwright.async_api as playwright_api
import pytest
import socketio
from admin_support import CREDENTIALS, PASSWORD, USER, WAIT, build_server, user_client

import socketwire
from servers import free_port, running
from socketwire.admin import instrument

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL_UI = ROOT / "node_modules" / "@socket.io" / "admin-ui" / "ui" / "dist"
# screenshots go to docs/img/ only when SOCKETWIRE_UPDATE_SCREENSHOTS=1 (as the chat tests do),
# otherwise to a temporary folder, so a test run leaves the tree clean
IMG = (
    ROOT / "docs" / "img"
    if os.environ.get("SOCKETWIRE_UPDATE_SCREENSHOTS")
    else Path(tempfile.mkdtemp(prefix="socketwire-shots-"))
)
CHROMIUM = os.environ.get("SOCKETWIRE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
MS = int(WAIT * 1000)

pytestmark = pytest.mark.browser


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("needs Chromium")
    async with playwright_api.async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


async def new_page(browser: Any) -> Any:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()

    async def only_loopback(route: Any) -> None:  # the UI's web fonts and icons: offline here
        if route.request.url.startswith("http://127.0.0.1"):
            await route.continue_()
        else:
            await route.abort()

    await page.route("**/*", only_loopback)
    return page


async def wait_until(predicate: Any) -> None:
    """Wait for a server-side condition (a deadlock guard, not a timing assertion)."""
    async with asyncio.timeout(WAIT):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_official_dashboard(browser: Any) -> None:
    ui_server = socketwire.Server(serve_client=False)
    async with running(ui_server, static_files={"/": str(OFFICIAL_UI)}) as ui_url:
        io = build_server()
        io.engine.cors_allowed_origins = [ui_url]  # the UI's origin, with credentials
        io.engine.cors_credentials = True
        inst = instrument(io, auth={"type": "basic", **CREDENTIALS})
        try:
            async with running(io) as url:
                users = [await user_client(url) for _ in range(3)]
                await users[0].call("set-name", "ada", timeout=WAIT)
                sid = users[0].get_sid("/")
                page = await new_page(browser)
                await page.goto(ui_url + "/")
                await page.get_by_label("Server URL").fill(url)
                await page.get_by_label("Username").fill(USER)
                await page.get_by_label("Password").fill(PASSWORD)
                await page.get_by_role("button", name="Connect").click()
                await wait_until(lambda: len(io.namespaces["/admin"].sockets) == 1)
                await page.get_by_label("Password").wait_for(state="hidden", timeout=MS)

                await page.goto(ui_url + "/#/sockets/")
                await page.get_by_text(sid).wait_for(timeout=MS)
                for u in users[1:]:
                    await page.get_by_text(u.get_sid("/")).wait_for(timeout=MS)
                await page.wait_for_timeout(1000)  # let Vuetify's page transition finish
                await page.screenshot(path=str(IMG / "admin-official.png"))

                await page.goto(ui_url + "/#/rooms/")
                row = page.locator("tr", has_text="lobby")
                await row.wait_for(timeout=MS)
                assert "3" in await row.inner_text()  # three members

                # the session event reached the UI: a reload logs in with the session id
                assert await page.evaluate("localStorage.getItem('session_id')")
                await page.reload()
                await page.goto(ui_url + "/#/sockets/")
                await page.get_by_text(sid).wait_for(timeout=MS)
                assert not await page.get_by_label("Password").is_visible()
                for u in users:
                    await u.disconnect()
        finally:
            inst.close()


async def test_official_dashboard_with_chat_command_and_cors_option(browser: Any) -> None:
    """`socketwire chat --admin U:P --cors ORIGIN`, as docs/admin.md says, from the CLI: the
    official dashboard served from another origin logs in and lists the chat's users."""
    ui_server = socketwire.Server(serve_client=False)
    async with running(ui_server, static_files={"/": str(OFFICIAL_UI)}) as ui_url:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "socketwire.cli", "chat", "--port", str(port),
             "--admin", f"{USER}:{PASSWORD}", "--cors", ui_url],
            stdout=subprocess.PIPE, start_new_session=True)
        user = socketio.AsyncClient(reconnection=False)
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), WAIT)
            assert b"listening on" in line
            url = f"http://127.0.0.1:{port}"
            await user.connect(url, auth={"username": "Ada"}, wait_timeout=WAIT)
            sid = user.get_sid("/")
            page = await new_page(browser)
            await page.goto(ui_url + "/")
            await page.get_by_label("Server URL").fill(url)
            await page.get_by_label("Username").fill(USER)
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Connect").click()
            await page.get_by_label("Password").wait_for(state="hidden", timeout=MS)
            await page.goto(ui_url + "/#/sockets/")
            await page.get_by_text(sid).wait_for(timeout=MS)
        finally:
            await user.disconnect()
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
            proc.stdout.close()  # type: ignore[union-attr]


DOCS = (ROOT / "docs" / "admin.md").read_text()
HOSTED = "https://admin.socket.io"


def docs_example() -> str:
    """docs/admin.md's server for the hosted dashboard, as written there."""
    for body in re.findall(r"```python\n(.*?)```", DOCS, re.S):
        if HOSTED in body and "instrument(" in body:
            return str(body)
    raise AssertionError("docs/admin.md has no python example for the hosted dashboard")


async def test_official_dashboard_with_the_docs_example(browser: Any, tmp_path: Path) -> None:
    """docs/admin.md's example run as written (python server.py), with the hosted dashboard's
    origin and port 3000 swapped for the official dashboard served here from another origin
    and a free port: the dashboard logs in with the example's credentials and lists a user."""
    ui_server = socketwire.Server(serve_client=False)
    async with running(ui_server, static_files={"/": str(OFFICIAL_UI)}) as ui_url:
        port = free_port()
        example = docs_example()
        assert "port=3000" in example
        (tmp_path / "server.py").write_text(
            example.replace(HOSTED, ui_url).replace("port=3000", f"port={port}"))
        user_name, password = re.findall(r'"username": "([^"]+)", "password": "([^"]+)"',
                                         example)[0]
        proc = subprocess.Popen([sys.executable, "server.py"], cwd=tmp_path,
                                stdout=subprocess.PIPE, start_new_session=True)
        user = socketio.AsyncClient(reconnection=False)
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), WAIT)
            assert b"listening on" in line
            url = f"http://127.0.0.1:{port}"
            await user.connect(url, wait_timeout=WAIT)
            sid = user.get_sid("/")
            page = await new_page(browser)
            await page.goto(ui_url + "/")
            await page.get_by_label("Server URL").fill(url)
            await page.get_by_label("Username").fill(user_name)
            await page.get_by_label("Password").fill(password)
            await page.get_by_role("button", name="Connect").click()
            await page.get_by_label("Password").wait_for(state="hidden", timeout=MS)
            await page.goto(ui_url + "/#/sockets/")
            await page.get_by_text(sid).wait_for(timeout=MS)
        finally:
            await user.disconnect()
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
            proc.stdout.close()  # type: ignore[union-attr]


async def _login(page: Any, url: str) -> None:
    await page.goto(url + "/admin/")
    await page.locator("#username").wait_for(timeout=MS)
    await page.fill("#username", USER)
    await page.fill("#password", PASSWORD)
    await page.click("#login-btn")
    await page.locator("#app").wait_for(state="visible", timeout=MS)


async def test_our_dashboard(browser: Any, hosting: str) -> None:
    io = build_server()
    inst = instrument(io, auth={"type": "basic", **CREDENTIALS}, stats_interval=0.5)
    try:
        async with running(io, hosting) as url:
            users = [await user_client(url, transports=t)
                     for t in (["websocket"], ["polling"], ["polling", "websocket"])]
            sids = [u.get_sid("/") for u in users]
            page = await new_page(browser)
            # wrong password first: refused, the form says so
            await page.goto(url + "/admin/")
            await page.fill("#username", USER)
            await page.fill("#password", "nope")
            await page.click("#login-btn")
            await page.get_by_text("Invalid credentials").wait_for(timeout=MS)

            await page.fill("#password", PASSWORD)
            await page.click("#login-btn")
            await page.locator("#app").wait_for(state="visible", timeout=MS)
            for sid in sids:
                await page.locator(f"tr[data-id='{sid}']").wait_for(timeout=MS)
            # admin sockets are not users: never in the table
            admin_ids = list(io.namespaces["/admin"].sockets)
            assert await page.locator(f"tr[data-id='{admin_ids[0]}']").count() == 0
            await page.locator("#rooms li", has_text="lobby").wait_for(timeout=MS)
            assert "3" in await page.locator("#rooms li", has_text="lobby").inner_text()

            # a live event shows in the feed; this socket has no name: its id alone says who
            await users[0].call("hello", "from the test", timeout=WAIT)
            await page.locator("#feed li", has_text="from the test").first.wait_for(timeout=MS)
            who = page.locator("#feed li", has_text="from the test").first.locator(".who")
            assert await who.inner_text() == sids[0]
            assert await who.locator(".who-name").count() == 0

            # search
            await page.fill("#search", sids[1])
            await page.wait_for_function(
                "document.querySelectorAll('#sockets tbody tr').length === 1", timeout=MS)
            assert await page.locator(f"tr[data-id='{sids[1]}']").count() == 1
            await page.fill("#search", "")

            # commands: join a room, leave it, disconnect a socket
            row = page.locator(f"tr[data-id='{sids[2]}']")
            await row.locator(".join-form input").fill("vip")
            await row.locator(".join-form button").click()
            await wait_until(lambda: "vip" in io.sockets.sockets[sids[2]].rooms)
            await page.locator(f"tr[data-id='{sids[2]}'] .chip", has_text="vip").wait_for(
                timeout=MS)
            await page.locator(f"tr[data-id='{sids[2]}'] .chip button[data-room='vip']").click()
            await wait_until(lambda: "vip" not in io.sockets.sockets[sids[2]].rooms)
            await page.locator(f"tr[data-id='{sids[1]}'] .disconnect").click()
            await wait_until(lambda: sids[1] not in io.sockets.sockets)
            await page.locator(f"tr[data-id='{sids[1]}']").wait_for(state="detached", timeout=MS)

            # a little traffic, so that the chart has something to show, then the screenshot
            await users[1].disconnect()
            for i in range(20):
                await users[0].emit("hello", {"n": i})
                await users[2].emit("set-name", f"user-{i}")
            await page.locator("#feed li", has_text="set-name").first.wait_for(timeout=MS)
            # the feed names a socket by its latest socket.data, for its earlier events too
            await playwright_api.expect(page.locator(
                f"#feed li[data-id='{sids[2]}'] .who-name").last).to_have_text(
                    "user-19", timeout=MS)
            await page.wait_for_function(
                "document.querySelector('#st-clients').textContent !== '–'", timeout=MS)
            if hosting == "standalone":
                await page.screenshot(path=str(IMG / "admin-dashboard.png"), full_page=True)

            # reload: back in with the saved session id, no password asked
            await page.reload()
            await page.locator("#app").wait_for(state="visible", timeout=MS)
            assert await page.locator("#login").is_hidden()
            for u in users:
                await u.disconnect()
    finally:
        inst.close()


async def chat_user(url: str, name: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, auth={"username": name}, transports=["websocket"],
                         wait_timeout=WAIT)
    return client


@pytest.mark.parametrize("width", [1440, 390])
async def test_our_dashboard_feed_names_the_chat_users(browser: Any, width: int) -> None:
    """The events feed says who, by the name in socket.data (the chat's userName), for every
    kind of event, with the socket id beside it; also for a socket that is gone (its
    disconnect and the room_left events that follow it)."""
    from socketwire.chat import create_server

    io = create_server()
    inst = instrument(io, auth={"type": "basic", **CREDENTIALS})
    ada = grace = None
    try:
        async with running(io) as url:
            ada = await chat_user(url, "Ada Lovelace")  # before the dashboard: all_sockets
            context = await browser.new_context(viewport={"width": width, "height": 900})
            page = await context.new_page()
            await _login(page, url)
            ada_sid = ada.get_sid("/")
            await page.locator(f"tr[data-id='{ada_sid}']").wait_for(timeout=MS)
            grace = await chat_user(url, "Grace Hopper")  # after: socket_connected
            grace_sid = grace.get_sid("/")
            assert (await grace.call("join-room", "python", timeout=WAIT))["ok"]
            assert (await ada.call("new-message", "hello from Ada", timeout=WAIT))["ok"]
            await grace.disconnect()
            grace = None

            names = {ada_sid: "Ada Lovelace", grace_sid: "Grace Hopper"}
            feed = page.locator("#feed")
            wanted = [("connection", grace_sid), ("room_joined", grace_sid),
                      ("event_received", grace_sid), ("event_received", ada_sid),
                      ("event_sent", ada_sid), ("event_sent", grace_sid),
                      ("disconnection", grace_sid), ("room_left", grace_sid)]
            for kind, sid in wanted:
                row = feed.locator(f"li[data-kind='{kind}'][data-id='{sid}']").first
                await row.wait_for(timeout=MS)
                who = row.locator(".who")
                assert await who.locator(".who-name").inner_text() == names[sid], (kind, sid)
                assert await who.locator(".who-id").inner_text() == sid  # the id stays
                assert await who.get_attribute("title") == f"{names[sid]}: socket {sid}"
                await expect_visible(who.locator(".who-name"))
            # every row of the feed names its socket; the filter finds them by name
            for row in await feed.locator("li").all():
                sid = await row.get_attribute("data-id")
                assert await row.locator(".who-name").inner_text() == names[sid]
            # her connect row has no text but her name and id: the filter matches the name
            await page.fill("#feed-filter", "grace hop")
            await feed.locator(f"li[data-kind='connection'][data-id='{grace_sid}']").wait_for(
                timeout=MS)
            # and leaves out Ada's own message (what she sent names no one)
            await feed.locator(f"li[data-kind='event_received'][data-id='{ada_sid}']",
                               has_text="hello from Ada").wait_for(state="detached", timeout=MS)
            await page.fill("#feed-filter", "")
            await feed.locator(f"li[data-kind='event_received'][data-id='{ada_sid}']",
                               has_text="hello from Ada").wait_for(timeout=MS)
            # no sideways scrolling, on a phone either
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            await page.locator(".feed-card").screenshot(path=str(IMG / f"admin-feed-{width}.png"))
            await context.close()
    finally:
        inst.close()
        for client in (ada, grace):
            if client is not None:
                await client.disconnect()


async def expect_visible(locator: Any) -> None:
    """Shown on the screen, not cut to nothing (a name can be shortened, not hidden)."""
    box = await locator.bounding_box()
    assert box is not None and box["width"] > 20 and box["height"] > 5, box


async def test_our_dashboard_read_only(browser: Any) -> None:
    io = build_server()
    inst = instrument(io, auth={"type": "basic", **CREDENTIALS}, read_only=True)
    try:
        async with running(io) as url:
            user = await user_client(url)
            sid = user.get_sid("/")
            page = await new_page(browser)
            await _login(page, url)
            row = page.locator(f"tr[data-id='{sid}']")
            await row.wait_for(timeout=MS)
            await page.locator("#ro-badge").wait_for(state="visible", timeout=MS)
            assert await row.locator(".disconnect").is_hidden()
            assert await row.locator(".join-form").is_hidden()
            await user.disconnect()
    finally:
        inst.close()
