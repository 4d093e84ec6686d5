"""The Engine.IO v4 session rules, for both ends, without I/O.

One :class:`EngineMachine` per session and side (``Role.SERVER`` in the engine's sessions,
``Role.CLIENT`` in the Python client's connection). It decides; the caller acts:

- **receiving**: :meth:`EngineMachine.receive` says what a packet from the peer means
  (:class:`Verdict`): deliver a MESSAGE, answer a PING (client), count a PONG (server), or
  close with a :class:`~socketwire.protocol.reasons.Reason`.
- **heartbeat**: the server pings every ``ping_interval`` and gives up ``ping_timeout`` after
  a ping without answer; the client gives up ``ping_interval + ping_timeout`` after the last
  ping (or the handshake). :attr:`EngineMachine.deadline` is the one instant at which the
  caller must call :meth:`EngineMachine.expire` (its timer); every method taking ``now``
  may move it.
- **upgrade**: ``2probe`` / ``3probe`` / ``5`` (:class:`Upgrade`): the server answers the probe
  and completes on ``5``; the client checks the answer before it pauses polling and sends ``5``.
- **close**: :attr:`EngineMachine.state` goes OPEN → CLOSING → CLOSED, with the reason.

Time is passed in (``now``, seconds on any monotonic clock); nothing here sleeps or reads a
clock, so every rule can be tested from a sequence of events.
"""

from __future__ import annotations

import enum

from ..exceptions import RemoteProtocolError
from .eio import EioPacket, EioType, decode_packet
from .reasons import Reason

__all__ = [
    "CLOSE_REASONS",
    "PROBE",
    "PROBE_ANSWER",
    "UPGRADE",
    "LATE_TIMER",
    "EngineMachine",
    "Expiry",
    "Role",
    "SessionState",
    "Upgrade",
    "UpgradeStep",
    "Verdict",
    "read_message",
]

# a deadline reached this much later than it was due means the caller's loop was not running
# meanwhile (a blocking handler, a process the machine did not schedule) or is still behind
# (a backlog of other connections' data): the peer's packet may be waiting in the host's
# buffers, unread. The deadline is then looked at again as long again later, for as long as
# the checks run late, up to one more timeout in all: a check that runs on time decides
# (issue 13: spurious ping timeouts).
LATE_TIMER = 0.01

PROBE = "2probe"
PROBE_ANSWER = "3probe"
UPGRADE = "5"


def read_message(data: str | bytes) -> EioPacket | None:
    """The packet one channel message carries (a WebSocket or WebTransport message), or
    ``None`` when it is unreadable: the session then closes with ``parse error``."""
    try:
        return decode_packet(data)
    except RemoteProtocolError:
        return None


class Role(enum.Enum):
    """Which end of the session a machine plays."""

    SERVER = "server"
    CLIENT = "client"


class SessionState(enum.Enum):
    """Lifecycle of a session."""

    OPEN = "open"
    CLOSING = "closing"  # closed for the application; a last poll may still fetch "1"
    CLOSED = "closed"


class Verdict(enum.Enum):
    """What a received packet asks of the caller."""

    DELIVER = "deliver"  # a MESSAGE: hand its payload to the layer above
    ANSWER_PING = "answer ping"  # client: send PONG ("3"); the deadline moved
    HEARTBEAT = "heartbeat"  # server: the ping was answered; the deadline moved
    IGNORE = "ignore"  # nothing to do (NOOP, a stray PONG, OPEN, UPGRADE, or closed)
    PEER_CLOSED = "peer closed"  # CLOSE from the peer: close with ``transport close``
    PROTOCOL_ERROR = "protocol error"  # not allowed here: close with ``transport error``


#: the reason a session closes with after a verdict that closes it
CLOSE_REASONS = {Verdict.PEER_CLOSED: Reason.TRANSPORT_CLOSE,
                 Verdict.PROTOCOL_ERROR: Reason.TRANSPORT_ERROR}


