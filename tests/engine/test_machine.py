"""The Engine.IO state machine (protocol/eio_machine.py) driven from event sequences: no
sockets, no loop, time passed in, as h11 and websockets test theirs.

A pair of machines (server and client) exchange packets through :func:`deliver`, which
plays the link: what one side's verdict says to send, the other receives.
"""

from __future__ import annotations

import pytest

from socketwire.protocol.eio import EioType
from socketwire.protocol.eio_machine import (
    CLOSE_REASONS,
    LATE_TIMER,
    PROBE,
    PROBE_ANSWER,
    UPGRADE,
    EngineMachine,
    Expiry,
    Role,
    SessionState,
    Upgrade,
    UpgradeStep,
    Verdict,
)
from socketwire.protocol.reasons import Reason

INTERVAL = 25.0
TIMEOUT = 20.0


def server(now: float = 0.0) -> EngineMachine:
    return EngineMachine(Role.SERVER, INTERVAL, TIMEOUT, now)


def client(now: float = 0.0) -> EngineMachine:
    return EngineMachine(Role.CLIENT, INTERVAL, TIMEOUT, now)


# ------------------------------------------------------------------- heartbeat


def test_server_pings_one_interval_after_the_handshake() -> None:
    m = server(100.0)
    assert m.deadline == 100.0 + INTERVAL
    assert m.expire(m.deadline) is Expiry.PING  # send "2"
    assert m.awaiting_pong
    assert m.deadline == 100.0 + INTERVAL + TIMEOUT


def test_a_pong_schedules_the_next_ping_in_phase() -> None:
    m = server(0.0)
    m.expire(25.0)
    assert m.receive(EioType.PONG, 31.0) is Verdict.HEARTBEAT
    assert not m.awaiting_pong
    assert m.deadline == 50.0  # one interval after the last ping was due, not after the pong


def test_a_late_timer_does_not_schedule_a_ping_in_the_past() -> None:
    m = server(0.0)
    m.expire(25.0)
    m.receive(EioType.PONG, 80.0)  # the loop stalled for a long time
    assert m.deadline == 80.0


def test_no_pong_within_the_timeout_is_a_ping_timeout() -> None:
    m = server(0.0)
    assert m.expire(25.0) is Expiry.PING
    assert m.expire(45.0) is Expiry.TIMEOUT  # the caller closes with "ping timeout"
    assert m.state is SessionState.OPEN  # the machine decides; the caller closes
    assert m.close(Reason.PING_TIMEOUT)
    assert m.reason is Reason.PING_TIMEOUT


def test_the_first_message_after_a_ping_extends_the_pong_deadline_once() -> None:
    m = server(0.0)
    m.expire(25.0)
    assert m.message_received(40.0) is True
    assert m.deadline == 60.0
    assert m.message_received(50.0) is False  # once per ping
    assert m.deadline == 60.0


def test_messages_without_a_ping_out_move_nothing() -> None:
    m = server(0.0)
    assert m.receive(EioType.MESSAGE, 10.0) is Verdict.DELIVER
    assert m.deadline == INTERVAL


def test_unsolicited_pongs_are_ignored() -> None:
    m = server(0.0)
    for t in range(100):
        assert m.receive(EioType.PONG, float(t) / 10) is Verdict.IGNORE
    assert m.deadline == INTERVAL and not m.awaiting_pong


def test_client_gives_up_interval_plus_timeout_after_the_last_ping() -> None:
    m = client(0.0)
    assert m.deadline == INTERVAL + TIMEOUT
    assert m.receive(EioType.PING, 30.0) is Verdict.ANSWER_PING
    assert m.deadline == 30.0 + INTERVAL + TIMEOUT
    assert m.expire(m.deadline) is Expiry.TIMEOUT  # no ping in time: the client gives up


def test_ping_pong_between_a_pair_keeps_both_alive() -> None:
    srv, cli = server(0.0), client(0.0)
    now = 0.0
    for _ in range(10):
        now = srv.deadline
        assert srv.expire(now) is Expiry.PING  # the server sends "2"
        assert cli.receive(EioType.PING, now + 0.01) is Verdict.ANSWER_PING  # "3" back
        assert srv.receive(EioType.PONG, now + 0.02) is Verdict.HEARTBEAT
        assert cli.deadline > srv.deadline  # the client waits longer than the next ping
    assert srv.is_open and cli.is_open
    assert now == pytest.approx(10 * INTERVAL)


# ------------------------------------------------------------------- receiving


@pytest.mark.parametrize("kind", [EioType.OPEN, EioType.UPGRADE, EioType.NOOP])
def test_server_ignores_what_a_client_need_not_send(kind: EioType) -> None:
    assert server().receive(kind, 1.0) is Verdict.IGNORE


def test_a_ping_from_the_client_is_a_transport_error() -> None:
    verdict = server().receive(EioType.PING, 1.0)
    assert verdict is Verdict.PROTOCOL_ERROR
    assert CLOSE_REASONS[verdict] is Reason.TRANSPORT_ERROR


@pytest.mark.parametrize("role", list(Role))
def test_a_close_packet_is_a_transport_close(role: Role) -> None:
    verdict = EngineMachine(role, INTERVAL, TIMEOUT, 0.0).receive(EioType.CLOSE, 1.0)
    assert verdict is Verdict.PEER_CLOSED
    assert CLOSE_REASONS[verdict] is Reason.TRANSPORT_CLOSE


@pytest.mark.parametrize("kind", [EioType.PONG, EioType.NOOP, EioType.OPEN, EioType.UPGRADE])
def test_client_ignores_the_rest(kind: EioType) -> None:
    m = client(0.0)
    assert m.receive(kind, 1.0) is Verdict.IGNORE
    assert m.deadline == INTERVAL + TIMEOUT


