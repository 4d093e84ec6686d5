"""R1-R3, R7: malformed and out-of-place packets close the offending session at once.

Each entry of the corpus is sent by a fresh client joined to ``/``; the session must close
promptly (WebSocket closed; polling: the next GET gets 400 code 1), a fresh handshake must
then work, and a bystander client keeps exchanging events throughout. Spoofed lifecycle
events never reach the application's handlers.
"""

from __future__ import annotations

import pytest
from rawpeer import Peer
from support import (
    PROMPT,
    Bystander,
    fresh_handshake_works,
    make_server,
    payload,
    polling_closed,
    polling_join,
    settle,
    ws_join,
)

import socketwire
from servers import running
from socketwire.protocol.reasons import Reason

PH = '{{"_placeholder":true,"num":{}}}'

# (label, Engine.IO messages sent after joining "/")
CORPUS: list[tuple[str, list[str | bytes]]] = [
    # Engine.IO level
    ("unknown engine.io type", ["abc"]),
    ("engine.io type 9", ["9"]),
    ("client ping", ["2"]),
    ("client ping probe outside an upgrade", ["2probe"]),
    # Socket.IO level: types and payload shapes
    ("unknown socket.io type", ["4abc"]),
    ("socket.io type 7", ["47[]"]),
    ("event with an object payload", ["42{}"]),
    ("event with an empty array", ["42[]"]),
    ("event named by an object", ['42[{"toString":"foo"}]']),
    ("event named true", ['42[true,"foo"]']),
    ("event named null", ['42[null,"bar"]']),
    ("bad JSON", ['42["x"']),
    ("trailing comma", ['42["x",]']),
    # issue 13: the stdlib fallback (taken for a lone surrogate) raised OverflowError
    ("400-digit integer beside a lone surrogate", ['42["x","\\ud800",1' + "0" * 400 + "]"]),
    ("invalid ack id", ['42abc["ack",1]']),
    ("ack with a string payload", ['430"x"']),
    ("disconnect with a payload", ["41{}"]),
    ("connect_error from the client", ['44{"message":"x"}']),
    # reserved names (R2): spoofed lifecycle events
    ("spoofed disconnect", ['42["disconnect","spoofed"]']),
    ("spoofed connect", ['42["connect",{"environ":"attacker"}]']),
    ("spoofed connect_error", ['42["connect_error","x"]']),
    ("spoofed disconnecting", ['42["disconnecting","x"]']),
    ("spoofed newListener", ['42["newListener","x"]']),
    ("spoofed removeListener", ['42["removeListener","x"]']),
    ("spoofed disconnect with an ack id", ['427["disconnect"]']),
    # namespaces
    ("second CONNECT for a joined namespace", ["40"]),
    ("event for an unjoined namespace", ['42/custom,["echo",1]']),
    ("ack for an unjoined namespace", ["43/custom,0[]"]),
    ("event for an unknown namespace", ['42/nope,["echo",1]']),
    # binary attachments (R3)
    ("attachment count not a number", ['45a-["x"]']),
    ("11 attachments", ['4511-["x"]']),
    ("100 attachments", ['45100-["x"]']),
    ("placeholder num splice", ['451-["x",{"_placeholder":true,"num":"splice"}]', b"\x01"]),
    ("placeholder num true", ['451-["x",{"_placeholder":true,"num":true}]', b"\x01"]),
    ("placeholder num -1", ['451-["x",' + PH.format(-1) + "]", b"\x01"]),
    ("placeholder num out of range", ['451-["x",' + PH.format(1) + "]", b"\x01"]),
    ("placeholder num 0.5", ['451-["x",' + PH.format(0.5) + "]", b"\x01"]),
    ("binary event named by a placeholder", ["451-[" + PH.format(0) + "]", b"\x01"]),
    ("text while attachments are pending", ['451-["x",' + PH.format(0) + "]", '42["echo"]']),
    ("binary with nothing pending", [b"\x01\x02\x03"]),
    ("binary ack with a reserved shape", ['461-0{"a":' + PH.format(0) + "}", b"\x01"]),
]

WS_ONLY: list[tuple[str, list[str | bytes]]] = [("empty text message", [""])]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_corpus_closes_only_the_offender(hosting: str, transport: str) -> None:
    io, record = make_server()
    corpus = CORPUS + (WS_ONLY if transport == "websocket" else [])
    failures: list[str] = []
    async with running(io, hosting) as url:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            peer = Peer(url + "/socket.io/", http)
            try:
                bystander = await Bystander.join(peer)
                for label, messages in corpus:
                    try:
                        if transport == "websocket":
                            ws = await ws_join(peer)
                            for m in messages:
                                await ws.send(m)
                            seen = await ws.closed(timeout=PROMPT)
                            assert seen == [], seen
                        else:
                            sid = await polling_join(peer)
                            pushed = await peer.push(sid, payload(*messages))
                            assert pushed.status in (200, 400), pushed
                            await polling_closed(peer, sid)
                        await fresh_handshake_works(peer)
                        await bystander.check()
                    except (AssertionError, TimeoutError, OSError) as exc:
                        failures.append(f"{label}: {exc!r}")
                        bystander = await Bystander.join(peer)
                await settle()
            finally:
                await peer.close()
    assert not failures, "\n".join(failures)
    offenders = len(corpus)
    # the bystander(s) plus one connection per offender, each offender disconnected once
    assert len(record.connections) == offenders + 1
    assert len(record.disconnects) == offenders + 1  # the bystander left at the end
    reasons = {reason for _, reason in record.disconnects}
    library_reasons = {str(r) for r in Reason}
    assert reasons <= library_reasons, reasons
    assert set(record.disconnecting) <= library_reasons, record.disconnecting
    assert not record.reserved, record.reserved
    assert {e for e, _ in record.events} == {"echo"}  # only the bystander's events
    assert all(args[-1] == "bystander" for _, args in record.events)


async def test_client_error_event_is_an_ordinary_event(hosting: str) -> None:
    """CVE-2024-38355: a client ``error`` event is delivered like any event, no crash."""
    io, record = make_server()
    got: list[object] = []

    @io.on("connection")
    def on_connection(socket: socketwire.Socket) -> None:
        socket.on("error", got.append)

    async with running(io, hosting) as url:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            peer = Peer(url + "/socket.io/", http)
            try:
                ws = await ws_join(peer)
                await ws.send('42["error","x"]')
                await ws.send('42["echo","after"]')
                assert await ws.recv() == '42["echo","after"]'
            finally:
                await peer.close()
    assert got == ["x"]
    assert ("error", ("x",)) in record.events


async def test_unsolicited_pongs_are_harmless(hosting: str) -> None:
    """R7: a flood of PONGs without a PING keeps one heartbeat timer and the session."""
    io, _ = make_server()
    async with running(io, hosting) as url:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            peer = Peer(url + "/socket.io/", http)
            try:
                ws = await ws_join(peer)
                for _ in range(5000):
                    await ws.send("3")
                await ws.send('42["echo","alive"]')
                assert await ws.recv() == '42["echo","alive"]'
                (session,) = io.engine.sessions.values()
                assert session._timer is not None and not session.machine.awaiting_pong
            finally:
                await peer.close()
