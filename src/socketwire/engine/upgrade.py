"""The handlers the engine gives hosts for a channel: one for a channel being upgraded to
(:class:`UpgradeHandler`), one for a session opened on a channel
(:class:`WebSocketSessionHandler`)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..protocol.eio_machine import PROBE_ANSWER, UpgradeStep
from ..protocol.reasons import Reason
from .transport import Transport

if TYPE_CHECKING:
    from .session import EngineSession

__all__ = ["UpgradeHandler", "WebSocketSessionHandler"]


class UpgradeHandler:
    """Receives the messages of a channel while the session is upgraded to it; once the
    session moved there, its regular packets."""

    __slots__ = ("done", "session", "timer", "transport")

    def __init__(self, session: EngineSession, transport: Transport) -> None:
        self.session = session
        self.transport = transport
        self.done = False
        self.timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            session.server.upgrade_timeout, self._timeout
        )

    def _timeout(self) -> None:
        self.timer = None
        if not self.done:
            self.fail()

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def fail(self) -> None:
        """Give the upgrade up: the new channel closes, the old transport goes on."""
        self.done = True
        self._stop_timer()
        self.transport.discard()
        self.session._upgrade_failed()

    def on_message(self, data: str | bytes) -> None:
        """Probe and upgrade packets; after the upgrade, regular packets."""
        session = self.session
        if self.done:
            if session.current is self.transport:
                session.on_websocket_message(data)
            return
        step = session.machine.upgrade_message(data)
        if step is UpgradeStep.ANSWER_PROBE:
            self.transport.send(PROBE_ANSWER)
            session._probe_answered()
        elif step is UpgradeStep.COMPLETE:
            self.done = True
            self._stop_timer()
            session._set_transport(self.transport)
        else:
            self.fail()

    def on_close(self) -> None:
        """The channel went away: before the upgrade, polling goes on."""
        if not self.done:
            self.fail()
        elif self.session.current is self.transport:
            self.session.close(Reason.TRANSPORT_CLOSE)


class WebSocketSessionHandler:
    """Receives the messages of a session opened on a WebSocket (or a WebTransport stream).

    Once the session has moved to another transport (a WebSocket upgraded to WebTransport),
    the old one's messages and close are ignored."""

    __slots__ = ("session", "transport")

    def __init__(self, session: EngineSession, transport: Transport | None = None) -> None:
        self.session = session
        self.transport = transport or session.current

    def on_message(self, data: str | bytes) -> None:
        """Decode and deliver one message."""
        session = self.session
        if session.current is self.transport:
            if type(data) is str and data[:1] == "4":  # a text MESSAGE: the hot path
                session.receive_message(data[1:])
            else:
                session.on_websocket_message(data)

    def on_close(self) -> None:
        """The connection is gone."""
        if self.session.current is self.transport:
            self.session.close(Reason.TRANSPORT_CLOSE)
