"""Mixed-cluster harness: Node socket.io 4.8 servers with Node's Redis adapters, the Node
redis-emitter, and socketwire servers, all over the same Redis, with the official
socket.io-client (tests/interop/js_client.mjs) connected to every node.

- :class:`NodeClusterServer`: tests/cluster/node_cluster_server.mjs (adapter ``classic``,
  ``sharded`` with its subscription mode, or ``streams``), steered op by op; what its own
  ``io.of(nsp).on(event)`` handlers receive is reported as ``server_side`` entries.
- :class:`NodeEmitter`: tests/cluster/node_emitter.mjs (@socket.io/redis-emitter).
- :class:`PyClusterServer`: a socketwire ``Server`` with the same socket handlers (``join``,
  ``leave``, ``whoami``; ``socket.data = {"server": name, **auth["data"]}``), served on a free
  port by ``servers.running``.
- :func:`counted_channel` and :func:`count_now`: the channel each adapter kind counts for
  ``serverCount()``, and its count right now.

Every operation a test needs, on any node, has the same name on both kinds of server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

import socketwire
from interop.jsdriver import JsDriver, from_wire, to_wire
from servers import running

HERE = Path(__file__).resolve().parent
SERVER_SCRIPT = HERE / "node_cluster_server.mjs"
EMITTER_SCRIPT = HERE / "node_emitter.mjs"
WAIT = 10.0

__all__ = [
    "NodeClusterServer",
    "NodeEmitter",
    "PyClusterServer",
    "count_now",
    "counted_channel",
    "subscribers",
    "wait_counted",
    "wait_for",
    "wait_subscribers",
]


def counted_channel(kind: str, nsp: str = "/", key: str = "socket.io") -> tuple[str, str]:
    """``(PUBSUB subcommand, channel)`` that ``serverCount()`` counts for an adapter kind."""
    if kind == "classic":
        return "NUMSUB", f"{key}-request#{nsp}#"
    if kind == "sharded":
        return "SHARDNUMSUB", f"{key}#{nsp}#"
    if kind == "streams":
        return "NUMSUB", f"{key}#{nsp}#"
    raise ValueError(kind)


async def count_now(port: int, kind: str, nsp: str = "/", key: str = "socket.io") -> int:
    """How many servers the counted channel of ``kind`` has on the Redis at ``port``."""
    sub, channel = counted_channel(kind, nsp, key)
    return await subscribers(port, sub, channel)


async def subscribers(port: int, sub: str, channel: str) -> int:
    """``PUBSUB NUMSUB|SHARDNUMSUB channel`` on the Redis at ``port``."""
    client = Redis(host="127.0.0.1", port=port)
    try:
        reply = await client.execute_command(f"PUBSUB {sub}", channel)  # type: ignore[no-untyped-call]
    finally:
        await client.aclose()
    if isinstance(reply, dict):
        return int(sum(reply.values()))
    if reply and isinstance(reply[0], list | tuple):  # redis-py pairs them
        return int(sum(int(pair[1]) for pair in reply))
    return int(reply[1])


async def wait_for(check: Callable[[], Any], timeout: float = WAIT, what: str = "condition") -> Any:
    """Re-check ``check()`` every 10 ms until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := check()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
    return result


Rooms = str | Iterable[str] | None


def _target(rooms: Rooms, except_: Rooms) -> dict[str, Any]:
    def listify(value: Rooms) -> list[str]:
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)

    return {"rooms": listify(rooms), "except": listify(except_)}


