"""``socketwire chat --admin USER:PASSWORD`` turns the admin UI on for the chat app."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

import httpx
from admin_support import ALL_FEATURES, WAIT, PyAdminClient

from servers import free_port


async def test_chat_with_admin_flag() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "socketwire.cli", "chat", "--port", str(port),
        "--admin", "boss:plain-text-pw", stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    admin = PyAdminClient()
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(WAIT):
            assert b"listening" in await proc.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as http:
            page = await http.get(url + "/admin/")
            assert page.status_code == 200 and "socketwire admin" in page.text
            assert (await http.get(url + "/")).status_code == 200  # the chat page still
        wrong = PyAdminClient()
        assert await wrong.connect(url, {"username": "boss", "password": "nope"}) == (
            "invalid credentials")
        await wrong.close()
        # the plain-text password was hashed at start-up and checks out
        assert await admin.connect(url, {"username": "boss", "password": "plain-text-pw"}) is None
        (config,) = await admin.wait_for("config")
        assert config == {"supportedFeatures": ALL_FEATURES}
        await admin.wait_for("all_sockets")
    finally:
        await admin.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        await proc.wait()