class Expiry(enum.Enum):
    """What reaching :attr:`EngineMachine.deadline` asks of the caller."""

    PING = "ping"  # server: send "2" now; re-arm at the new deadline
    WAIT = "wait"  # the timer ran late: the peer gets a grace period; re-arm, send nothing
    TIMEOUT = "timeout"  # the peer is late: close with ``ping timeout``


class UpgradeStep(enum.Enum):
    """What one message on a channel being upgraded to asks of the caller."""

    ANSWER_PROBE = "answer probe"  # server: send "3probe"; polling may pause now
    PAUSE_AND_SWITCH = "pause and switch"  # client: pause polling, send "5", switch
    COMPLETE = "complete"  # server: the session moves to the new transport
    FAIL = "fail"  # the upgrade is off: close the new channel, the old transport goes on


class Upgrade(enum.Enum):
    """Where the upgrade of a session stands."""

    NONE = "none"
    PROBING = "probing"  # a channel is there, its probe not yet answered
    PROBED = "probed"  # probe answered; waiting for "5" (server) or sending it (client)
    DONE = "done"


class EngineMachine:
    """The state of one Engine.IO session at one end; see the module docstring."""

    __slots__ = ("awaiting_pong", "deadline", "interval", "late_extra", "ping_due", "reason",
                 "refreshed", "role", "state", "timeout", "upgrade")

    def __init__(self, role: Role, interval: float, timeout: float, now: float) -> None:
        self.role = role
        self.interval = interval
        self.timeout = timeout
        self.state = SessionState.OPEN
        self.reason: Reason | str | None = None
        self.upgrade = Upgrade.NONE
        self.awaiting_pong = False  # server: a ping is out
        self.refreshed = False  # server: a message extended the pong deadline once already
        self.late_extra = 0.0  # how far the current deadline was moved for late timers
        self.ping_due = now + interval  # server: when the last ping is due (pings keep
        # their phase: each one is due one interval after the one before was due)
        self.deadline = self.ping_due + (timeout if role is Role.CLIENT else 0.0)

    # ------------------------------------------------------------------ receiving

    def receive(self, kind: EioType, now: float) -> Verdict:
        """What the packet ``kind`` from the peer means. A MESSAGE may first be checked
        with :meth:`message_received` alone (the hot path needs no verdict)."""
        if self.state is not SessionState.OPEN:
            return Verdict.IGNORE
        if kind is EioType.MESSAGE:
            self.message_received(now)
            return Verdict.DELIVER
        if kind is EioType.CLOSE:
            return Verdict.PEER_CLOSED
        if self.role is Role.SERVER:
            if kind is EioType.PONG:
                return Verdict.HEARTBEAT if self.pong_received(now) else Verdict.IGNORE
            if kind is EioType.PING:
                return Verdict.PROTOCOL_ERROR  # v4: only the server pings
            return Verdict.IGNORE
        if kind is EioType.PING:
            self.deadline = now + self.interval + self.timeout
            self.late_extra = 0.0
            return Verdict.ANSWER_PING
        return Verdict.IGNORE  # NOOP, PONG, OPEN and UPGRADE need nothing

    def message_received(self, now: float) -> bool:
        """A MESSAGE came. Server: the first one after a ping gives the peer ``timeout``
        more to answer it (its pong may be queued behind the message); ``True`` when
        :attr:`deadline` moved."""
        if self.awaiting_pong and not self.refreshed:
            self.refreshed = True
            self.deadline = now + self.timeout
            return True
        return False

    def pong_received(self, now: float) -> bool:
        """Server: a PONG came; ``True`` when it answered the ping (the next one is then
        due one interval after the last one was due, or now if that is past)."""
        if not self.awaiting_pong:
            return False  # unsolicited: harmless, as in Node
        self.awaiting_pong = False
        self.ping_due = max(self.ping_due + self.interval, now)
        self.deadline = self.ping_due
        return True

    # ------------------------------------------------------------------ heartbeat

    def expire(self, now: float) -> Expiry:
        """The caller's timer reached :attr:`deadline` (at ``now``). :attr:`Expiry.PING`: the
        server sends a ping (``"2"``) now. :attr:`Expiry.WAIT`: the timer ran more than
        :data:`LATE_TIMER` late, so the peer's answer may be unread: it gets as long again
        (again while the checks run late, at most one more timeout in all).
        :attr:`Expiry.TIMEOUT`: close with ``ping
        timeout`` (closing changes nothing once the session is no longer open). Re-arm at
        :attr:`deadline` after the first two."""
        if self.state is not SessionState.OPEN:
            return Expiry.TIMEOUT
        if self.role is Role.SERVER and not self.awaiting_pong:
            self.awaiting_pong = True
            self.refreshed = False
            self.late_extra = 0.0
            self.deadline = now + self.timeout
            return Expiry.PING
        late = now - self.deadline
        room = self.timeout - self.late_extra
        if late > LATE_TIMER and room > 0:
            grace = min(late, room)
            self.late_extra += grace
            self.deadline = now + grace
            return Expiry.WAIT
        return Expiry.TIMEOUT

    # -------------------------------------------------------------------- upgrade

    def probe_started(self) -> bool:
        """A channel to upgrade to is there; ``False`` if the session cannot upgrade now."""
        if self.state is not SessionState.OPEN or self.upgrade is not Upgrade.NONE:
            return False
        self.upgrade = Upgrade.PROBING
        return True

    def upgrade_message(self, data: str | bytes) -> UpgradeStep:
        """One message on the channel being upgraded to: ``2probe`` and ``5`` from the client
        at the server, ``3probe`` from the server at the client."""
        if self.state is not SessionState.OPEN or self.upgrade not in (
                Upgrade.PROBING, Upgrade.PROBED):
            return self.upgrade_failed()
        if self.role is Role.SERVER:
            if data == PROBE:
                self.upgrade = Upgrade.PROBED
                return UpgradeStep.ANSWER_PROBE
            if data == UPGRADE and self.upgrade is Upgrade.PROBED:
                self.upgrade = Upgrade.DONE
                return UpgradeStep.COMPLETE
        elif data == PROBE_ANSWER and self.upgrade is Upgrade.PROBING:
            self.upgrade = Upgrade.PROBED
            return UpgradeStep.PAUSE_AND_SWITCH
        return self.upgrade_failed()

    def upgrade_completed(self) -> bool:
        """Client: ``5`` went out on the new channel; ``False`` if closed meanwhile."""
        if self.state is not SessionState.OPEN or self.upgrade is not Upgrade.PROBED:
            return False
        self.upgrade = Upgrade.DONE
        return True

    def upgrade_failed(self) -> UpgradeStep:
        """The channel being upgraded to failed (or timed out): polling goes on."""
        if self.upgrade is not Upgrade.DONE:
            self.upgrade = Upgrade.NONE
        return UpgradeStep.FAIL

    @property
    def upgraded(self) -> bool:
        """Whether the session moved to the transport it upgraded to."""
        return self.upgrade is Upgrade.DONE

    @property
    def upgrading(self) -> bool:
        """Whether a channel is being probed (the session still sends on the old one)."""
        return self.upgrade is Upgrade.PROBING or self.upgrade is Upgrade.PROBED

    # ---------------------------------------------------------------------- close

    def close(self, reason: Reason | str) -> bool:
        """Close for the application (OPEN → CLOSING); ``False`` if it was not open (the
        first reason stays)."""
        if self.state is not SessionState.OPEN:
            return False
        self.state = SessionState.CLOSING
        self.reason = reason
        return True

    def finished(self) -> bool:
        """Nothing more goes out (CLOSING → CLOSED); ``False`` if it already was."""
        if self.state is SessionState.CLOSED:
            return False
        if self.reason is None:
            self.reason = Reason.FORCED_CLOSE
        self.state = SessionState.CLOSED
        return True

    @property
    def is_open(self) -> bool:
        """Whether the session is open for the application."""
        return self.state is SessionState.OPEN