class NodeClusterServer(JsDriver):
    """A Node socket.io server in the cluster (see node_cluster_server.mjs for the ops)."""

    name: str
    url: str
    nsps: list[str]

    @classmethod
    async def launch(cls, name: str, *, adapter: str = "classic", redis_port: int | None = None,
                     cluster_ports: list[int] | None = None, mode: str | None = None,
                     key: str = "socket.io", nsps: Iterable[str] = ("/",),
                     **extra: Any) -> NodeClusterServer:
        """Start one; returns once its adapters are subscribed (it counts in serverCount)."""
        nsps = list(nsps)
        config: dict[str, Any] = {"name": name, "adapter": adapter, "key": key, "nsps": nsps,
                                  **extra}
        if cluster_ports:
            config["redis"] = {"cluster": cluster_ports}
        else:
            assert redis_port is not None
            config["redis"] = {"port": redis_port}
            config["countBefore"] = {n: await count_now(redis_port, adapter, n, key) for n in nsps}
        if mode is not None:
            config["mode"] = mode
        server = await cls.start(SERVER_SCRIPT, json.dumps(config))
        ready = server.events(None, "ready")[0]
        server.name = name
        server.url = f"http://127.0.0.1:{ready['port']}"
        server.nsps = nsps
        return server

    async def op(self, op: str, **fields: Any) -> Any:
        """Send one op (fields converted for the wire)."""
        return await self.call(op, **{k: to_wire(v) for k, v in fields.items()})

    # the same operations as PyClusterServer ------------------------------------------

    async def broadcast(self, event: str, *args: Any, nsp: str = "/", rooms: Any = None,
                        except_: Any = None, volatile: bool = False, local: bool = False) -> None:
        """``io.of(nsp).to(rooms).except(except_)[.volatile][.local].emit(event, ...args)``."""
        await self.op("broadcast", nsp=nsp, event=event, args=list(args),
                      volatile=volatile, local=local, **_target(rooms, except_))

    async def broadcast_ack(self, event: str, *args: Any, nsp: str = "/", rooms: Any = None,
                            except_: Any = None,
                            timeout: float = 2.0) -> tuple[str | None, list[Any]]:
        """A broadcast with ack: ``(error message or None, responses)``."""
        r = await self.op("broadcast_ack", nsp=nsp, event=event, args=list(args),
                          timeout=int(timeout * 1000), reply_within=timeout + WAIT,
                          **_target(rooms, except_))
        return r["err"], r["responses"]

    async def fetch_sockets(self, nsp: str = "/", rooms: Any = None, except_: Any = None,
                            local: bool = False) -> list[dict[str, Any]]:
        """``[{id, rooms, data, handshake: {auth, query}}]`` sorted by id."""
        result: list[dict[str, Any]] = await self.op(
            "fetch_sockets", nsp=nsp, local=local, **_target(rooms, except_))
        return result

    async def remote(self, sid: str, action: str, nsp: str = "/", **fields: Any) -> Any:
        """An operation on the (Remote)Socket ``sid`` got from ``fetchSockets``."""
        if "timeout" in fields and fields["timeout"] is not None:
            fields["timeout"] = int(fields["timeout"] * 1000)
        return await self.op("remote", nsp=nsp, sid=sid, action=action, **fields)

    async def sockets_join(self, join: str | list[str], nsp: str = "/", rooms: Any = None,
                           except_: Any = None) -> None:
        """``socketsJoin``."""
        await self.op("sockets_join", nsp=nsp, join=join, **_target(rooms, except_))

    async def sockets_leave(self, leave: str | list[str], nsp: str = "/", rooms: Any = None,
                            except_: Any = None) -> None:
        """``socketsLeave``."""
        await self.op("sockets_leave", nsp=nsp, leave=leave, **_target(rooms, except_))

    async def disconnect_sockets(self, close: bool = False, nsp: str = "/", rooms: Any = None,
                                 except_: Any = None) -> None:
        """``disconnectSockets(close)``."""
        await self.op("disconnect_sockets", nsp=nsp, close=close, **_target(rooms, except_))

    async def server_side_emit(self, event: str, *args: Any, nsp: str = "/") -> None:
        """``serverSideEmit`` without ack."""
        await self.op("server_side_emit", nsp=nsp, event=event, args=list(args))

    async def server_side_emit_ack(self, event: str, *args: Any, nsp: str = "/",
                                   timeout: float = 6.0) -> tuple[str | None, list[Any] | None]:
        """``serverSideEmitWithAck`` (Node's timeout is the adapter's ``requestsTimeout``, set
        with ``launch(..., requestsTimeout=ms)``): ``(error message or None, responses)``;
        ``timeout`` only bounds the wait for the reply."""
        r = await self.op("server_side_emit_ack", nsp=nsp, event=event, args=list(args),
                          reply_within=timeout + WAIT)
        return r["err"], r["responses"]

    async def listen(self, event: str, reply: Any = None, nsp: str = "/") -> None:
        """Register ``io.of(nsp).on(event)``: reports what arrives, acks with ``reply``
        (``[name]`` by default)."""
        await self.op("listen", nsp=nsp, event=event,
                      reply=reply if reply is not None else [self.name])

    def server_side(self, event: str | None = None, nsp: str = "/") -> list[list[Any]]:
        """The argument lists that this server's ``listen`` handlers received."""
        return [from_wire(m["args"]) for m in self.log
                if m.get("kind") == "server_side" and m.get("nsp") == nsp
                and (event is None or m.get("event") == event)]

    async def wait_server_side(self, event: str, count: int = 1, nsp: str = "/",
                               timeout: float = WAIT) -> list[list[Any]]:
        """Wait until ``count`` server-side ``event`` arrived here."""
        await self.wait_until(lambda: len(self.server_side(event, nsp)) >= count, timeout,
                              f"{self.name}: {count} x server-side {event}")
        return self.server_side(event, nsp)

    async def all_rooms(self, nsp: str = "/") -> list[str]:
        """``adapter.allRooms()`` (classic only), sorted."""
        result: list[str] = await self.op("all_rooms", nsp=nsp)
        return result

    async def server_count(self, nsp: str = "/") -> int:
        """``adapter.serverCount()``."""
        return int(await self.op("server_count", nsp=nsp))

    async def local_state(self, nsp: str = "/") -> dict[str, list[str]]:
        """``{socket id: sorted rooms}`` of this server's own sockets."""
        result: dict[str, list[str]] = await self.op("local_state", nsp=nsp)
        return result

    async def close(self) -> None:
        """``io.close()`` and stop the process."""
        with contextlib.suppress(Exception):
            await self.op("close", reply_within=5)
        await self.stop()


