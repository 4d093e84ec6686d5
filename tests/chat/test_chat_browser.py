"""The chat page in headless Chromium: two users chatting in public, privately and in a room.

The page is served by the chat app itself (``socketwire.chat``) and uses the browser client the
server serves. ``?transports=`` on the page URL picks the transports (none: polling, then the
upgrade to WebSocket). The screenshot test writes ``chat-desktop.png`` and ``chat-phone.png`` to
a temporary folder, or to ``docs/img/`` when ``SOCKETWIRE_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import playwright.async_api as playwright_api
import pytest
import pytest_asyncio

from servers import free_port, running
from socketwire.admin import instrument
from socketwire.chat import STATIC_DIR, create_server

expect = playwright_api.expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SOCKETWIRE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000  # generous: only reached when something is wrong
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TRANSPORTS = {"polling": "polling", "websocket": "websocket", "upgrade": None}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
LONG_NAME = "Bartholomew Montgomery-Smythe"  # 29 characters, under the 32 allowed
LONG_ROOM = "the-very-long-room-name-for-people-who-like-asyncio-and-websocke"  # 64, the most


def shots_folder(tmp_path: Path) -> Path:
    """docs/img/ when SOCKETWIRE_UPDATE_SCREENSHOTS=1, else a temporary folder."""
    shots = ROOT / "docs" / "img" if os.environ.get("SOCKETWIRE_UPDATE_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    return shots

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}")
    expect.set_options(timeout=WAIT_MS)
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def chat_url() -> AsyncIterator[str]:
    async with running(create_server(), "standalone", static_files={"/": STATIC_DIR}) as url:
        yield url


class User:
    """One person in their own browser context."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.name = name
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def conv(self, key: str) -> Any:
        """The message list of a conversation ("public", "room:NAME", "dm:ID")."""
        return self.page.locator(f'.message-list[data-conv="{key}"]')

    async def send(self, text: str) -> None:
        await self.page.fill("#composer-input", text)
        await self.page.press("#composer-input", "Enter")

    async def sid(self) -> str:
        return str(await self.page.evaluate(
            "document.querySelector('#users .me-user').dataset.id"))

    async def expect_own_presence(self, conn: str, words: str) -> None:
        """The status line says `words` and your own row in the people list agrees: its dot
        has the status dot's colour (green only when online) and its hover text the words."""
        await expect(self.page.locator("#status")).to_have_text(words)
        await expect(self.page.locator("#status")).to_have_attribute("data-state", conn)
        mine = self.page.locator("#users .me-user")
        await expect(mine.locator(".presence")).to_have_attribute("data-state", conn)
        await expect(mine).to_have_attribute("title", f"You ({words})")
        colours = await self.page.evaluate("""() => ({
            own: getComputedStyle(document.querySelector('#users .me-user .presence'))
                .backgroundColor,
            status: getComputedStyle(document.querySelector('#status'), '::before')
                .backgroundColor,
            ok: getComputedStyle(document.documentElement).getPropertyValue('--ok').trim(),
        })""")
        assert colours["own"] == colours["status"], colours
        green = await self.page.evaluate("""(ok) => {
            const probe = document.createElement('span');
            probe.style.backgroundColor = ok;
            document.body.append(probe);
            const colour = getComputedStyle(probe).backgroundColor;
            probe.remove();
            return colour;
        }""", colours["ok"])
        assert (colours["own"] == green) == (conn == "online"), (colours, green)

    async def expect_people(self, live: bool, others: int) -> None:
        """The people list's heading and the other people's dots: "Online" and green while
        connected; "Last seen online" and grey (the page cannot know) while not."""
        heading = self.page.locator("#users-title")
        await expect(heading).to_have_text(
            f"{'Online' if live else 'Last seen online'} {others + 1}")
        dots = self.page.locator("#users .user:not(.me-user) .presence")
        await expect(dots).to_have_count(others)
        for i in range(others):
            await expect(dots.nth(i)).to_have_attribute("data-state",
                                                        "online" if live else "stale")
        colours = await self.page.evaluate("""() => {
            const probe = document.createElement('span');
            probe.style.backgroundColor = 'var(--ok)';
            document.body.append(probe);
            const green = getComputedStyle(probe).backgroundColor;
            probe.remove();
            return {green, dots: [...document.querySelectorAll(
                '#users .user:not(.me-user) .presence')].map(
                (dot) => getComputedStyle(dot).backgroundColor)};
        }""")
        assert all((dot == colours["green"]) == live for dot in colours["dots"]), colours


