"""BroadcastOperator: an immutable description of who receives an emit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..adapters.base import BroadcastOptions
from ..exceptions import AckTimeout, LocalProtocolError
from ..handlers import ack_value, spawn
from ..protocol.sio import SioPacket, SioType, check_event_name

if TYPE_CHECKING:
    from .namespace import Namespace
    from .remote import RemoteSocket
    from .socket import Socket

__all__ = ["DEFAULT_REQUEST_TIMEOUT", "BroadcastAckTimeout", "BroadcastOperator"]

DEFAULT_REQUEST_TIMEOUT = 5.0  # Node's cluster adapters wait 5 s for other servers' answers

# Node's namespace RESERVED_EVENTS: never sent as server-side emits, never fired from one
SERVER_RESERVED_EVENTS = frozenset({"connect", "connection", "new_namespace"})


def check_server_side_event(event: str) -> None:
    """Raise :class:`LocalProtocolError` for Node's reserved namespace event names."""
    if event in SERVER_RESERVED_EVENTS:
        raise LocalProtocolError(f'"{event}" is a reserved event name')


class BroadcastAckTimeout(AckTimeout):
    """Some clients did not answer a broadcast in time.

    ``responses`` holds the answers that came; ``missing`` the ids of the local sockets that
    did not answer (remote servers' sockets are counted, not named).
    """

    def __init__(self, responses: list[Any], missing: list[str]) -> None:
        super().__init__("operation has timed out")
        self.responses = responses
        self.missing = missing


def _rooms(value: str | Iterable[str]) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)