class NodeEmitter(JsDriver):
    """@socket.io/redis-emitter in a Node process (see node_emitter.mjs)."""

    @classmethod
    async def launch(cls, redis_port: int, key: str = "socket.io") -> NodeEmitter:
        """Start it; returns once it is connected to Redis."""
        config = {"redis": {"port": redis_port}, "key": key}
        return await cls.start(EMITTER_SCRIPT, json.dumps(config))

    async def emit(self, event: str, *args: Any, nsp: str = "/", rooms: Any = None,
                   except_: Any = None, volatile: bool = False) -> None:
        """``emitter.of(nsp).to(rooms).except(except_).emit(event, ...args)``; returns once
        Redis has the message."""
        await self.call("emit", nsp=nsp, event=event, args=to_wire(list(args)),
                        volatile=volatile, **_target(rooms, except_))

    async def sockets_join(self, join: str | list[str], nsp: str = "/", rooms: Any = None,
                           except_: Any = None) -> None:
        """``socketsJoin``."""
        await self.call("sockets_join", nsp=nsp, join=join, **_target(rooms, except_))

    async def sockets_leave(self, leave: str | list[str], nsp: str = "/", rooms: Any = None,
                            except_: Any = None) -> None:
        """``socketsLeave``."""
        await self.call("sockets_leave", nsp=nsp, leave=leave, **_target(rooms, except_))

    async def disconnect_sockets(self, close: bool = False, nsp: str = "/", rooms: Any = None,
                                 except_: Any = None) -> None:
        """``disconnectSockets(close)``."""
        await self.call("disconnect_sockets", nsp=nsp, close=close, **_target(rooms, except_))

    async def server_side_emit(self, event: str, *args: Any, nsp: str = "/") -> None:
        """``serverSideEmit``."""
        await self.call("server_side_emit", nsp=nsp, event=event, args=to_wire(list(args)))