async def open_user(browser: Any, url: str, name: str, transport: str | None = None,
                    viewport: dict[str, int] = DESKTOP, phone: bool | None = None) -> User:
    if phone is None:
        phone = viewport == PHONE
    context = await browser.new_context(
        viewport=viewport, is_mobile=phone, has_touch=phone,
        device_scale_factor=2 if phone else 1, color_scheme="light", locale="en-US",
    )
    user = User(await context.new_page(), name)
    await user.page.goto(url + "/" + (f"?transports={transport}" if transport else ""))
    await user.page.fill("#login-name", name)
    await user.page.click("#login-button")
    await expect(user.page.locator("#app")).to_be_visible()
    await expect(user.page.locator("#users .me-user")).to_contain_text(name)
    return user


async def close_user(user: User) -> None:
    await user.page.context.close()


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_two_users_chat(browser: Any, chat_url: str, transport: str) -> None:
    ada = await open_user(browser, chat_url, "Ada", TRANSPORTS[transport])
    grace = await open_user(browser, chat_url, "Grace", TRANSPORTS[transport])
    try:
        # who is online, and the "joined" notice
        await expect(ada.page.locator("#users .user")).to_have_count(2)
        await expect(ada.page.locator("#users")).to_contain_text("Grace")
        await expect(ada.conv("public").locator(".notice-join")).to_have_text("Grace joined")
        await expect(grace.page.locator("#user-count")).to_have_text("2")

        # public message, with the delivery tick once the server acked
        await ada.send("Hello from Ada")
        own = ada.conv("public").locator(".msg.own").last
        await expect(own.locator(".text")).to_have_text("Hello from Ada")
        await expect(own.locator('.tick[data-state="delivered"]')).to_have_count(1)
        theirs = grace.conv("public").locator(".msg:not(.own)").last
        await expect(theirs.locator(".text")).to_have_text("Hello from Ada")
        await expect(theirs.locator(".author")).to_have_text("Ada")

        # private message: Grace picks Ada in the list of people
        ada_id = await ada.sid()
        await grace.page.click(f'#users .user[data-id="{ada_id}"]')
        await expect(grace.page.locator("#conv-title")).to_have_text("Ada")
        await grace.send("Just between us")
        dm = grace.conv(f"dm:{ada_id}").locator(".msg.own").last
        await expect(dm.locator('.tick[data-state="delivered"]')).to_have_count(1)
        grace_id = await grace.sid()
        dm_button = ada.page.locator(f'.conv[data-conv="dm:{grace_id}"]')
        await expect(dm_button.locator(".badge")).to_have_text("1")
        await dm_button.click()
        await expect(ada.page.locator("#conv-title")).to_have_text("Grace")
        await expect(ada.conv(f"dm:{grace_id}").locator(".msg .text")).to_have_text(
            "Just between us")
        await expect(ada.conv("public").locator(".msg .text", has_text="Just between us")
                     ).to_have_count(0)

        # a room: both join, talk, then Grace leaves it
        for user in (ada, grace):
            await user.page.fill("#room-name", "python")
            await user.page.press("#room-name", "Enter")
            await expect(user.page.locator("#conv-title")).to_have_text("# python")
        await expect(ada.conv("room:python").locator(".notice-join").last).to_have_text(
            "Grace joined python")
        await expect(ada.page.locator("#conv-subtitle")).to_contain_text("2 members")
        await grace.send("Anyone here likes asyncio?")
        await expect(grace.conv("room:python").locator('.tick[data-state="delivered"]')
                     ).to_have_count(1)
        await expect(ada.conv("room:python").locator(".msg .text")).to_have_text(
            "Anyone here likes asyncio?")
        await grace.page.click("#leave-button")
        await expect(grace.page.locator('.conv[data-conv="room:python"]')).to_have_count(0)
        await expect(grace.page.locator("#conv-title")).to_have_text("Everyone")
        await expect(ada.conv("room:python").locator(".notice-leave").last).to_have_text(
            "Grace left python")
        await expect(ada.page.locator("#conv-subtitle")).to_contain_text("1 member")

        # Grace leaves the chat
        await close_user(grace)
        await expect(ada.conv("public").locator(".notice-leave").last).to_have_text("Grace left")
        await expect(ada.page.locator("#users .user")).to_have_count(1)
        await ada.page.click(f'.conv[data-conv="dm:{grace_id}"]')
        await expect(ada.page.locator("#composer-input")).to_be_disabled()
        assert ada.errors == [] and grace.errors == []
    finally:
        await close_user(ada)
        await close_user(grace)