@pytest.mark.parametrize("kind", list(EioType))
def test_nothing_counts_once_closed(kind: EioType) -> None:
    m = server(0.0)
    m.close(Reason.FORCED_CLOSE)
    assert m.receive(kind, 1.0) is Verdict.IGNORE
    assert m.expire(100.0) is Expiry.TIMEOUT


# --------------------------------------------------------------------- upgrade


def upgrade_pair() -> tuple[EngineMachine, EngineMachine]:
    """Both sides through the whole upgrade, as the link carries it."""
    srv, cli = server(), client()
    assert cli.probe_started() and srv.probe_started()  # the client opens the new channel
    assert srv.upgrade_message(PROBE) is UpgradeStep.ANSWER_PROBE  # "2probe" in, "3probe" out
    assert srv.upgrading and srv.upgrade is Upgrade.PROBED
    assert cli.upgrade_message(PROBE_ANSWER) is UpgradeStep.PAUSE_AND_SWITCH
    assert cli.upgrade_completed()  # "5" out on the new channel
    assert srv.upgrade_message(UPGRADE) is UpgradeStep.COMPLETE
    return srv, cli


def test_the_upgrade_handshake_completes_on_both_sides() -> None:
    srv, cli = upgrade_pair()
    assert srv.upgraded and cli.upgraded
    assert not srv.upgrading and not cli.upgrading


def test_an_upgrade_packet_before_the_probe_fails_the_upgrade() -> None:
    srv = server()
    srv.probe_started()
    assert srv.upgrade_message(UPGRADE) is UpgradeStep.FAIL
    assert srv.upgrade is Upgrade.NONE  # polling goes on; another upgrade may come
    assert srv.probe_started()


@pytest.mark.parametrize("data", ["2prob", "3probe", "4hello", b"\x00", ""])
def test_anything_else_on_the_new_channel_fails_the_upgrade(data: str | bytes) -> None:
    srv = server()
    srv.probe_started()
    assert srv.upgrade_message(data) is UpgradeStep.FAIL


@pytest.mark.parametrize("answer", ["2probe", "3prob", "", "6"])
def test_client_refuses_a_wrong_probe_answer(answer: str) -> None:
    cli = client()
    cli.probe_started()
    assert cli.upgrade_message(answer) is UpgradeStep.FAIL
    assert cli.upgrade is Upgrade.NONE and not cli.upgrade_completed()


def test_only_one_upgrade_at_a_time() -> None:
    srv = server()
    assert srv.probe_started()
    assert not srv.probe_started()
    srv.upgrade_message(PROBE)
    srv.upgrade_message(UPGRADE)
    assert not srv.probe_started()  # upgraded: no second upgrade
    srv.upgrade_failed()
    assert srv.upgraded  # a failure after the switch changes nothing


def test_closing_during_the_upgrade_fails_its_next_step() -> None:
    srv, cli = server(), client()
    srv.probe_started()
    cli.probe_started()
    srv.upgrade_message(PROBE)
    cli.upgrade_message(PROBE_ANSWER)
    srv.close(Reason.TRANSPORT_CLOSE)
    cli.close(Reason.FORCED_CLOSE)
    assert srv.upgrade_message(UPGRADE) is UpgradeStep.FAIL
    assert not cli.upgrade_completed()
    assert not srv.probe_started()


# ----------------------------------------------------------------------- close


def test_close_keeps_the_first_reason_and_finishes_once() -> None:
    m = server()
    assert m.close(Reason.PARSE_ERROR)
    assert not m.close(Reason.FORCED_CLOSE)
    assert m.state is SessionState.CLOSING and m.reason is Reason.PARSE_ERROR
    assert m.finished()
    assert not m.finished()
    assert m.state is SessionState.CLOSED and m.reason is Reason.PARSE_ERROR


def test_finishing_without_a_close_is_a_forced_close() -> None:
    m = client()
    assert m.finished()
    assert m.reason is Reason.FORCED_CLOSE and not m.is_open


def test_a_late_pong_deadline_gives_the_peer_as_long_again_once() -> None:
    m = server(0.0)
    assert m.expire(25.0) is Expiry.PING
    assert m.deadline == 25.0 + TIMEOUT
    late = 3.0  # the caller's loop did not run for 3 s past the deadline
    assert m.expire(m.deadline + late) is Expiry.WAIT
    assert m.deadline == 25.0 + TIMEOUT + 2 * late
    assert m.expire(m.deadline + 5.0) is Expiry.TIMEOUT  # once per deadline
    assert m.receive(EioType.PONG, 60.0) is Verdict.HEARTBEAT  # an answer still counts


def test_a_late_grace_is_at_most_the_timeout_and_renewed_by_each_ping() -> None:
    m = server(0.0)
    m.expire(25.0)
    assert m.expire(25.0 + TIMEOUT + 1000.0) is Expiry.WAIT
    assert m.deadline == 25.0 + TIMEOUT + 1000.0 + TIMEOUT
    m.receive(EioType.PONG, m.deadline - 1)
    assert m.expire(m.deadline) is Expiry.PING
    assert m.expire(m.deadline + 1.0) is Expiry.WAIT  # a new ping: a new grace


def test_a_timer_on_time_or_barely_late_has_no_grace() -> None:
    m = server(0.0)
    m.expire(25.0)
    assert m.expire(m.deadline + LATE_TIMER / 2) is Expiry.TIMEOUT
    c = client(0.0)
    assert c.expire(c.deadline + 1.0) is Expiry.WAIT  # the client's watchdog too
    assert c.expire(c.deadline + 1.0) is Expiry.TIMEOUT