class PyClusterServer:
    """A socketwire server in the cluster, with the Node harness's socket handlers and the
    same operations as :class:`NodeClusterServer` (async, same names and results)."""

    def __init__(self, name: str, adapter: Callable[..., Any], nsps: Iterable[str] = ("/",),
                 **server_options: Any) -> None:
        self.name = name
        self.nsps = list(nsps)
        self.io = socketwire.Server(adapter=adapter, cors_allowed_origins="*", **server_options)
        self.url = ""
        self.received: list[tuple[str, str, list[Any]]] = []  # (nsp, event, args) server-side
        self._changed = asyncio.Event()
        for nsp_name in self.nsps:
            self._install(nsp_name)

    def _install(self, nsp_name: str) -> None:
        nsp = self.io.of(nsp_name)

        @nsp.on("connection")
        def connection(socket: socketwire.Socket) -> None:
            auth = socket.handshake.auth if isinstance(socket.handshake.auth, dict) else {}
            socket.data = {"server": self.name, **(auth.get("data") or {})}

            @socket.on("join")
            def join(rooms: str | list[str]) -> list[str]:
                socket.join(rooms)
                return sorted(socket.rooms)

            @socket.on("leave")
            def leave(room: str) -> list[str]:
                socket.leave(room)
                return sorted(socket.rooms)

            @socket.on("whoami")
            def whoami() -> dict[str, Any]:
                return {"id": socket.id, "server": self.name, "rooms": sorted(socket.rooms)}

    def nsp(self, name: str = "/") -> Any:
        """The namespace object."""
        return self.io.of(name)

    @contextlib.asynccontextmanager
    async def serving(self, hosting: str = "standalone") -> AsyncIterator[PyClusterServer]:
        """Serve on a free port (``self.url``) until the block ends (the host starts and
        stops the adapters)."""
        async with running(self.io, hosting) as url:
            self.url = url
            yield self

    # the same operations as NodeClusterServer -----------------------------------------

    def _op(self, nsp: str, rooms: Rooms = None, except_: Rooms = None, local: bool = False,
            volatile: bool = False) -> Any:
        target = _target(rooms, except_)
        op = self.io.of(nsp).to(target["rooms"]) if target["rooms"] else self.io.of(nsp)._operator()
        if target["except"]:
            op = op.except_(target["except"])
        if local:
            op = op.local
        if volatile:
            op = op.volatile
        return op

    async def broadcast(self, event: str, *args: Any, nsp: str = "/", rooms: Any = None,
                        except_: Any = None, volatile: bool = False, local: bool = False) -> None:
        """``io.of(nsp).to(rooms).except_(except_)[.volatile][.local].emit(event, *args)``."""
        self._op(nsp, rooms, except_, local, volatile).emit(event, *args)

    async def broadcast_ack(self, event: str, *args: Any, nsp: str = "/", rooms: Any = None,
                            except_: Any = None,
                            timeout: float = 2.0) -> tuple[str | None, list[Any]]:
        """A broadcast with ack: ``(error message or None, responses)``."""
        try:
            responses = await self._op(nsp, rooms, except_).timeout(timeout).emit_with_ack(
                event, *args)
            return None, list(responses)
        except socketwire.AckTimeout as err:
            return str(err), list(getattr(err, "responses", []))

    async def fetch_sockets(self, nsp: str = "/", rooms: Any = None, except_: Any = None,
                            local: bool = False) -> list[dict[str, Any]]:
        """``[{id, rooms, data, handshake: {auth, query}}]`` sorted by id."""
        sockets = await self._op(nsp, rooms, except_, local).fetch_sockets()
        out = [{"id": s.id, "rooms": sorted(s.rooms), "data": s.data,
                "handshake": {"auth": s.handshake.auth, "query": dict(s.handshake.query)}}
               for s in sockets]
        return sorted(out, key=lambda s: s["id"])

    async def remote(self, sid: str, action: str, nsp: str = "/", **fields: Any) -> Any:
        """An operation on the (Remote)Socket ``sid`` got from ``fetch_sockets``."""
        found = [s for s in await self.io.of(nsp).in_(sid).fetch_sockets() if s.id == sid]
        if not found:
            raise AssertionError(f"no socket {sid}")
        socket = found[0]
        if action == "emit":
            args = fields.get("args", [])
            timeout = fields.get("timeout")
            if timeout is not None:
                try:
                    response = await socket.timeout(timeout).emit_with_ack(fields["event"], *args)
                    return {"err": None, "response": response}
                except socketwire.AckTimeout as err:
                    return {"err": str(err), "response": None}
            socket.emit(fields["event"], *args)
        elif action == "join":
            socket.join(fields["rooms"])
        elif action == "leave":
            rooms = fields["rooms"]
            for room in [rooms] if isinstance(rooms, str) else rooms:
                socket.leave(room)
        elif action == "disconnect":
            socket.disconnect(bool(fields.get("close")))
        else:
            raise ValueError(action)
        return {}

    async def sockets_join(self, join: str | list[str], nsp: str = "/", rooms: Any = None,
                           except_: Any = None) -> None:
        """``sockets_join``."""
        self._op(nsp, rooms, except_).sockets_join(join)

    async def sockets_leave(self, leave: str | list[str], nsp: str = "/", rooms: Any = None,
                            except_: Any = None) -> None:
        """``sockets_leave``."""
        self._op(nsp, rooms, except_).sockets_leave(leave)

    async def disconnect_sockets(self, close: bool = False, nsp: str = "/", rooms: Any = None,
                                 except_: Any = None) -> None:
        """``disconnect_sockets(close)``."""
        self._op(nsp, rooms, except_).disconnect_sockets(close)

    async def server_side_emit(self, event: str, *args: Any, nsp: str = "/") -> None:
        """``server_side_emit`` without ack."""
        self.io.of(nsp).server_side_emit(event, *args)

    async def server_side_emit_ack(self, event: str, *args: Any, nsp: str = "/",
                                   timeout: float = 6.0) -> tuple[str | None, list[Any] | None]:
        """``timeout(t).server_side_emit_with_ack``: ``(error message or None, responses)``."""
        try:
            return None, await self.io.of(nsp).timeout(timeout).server_side_emit_with_ack(
                event, *args)
        except socketwire.ClusterTimeout as err:
            return str(err), err.responses

    async def listen(self, event: str, reply: Any = None, nsp: str = "/") -> None:
        """``io.of(nsp).on(event)``: records what arrives, answers with ``reply``."""
        answer = reply if reply is not None else [self.name]

        def handler(*args: Any) -> Any:
            self.received.append((nsp, event, list(args)))
            self._changed.set()
            return answer

        self.io.of(nsp).on(event, handler)

    def server_side(self, event: str | None = None, nsp: str = "/") -> list[list[Any]]:
        """The argument lists that this server's ``listen`` handlers received."""
        return [args for n, e, args in self.received
                if n == nsp and (event is None or e == event)]

    async def wait_server_side(self, event: str, count: int = 1, nsp: str = "/",
                               timeout: float = WAIT) -> list[list[Any]]:
        """Wait until ``count`` server-side ``event`` arrived here."""
        await wait_for(lambda: len(self.server_side(event, nsp)) >= count, timeout,
                       f"{self.name}: {count} x server-side {event}")
        return self.server_side(event, nsp)

    async def all_rooms(self, nsp: str = "/") -> list[str]:
        """``adapter.all_rooms()``, sorted."""
        return sorted(await self.io.of(nsp).adapter.all_rooms())

    async def server_count(self, nsp: str = "/") -> int:
        """``adapter.server_count()``."""
        return int(await self.io.of(nsp).adapter.server_count())

    async def local_state(self, nsp: str = "/") -> dict[str, list[str]]:
        """``{socket id: sorted rooms}`` of this server's own sockets."""
        return {sid: sorted(s.rooms) for sid, s in self.io.of(nsp).sockets.items()}


async def wait_subscribers(port: int, channel: str, count: int = 1, sharded: bool = True,
                           timeout: float = WAIT) -> None:
    """Wait until ``channel`` has ``count`` subscribers (sharded or classic pub/sub): Node's
    sharded adapter subscribes a dynamic room channel without waiting for Redis."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    sub = "SHARDNUMSUB" if sharded else "NUMSUB"
    while (n := await subscribers(port, sub, channel)) != count:
        if loop.time() > deadline:
            raise AssertionError(f"{channel}: {n} subscribers, expected {count}")
        await asyncio.sleep(0.01)


async def wait_counted(port: int, kind: str, count: int, nsp: str = "/",
                       key: str = "socket.io", timeout: float = WAIT) -> None:
    """Wait until ``count`` servers are subscribed to ``kind``'s counted channel."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (n := await count_now(port, kind, nsp, key)) != count:
        if loop.time() > deadline:
            raise AssertionError(f"{n} servers counted on {kind} {nsp}, expected {count}")
        await asyncio.sleep(0.02)