async def test_refused_name_is_shown(browser: Any, chat_url: str) -> None:
    context = await browser.new_context(viewport=DESKTOP)
    try:
        page = await context.new_page()
        await page.goto(chat_url + "/")
        await page.fill("#login-name", "   ")
        await page.click("#login-button")
        await expect(page.locator("#login-error")).to_contain_text("won't do")
        await expect(page.locator("#app")).to_be_hidden()
        # a good name then gets in, on the same page
        await page.fill("#login-name", "Ada")
        await page.click("#login-button")
        await expect(page.locator("#users .me-user")).to_contain_text("Ada")
    finally:
        await context.close()


async def test_phone_layout_and_screenshots(browser: Any, chat_url: str,
                                            tmp_path: Path) -> None:
    shots = ROOT / "docs" / "img" if os.environ.get("SOCKETWIRE_UPDATE_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    ada = await open_user(browser, chat_url, "Ada Lovelace")
    grace = await open_user(browser, chat_url, "Grace Hopper")
    linus = await open_user(browser, chat_url, "Linus", viewport=PHONE, phone=True)
    users = (ada, grace, linus)
    try:
        for user in (ada, grace):
            await expect(user.page.locator("#users .user")).to_have_count(3)
        await ada.send("Hi everyone! Welcome to the socketwire chat.")
        await expect(grace.conv("public").locator(".msg")).to_have_count(1)
        await grace.send("Hello Ada! This server is Python asyncio, and the browser speaks "
                         "plain Socket.IO 4 to it.")
        await grace.send("Rooms and private messages work too.")
        await expect(linus.conv("public").locator(".msg")).to_have_count(3)
        await linus.send("And it works on my phone.")
        await expect(ada.conv("public").locator(".msg")).to_have_count(4)
        await ada.send("Let's talk asyncio in the python room.")
        for user in (ada, grace):
            await user.page.fill("#room-name", "python")
            await user.page.press("#room-name", "Enter")
            await expect(user.page.locator("#conv-title")).to_have_text("# python")
        await grace.page.click('.conv[data-conv="public"]')
        await ada.send("Room is open: who is using uvloop?")
        await expect(grace.page.locator('.conv[data-conv="room:python"] .badge')).to_have_text("1")

        # Linus, on his phone, writes to Grace privately, and she answers
        grace_id = await grace.sid()
        linus_id = await linus.sid()
        await linus.page.click("#menu-button")
        await linus.page.click(f'#users .user[data-id="{grace_id}"]')
        await linus.send("Grace, got a minute later?")
        await grace.page.click(f'.conv[data-conv="dm:{linus_id}"]')
        await grace.send("Sure, ping me after lunch.")
        await grace.page.click('.conv[data-conv="public"]')
        await linus.send("Great, thanks!")
        await expect(grace.page.locator(f'.conv[data-conv="dm:{linus_id}"] .badge')
                     ).to_have_text("1")
        await linus.page.click("#menu-button")
        await linus.page.click('.conv[data-conv="public"]')
        await expect(linus.page.locator("#menu-badge")).to_be_hidden()
        await expect(linus.conv("public").locator(".msg")).to_have_count(5)
        for user in users:
            await expect(user.page.locator('.tick[data-state="pending"]')).to_have_count(0)

        # phone: no sideways scrolling, the sidebar is a drawer behind the menu button
        page = linus.page
        await page.click('#menu-button')
        await expect(page.locator("#sidebar")).to_be_in_viewport()
        await page.click('.conv[data-conv="public"]')
        await expect(page.locator("#backdrop")).to_be_hidden()
        await expect(page.locator("#sidebar")).not_to_be_in_viewport()
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await expect(page.locator("#composer-input")).to_be_in_viewport()
        await expect(page.locator("#menu-button")).to_be_visible()
        await expect(ada.page.locator("#menu-button")).to_be_hidden()

        await page.locator("#composer-input").blur()
        await grace.page.locator("#composer-input").blur()
        await grace.page.screenshot(path=str(shots / "chat-desktop.png"), animations="disabled")
        await page.screenshot(path=str(shots / "chat-phone.png"), animations="disabled")
        for name in ("chat-desktop.png", "chat-phone.png"):
            assert (shots / name).stat().st_size > 10_000
        assert all(user.errors == [] for user in users)
    finally:
        for user in users:
            await close_user(user)



async def join_room(user: User, room: str) -> None:
    if await user.page.locator("#menu-button").is_visible():
        await user.page.click("#menu-button")
    await user.page.fill("#room-name", room)
    await user.page.press("#room-name", "Enter")
    await expect(user.page.locator("#conv-title")).to_have_text("# " + room)


async def select_conv(user: User, key: str) -> None:
    if await user.page.locator("#menu-button").is_visible():
        await user.page.click("#menu-button")
    await user.page.click(f'.conv[data-conv="{key}"]')


@pytest.mark.parametrize("width", list(VIEWPORTS))
async def test_long_names_keep_tags_and_badges_visible(browser: Any, chat_url: str, width: str,
                                                        tmp_path: Path) -> None:
    viewport = VIEWPORTS[width]
    bart = await open_user(browser, chat_url, LONG_NAME, viewport=viewport)
    grace = await open_user(browser, chat_url, "Grace Hopper Longername-Too", viewport=DESKTOP)
    try:
        for user in (bart, grace):
            await join_room(user, LONG_ROOM)
        await select_conv(bart, "public")
        await grace.send("A message for the room with the long name")
        room_button = bart.page.locator(f'.conv[data-conv="room:{LONG_ROOM}"]')
        await expect(room_button.locator(".badge")).to_have_text("1")
        if width == "phone":
            await bart.page.click("#menu-button")
            await expect(bart.page.locator("#sidebar")).to_be_in_viewport()
            await bart.page.wait_for_timeout(400)  # the drawer's slide-in transition
        geometry = await bart.page.evaluate("""(room) => {
            const box = (node) => node.getBoundingClientRect();
            const side = document.querySelector("#sidebar");
            const me = document.querySelector("#users .me-user");
            const conv = document.querySelector(`.conv[data-conv="room:${room}"]`);
            const name = conv.querySelector(".conv-name");
            return {
                side: box(side), sideScroll: side.scrollWidth, sideClient: side.clientWidth,
                you: box(me.querySelector(".you")), badge: box(conv.querySelector(".badge")),
                meName: box(me.querySelector(".user-name")),
                roomTruncated: name.scrollWidth > name.clientWidth,
                roomOverflow: getComputedStyle(name).textOverflow,
                pageScroll: document.documentElement.scrollWidth,
            };
        }""", LONG_ROOM)
        side = geometry["side"]
        assert geometry["sideScroll"] <= geometry["sideClient"], geometry  # no sideways growth
        for tag in ("you", "badge"):
            rect = geometry[tag]
            assert rect["width"] > 0 and rect["height"] > 0, (tag, geometry)
            assert side["left"] <= rect["left"] and rect["right"] <= side["right"], (tag, geometry)
        assert geometry["meName"]["right"] <= geometry["you"]["left"], geometry
        assert geometry["roomTruncated"] and geometry["roomOverflow"] == "ellipsis", geometry
        assert geometry["pageScroll"] <= viewport["width"], geometry
        if width == "desktop":
            await expect(bart.page.locator("#menu-button")).to_be_hidden()
        shots = shots_folder(tmp_path)
        suffix = "" if width == "desktop" else "-phone"
        await bart.page.locator("#composer-input").blur()
        await bart.page.screenshot(path=str(shots / f"chat-long-names{suffix}.png"),
                                   animations="disabled")

        # the room with the long name open: its title is cut short, a long word in a message
        # or a notice wraps, and nothing widens the conversation past the screen
        if width == "phone":
            await bart.page.keyboard.press("Escape")
        await select_conv(bart, f"room:{LONG_ROOM}")
        await expect(bart.page.locator("#conv-title")).to_have_text("# " + LONG_ROOM)
        await bart.send("x" * 120)
        await expect(bart.conv(f"room:{LONG_ROOM}").locator(".msg.own .tick")).to_have_attribute(
            "data-state", "delivered")
        await bart.page.locator("#composer-input").blur()
        fit = await bart.page.evaluate("""() => {
            const width = (sel) => document.querySelector(sel).getBoundingClientRect().right;
            const title = document.querySelector("#conv-title");
            return {
                page: document.documentElement.scrollWidth,
                head: width(".chat-head"), messages: width("#messages"),
                composer: width("#composer"), leave: width("#leave-button"),
                titleCut: title.scrollWidth > title.clientWidth,
                bubble: width(`.message-list[data-conv="room:${document.querySelector(
                    '#conv-title').textContent.slice(2)}"] .msg.own .bubble`),
            };
        }""")
        for key in ("page", "head", "messages", "composer", "leave", "bubble"):
            assert fit[key] <= viewport["width"], (key, fit)
        if width == "phone":
            assert fit["titleCut"], fit
            await bart.page.screenshot(path=str(shots / "chat-long-room-phone.png"),
                                       animations="disabled")
        assert bart.errors == [] and grace.errors == []
    finally:
        await close_user(bart)
        await close_user(grace)


@pytest.mark.parametrize("width", list(VIEWPORTS))
async def test_room_message_typed_offline_goes_out_after_rejoin(browser: Any, width: str,
                                                                tmp_path: Path) -> None:
    port = free_port()
    ada = grace = None
    try:
        async with running(create_server(), static_files={"/": STATIC_DIR}, port=port) as url:
            ada = await open_user(browser, url, "Ada", viewport=VIEWPORTS[width])
            grace = await open_user(browser, url, "Grace")
            for user in (ada, grace):
                await join_room(user, "python")
            await expect(ada.page.locator("#conv-subtitle")).to_contain_text("2 members")
        # the server is down: Ada types in the room; the message waits
        await ada.expect_own_presence("offline", "reconnecting…")
        # the people list is from the last connection: Grace is there, but not shown online
        await ada.expect_people(live=False, others=1)
        await expect(ada.page.locator("#users")).to_contain_text("Grace")
        await ada.send("Typed while the server was down")
        tick = ada.conv("room:python").locator(".msg.own .tick")
        await expect(tick).to_have_attribute("data-state", "pending")
        # a fresh server on the same port knows nothing of the rooms: the page joins them
        # again, and only then sends what waited
        async with running(create_server(), static_files={"/": STATIC_DIR}, port=port):
            await ada.expect_own_presence("online", "online")
            await expect(tick).to_have_attribute("data-state", "delivered")
            await expect(ada.conv("room:python").locator(".msg-error")).to_have_count(0)
            await expect(ada.conv("public").locator(".notice", has_text="Reconnected.")
                         ).to_have_count(1)
            # Grace is back in the room too, and the room works both ways
            await expect(grace.page.locator("#status")).to_have_text("online")
            await expect(ada.page.locator("#conv-subtitle")).to_contain_text("2 members")
            # the people list is the fresh server's again, online
            await ada.expect_people(live=True, others=1)
            await grace.expect_people(live=True, others=1)
            await grace.send("Welcome back")
            await expect(ada.conv("room:python").locator(".msg:not(.own) .text").last
                         ).to_have_text("Welcome back")
            await ada.page.locator("#composer-input").blur()
            suffix = "" if width == "desktop" else "-phone"
            await ada.page.screenshot(path=str(shots_folder(tmp_path) /
                                               f"chat-reconnect{suffix}.png"),
                                      animations="disabled")
            assert ada.errors == [] and grace.errors == []
    finally:
        for user in (ada, grace):
            if user is not None:
                await close_user(user)


@pytest.mark.parametrize("width", list(VIEWPORTS))
async def test_user_disconnected_from_dashboard_is_told_and_can_join_again(
        browser: Any, width: str, tmp_path: Path) -> None:
    io = create_server()
    inst = instrument(io, auth={"type": "basic", "username": "admin", "password": "pw-admin"})
    ada = admin = None
    others: list[User] = []
    try:
        async with running(io, static_files={"/": STATIC_DIR}) as url:
            ada = await open_user(browser, url, "Ada Lovelace", viewport=VIEWPORTS[width])
            await join_room(ada, "python")
            # the admin on the same kind of screen as Ada
            viewport = VIEWPORTS[width]
            phone = viewport == PHONE
            context = await browser.new_context(viewport=viewport, is_mobile=phone,
                                                has_touch=phone)
            admin = await context.new_page()
            await admin.goto(url + "/admin/")
            await admin.fill("#username", "admin")
            await admin.fill("#password", "pw-admin")
            await admin.click("#login-btn")
            await ada.expect_own_presence("online", "online")
            sid = await ada.sid()
            row = admin.locator(f"tr[data-id='{sid}']")
            # the sockets table says who is who (socket.data.userName)
            await expect(row.locator("td.user")).to_have_text("Ada Lovelace")
            await row.locator("td.user").scroll_into_view_if_needed()
            await expect(row.locator("td.user")).to_be_in_viewport()
            # the table scrolls inside its card; the page itself never scrolls sideways
            assert await admin.evaluate("document.documentElement.scrollWidth") <= viewport[
                "width"]
            await admin.screenshot(path=str(shots_folder(tmp_path) / f"admin-{width}.png"),
                                   full_page=True)
            # two more people online, so the people list has others in it
            for name in ("Grace Hopper", "Linus"):
                others.append(await open_user(browser, url, name))
            await expect(ada.page.locator("#users .user")).to_have_count(3)
            await ada.expect_people(live=True, others=2)
            await row.locator(".disconnect").click()

            kicked = ada.page.locator("#kicked")
            await expect(kicked).to_be_visible()
            await expect(kicked).to_contain_text("disconnected by the server")
            await expect(ada.page.locator("#rejoin-button")).to_be_in_viewport()
            # the status line and her own row in the people list: not online, both of them
            await ada.expect_own_presence("offline", "disconnected")
            # nor can she know who is online now: the list says it is from the last connection
            await ada.expect_people(live=False, others=2)
            await expect(ada.page.locator("#composer-input")).to_be_disabled()
            await expect(ada.conv("public").locator(".notice-leave").last).to_have_text(
                "You were disconnected by the server.")
            suffix = "" if width == "desktop" else "-phone"
            await ada.page.screenshot(path=str(shots_folder(tmp_path) /
                                               f"chat-kicked{suffix}.png"),
                                      animations="disabled")
            # the public channel's header says the same
            await select_conv(ada, "public")
            await expect(ada.page.locator("#conv-subtitle")).to_have_text(
                "3 people last seen online")

            await ada.page.click("#rejoin-button")
            await ada.expect_own_presence("online", "online")
            await ada.expect_people(live=True, others=2)
            await expect(ada.page.locator("#conv-subtitle")).to_have_text("3 people online")
            await select_conv(ada, "room:python")
            await expect(kicked).to_be_hidden()
            await expect(ada.page.locator("#composer-input")).to_be_enabled()
            await ada.send("Back in the room")
            await expect(ada.conv("room:python").locator(".msg.own .tick").last
                         ).to_have_attribute("data-state", "delivered")
            new_sid = await ada.sid()
            assert new_sid != sid and "python" in io.of("/").sockets[new_sid].rooms
            await expect(admin.locator(f"tr[data-id='{new_sid}'] td.user")).to_have_text(
                "Ada Lovelace")
            assert ada.errors == [] and all(user.errors == [] for user in others)
    finally:
        inst.close()
        for user in others:
            await close_user(user)
        if ada is not None:
            await close_user(ada)
        if admin is not None:
            await admin.context.close()
