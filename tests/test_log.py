"""Logging a person can steer: one logger per layer, and one switch (SOCKETWIRE_DEBUG, or
``--debug`` on the command) printing every packet, as Node's ``DEBUG=socket.io*``.

The switch changes process-wide logging state, so it is tried in subprocesses."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import socketio

import socketwire
from servers import free_port, running
from socketwire.log import LOGGERS, _matches

SCRIPT = """
import socketwire

io = socketwire.Server()

@io.on("connection")
def connection(socket):
    socket.on("echo", lambda data: data)

if __name__ == "__main__":
    socketwire.run(io, port={port})
"""


async def _echo_session(argv: list[str], env: dict[str, str], cwd: Path, port: int) -> str:
    """Run the server, echo once with python-socketio, stop it; its standard error."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None
        assert "listening on http://" in proc.stdout.readline().decode()
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(f"http://127.0.0.1:{port}", transports=["websocket"],
                             auth={"username": "ada"})
        assert await client.call("echo" if "chat" not in argv else "list-users",
                                 "hi" if "chat" not in argv else None, timeout=20)
        sid = client.get_sid("/")
        await client.disconnect()
        assert sid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    return err.decode()


async def test_environment_variable_prints_every_packet(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "server.py").write_text(SCRIPT.format(port=port))
    env = {**os.environ, "SOCKETWIRE_DEBUG": "socketwire*"}
    err = await _echo_session([sys.executable, "server.py"], env, tmp_path, port)
    lines = [line for line in err.splitlines() if " socketwire.packets DEBUG " in line]
    assert any(re.search(r' < 42\d+\["echo","hi"\]$', line) for line in lines), err
    assert any(re.search(r' > 43\d+\["hi"\]$', line) for line in lines), err
    assert any(line.endswith(" opened (websocket)") for line in lines), err
    assert any(' > 40{"sid":' in line for line in lines), err
    assert any(line.endswith(" closed: transport close") for line in lines), err


async def test_no_packet_output_without_the_switch(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "server.py").write_text(SCRIPT.format(port=port))
    env = {k: v for k, v in os.environ.items() if k != "SOCKETWIRE_DEBUG"}
    err = await _echo_session([sys.executable, "server.py"], env, tmp_path, port)
    assert "socketwire.packets" not in err and "DEBUG" not in err, err


async def test_debug_option_of_the_command_with_a_pattern(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SOCKETWIRE_DEBUG"}
    argv = [sys.executable, "-m", "socketwire.cli", "chat", "--port", str(port),
            "--debug", "socketwire.packets"]
    err = await _echo_session(argv, env, tmp_path, port)
    lines = [line for line in err.splitlines() if " socketwire.packets DEBUG " in line]
    assert any(re.search(r' < 42\d+\["list-users"\]$', line) for line in lines), err
    assert any('> 42["welcome",' in line for line in lines), err


def test_patterns_as_node_debug() -> None:
    everything = [n for n in LOGGERS if _matches(n, ["socketwire*"])]
    assert everything == list(LOGGERS)
    assert [n for n in LOGGERS if _matches(n, ["socketwire*", "-socketwire.packets"])] == [
        n for n in LOGGERS if n != "socketwire.packets"]
    assert [n for n in LOGGERS if _matches(n, ["socketwire.engine", "socketwire.server"])] == [
        "socketwire.engine", "socketwire.server"]
    assert not any(_matches(n, ["other*"]) for n in LOGGERS)


def test_packets_are_not_traced_by_default() -> None:
    io = socketwire.Server()
    assert io.engine.hooks.packet_in == [] and io.engine.hooks.packet_out == []


@pytest.mark.parametrize("layer", ["handlers", "engine"])
async def test_each_layer_logs_under_its_own_name(layer: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="socketwire")
    io = socketwire.Server(cors_allowed_origins=["http://good.example"])

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("broken")
        def broken() -> None:
            raise ValueError("broken on purpose")

    async with running(io) as url:
        client = socketio.AsyncClient(reconnection=False)
        if layer == "handlers":
            await client.connect(url, transports=["websocket"])
            await client.emit("broken")
            async with asyncio.timeout(20):
                while not caplog.records:
                    await asyncio.sleep(0.01)
        else:
            with pytest.raises(socketio.exceptions.ConnectionError):
                await client.connect(url, transports=["polling"],
                                     headers={"Origin": "http://evil.example"})
        await client.disconnect()
    names = {r.name for r in caplog.records if r.name.startswith("socketwire")}
    assert names == {f"socketwire.{layer}"}, [(r.name, r.getMessage()) for r in caplog.records]