class BroadcastOperator:
    """Targets sockets by room; every method returns a new operator (the original is kept)."""

    __slots__ = ("_opts", "nsp")

    def __init__(self, nsp: Namespace, opts: BroadcastOptions | None = None) -> None:
        self.nsp = nsp
        self._opts = opts or BroadcastOptions()

    @property
    def options(self) -> BroadcastOptions:
        """The rooms, exclusions and flags of this operator."""
        return self._opts

    def to(self, room: str | Iterable[str]) -> BroadcastOperator:
        """Also target the sockets in ``room`` (one or several: a union)."""
        rooms = self._opts.rooms | _rooms(room)
        return BroadcastOperator(self.nsp, replace(self._opts, rooms=rooms))

    in_ = to

    def except_(self, room: str | Iterable[str]) -> BroadcastOperator:
        """Leave out the sockets in ``room``."""
        return BroadcastOperator(
            self.nsp, replace(self._opts, except_rooms=self._opts.except_rooms | _rooms(room))
        )

    def _flag(self, **changes: Any) -> BroadcastOperator:
        flags = replace(self._opts.flags, **changes)
        return BroadcastOperator(self.nsp, replace(self._opts, flags=flags))

    @property
    def volatile(self) -> BroadcastOperator:
        """Drop the packet for clients that cannot receive it right now."""
        return self._flag(volatile=True)

    @property
    def local(self) -> BroadcastOperator:
        """Only this server's sockets (with a cluster adapter)."""
        return self._flag(local=True)

    def compress(self, value: bool = True) -> BroadcastOperator:
        """Accepted for compatibility; compression is not applied."""
        return self._flag(compress=value)

    def timeout(self, seconds: float) -> BroadcastOperator:
        """Wait at most ``seconds`` for the clients' acks."""
        return self._flag(timeout=seconds)

    # -------------------------------------------------------------------- emit

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Emit to every targeted socket.

        With ``callback``, each client's ack is gathered: ``callback(err, responses)`` once all
        answered (``err`` is ``None``) or when the timeout passes (``err`` is a
        :class:`BroadcastAckTimeout`).
        """
        check_event_name(event)
        nsp = self.nsp
        if callback is None:
            if nsp.server.hooks.broadcast:
                for hook in nsp.server.hooks.broadcast:
                    hook(nsp, self._opts)
            nsp.adapter.broadcast(SioPacket(SioType.EVENT, nsp.name, [event, *args]), self._opts)
            return
        self._emit_with_ack_callback(event, args, callback)

    def send(self, *args: Any) -> None:
        """Emit a ``message`` event."""
        self.emit("message", *args)

    def _emit_with_ack_callback(self, event: str, args: tuple[Any, ...],
                                callback: Callable[..., Any]) -> None:
        nsp = self.nsp
        packet = SioPacket(SioType.EVENT, nsp.name, [event, *args], nsp.next_ack_id())
        responses: list[Any] = []
        answered: set[str] = set()
        targeted = nsp.adapter.local_sids(self._opts)
        state = {"clients": 0, "servers": 0, "expected_servers": -1, "finished": False}
        timer: asyncio.TimerHandle | None = None

        single = self._opts.flags.expect_single_response

        def finish(err: Exception | None) -> None:
            if state["finished"]:
                return
            state["finished"] = True
            if timer is not None:
                timer.cancel()
            if single:  # RemoteSocket.emit: answers like Socket.emit, one value
                callback(err, responses[0] if responses and err is None else None)
            else:
                callback(err, list(responses))

        def check() -> None:
            if (state["expected_servers"] == state["servers"]
                    and len(responses) >= state["clients"]):
                finish(None)

        def on_count(n: int) -> None:  # once per server reached
            state["clients"] += n
            state["servers"] += 1
            check()

        def on_ack(sid: str, answer: list[Any]) -> None:
            if state["finished"] or sid in answered:
                return
            answered.add(sid)
            responses.append(ack_value(answer))
            check()

        def on_timeout() -> None:
            missing = [sid for sid in targeted if sid not in answered]
            finish(BroadcastAckTimeout(list(responses), missing))

        seconds = self._opts.flags.timeout
        if seconds is not None:
            timer = asyncio.get_running_loop().call_later(seconds, on_timeout)
        for hook in nsp.server.hooks.broadcast:
            hook(nsp, self._opts)
        nsp.adapter.broadcast_with_ack(packet, self._opts, on_count, on_ack)
        known = 1 if self._opts.flags.local else nsp.adapter.known_server_count()
        if known is not None:
            state["expected_servers"] = known
            check()
        else:
            async def count_servers() -> None:
                state["expected_servers"] = await nsp.adapter.server_count()
                check()

            spawn(count_servers())

    async def emit_with_ack(self, event: str, *args: Any) -> Any:
        """Emit and wait for every client's ack; returns the answers (the answer, for a
        ``RemoteSocket``'s operator).

        Raises :class:`BroadcastAckTimeout` (with the partial answers) after the timeout.
        """
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(err: Exception | None, responses: Any) -> None:
            if fut.done():
                return
            if err is not None:
                fut.set_exception(err)
            else:
                fut.set_result(responses)

        self.emit(event, *args, callback=done)
        return await fut

    # --------------------------------------------------------------- utilities

    async def fetch_sockets(self) -> list[Socket | RemoteSocket]:
        """The targeted sockets: this server's as :class:`Socket`, other servers' (with a
        cluster adapter) as :class:`RemoteSocket`. Raises
        :class:`~socketwire.ClusterTimeout` when a server does not answer in time (the
        ``timeout`` flag, else 5 seconds)."""
        from .remote import RemoteSocket

        nsp = self.nsp
        return [RemoteSocket(nsp, s) if isinstance(s, dict) else s
                for s in await nsp.adapter.fetch_sockets(self._opts)]

    async def server_side_emit_with_ack(self, event: str, *args: Any) -> list[Any]:
        """Emit ``event`` to the other servers of the cluster and return their answers (one
        per server) within the ``timeout`` flag (5 seconds by default); raises
        :class:`~socketwire.ClusterTimeout`, holding the answers that came, after it."""
        check_server_side_event(event)
        timeout = self._opts.flags.timeout
        return await self.nsp.adapter.server_side_emit_with_ack(
            [event, *args], DEFAULT_REQUEST_TIMEOUT if timeout is None else timeout
        )

    def sockets_join(self, room: str | Iterable[str]) -> None:
        """Make the targeted sockets join ``room``."""
        self.nsp.adapter.add_sockets(self._opts, _rooms(room))

    def sockets_leave(self, room: str | Iterable[str]) -> None:
        """Make the targeted sockets leave ``room``."""
        self.nsp.adapter.del_sockets(self._opts, _rooms(room))

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the targeted sockets."""
        self.nsp.adapter.disconnect_sockets(self._opts, close)
