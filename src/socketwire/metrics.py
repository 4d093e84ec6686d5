"""Metrics for the people running a server: a Prometheus endpoint and OpenTelemetry instruments.

::

    from socketwire.metrics import Metrics
    metrics = Metrics(io)          # counts from now on (server and engine hooks)
    metrics.serve(9464)            # http://127.0.0.1:9464/metrics for Prometheus

From the shell: ``socketwire serve app:io --metrics 9464``, ``socketwire chat --metrics 9464``.

Everything is counted by listeners on ``io.hooks`` and ``io.engine.hooks`` (per connection,
broadcast or ack) and, per message, by the engine's ``PacketCounter`` and the server's
``HandlerTally`` as packets and handler calls pass, into plain integers and fixed-bucket
histograms; the Prometheus collector and the OpenTelemetry observable
instruments read them when scraped, so a server without a ``Metrics`` pays nothing and one with
it pays a few additions per packet. Gauges (clients, sockets, rooms) are computed at scrape
time. The figures are written up in ``docs/metrics.md``.
"""

from __future__ import annotations

import asyncio
import bisect
import importlib.util
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .engine.hooks import PacketCounter
from .engine.session import SessionState
from .server.hooks import HandlerTally

if TYPE_CHECKING:
    from .adapters.base import BroadcastOptions
    from .engine.session import EngineSession
    from .server.namespace import Namespace
    from .server.server import Server
    from .server.socket import Socket

__all__ = ["Histogram", "Metrics"]

PREFIX = "socketwire"
SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                   2.5, 5.0, 10.0)
FANOUT_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
MAX_EVENTS = 500  # distinct event labels kept; later ones are counted as "(other)"

# Engine.IO packet types, and Socket.IO ones inside MESSAGE packets ("4" + digit)
_TYPE_NAMES = {
    "0": "open", "1": "close", "2": "ping", "3": "pong", "4": "message", "5": "upgrade",
    "6": "noop", "40": "connect", "41": "disconnect", "42": "event", "43": "ack",
    "44": "connect_error", "45": "binary_event", "46": "binary_ack", "b": "attachment",
}


class Histogram:
    """A fixed-bucket histogram kept as plain numbers (``observe`` is one bisect)."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one: above every bound
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Count one value."""
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, int]]:
        """``(upper bound, values at or under it)`` pairs, ending with ``"+Inf"``."""
        out = []
        total = 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += n
            out.append(("+Inf" if bound == float("inf") else repr(float(bound)), total))
        return out


class Metrics:
    """Counts what ``io`` does, for Prometheus (``prometheus-client``) and OpenTelemetry.

    ``registry``: the Prometheus ``CollectorRegistry`` to register with (default: the
    process-wide ``prometheus_client.REGISTRY``; ``False``: none). ``opentelemetry``: create
    observable instruments through OpenTelemetry's metrics API (``None``, the default: when
    ``opentelemetry-api`` is installed); ``meter_provider`` picks the provider (default: the
    global one).

    ``packets=False`` leaves out the packets and bytes by type, ``handlers=False`` the handler
    durations and errors: those two are measured for every message (counted inline), the
    rest per connection, broadcast or ack. docs/metrics.md has what each costs.
    """

    def __init__(self, io: Server, *, registry: Any = None, opentelemetry: bool | None = None,
                 meter_provider: Any = None, packets: bool = True,
                 handlers: bool = True) -> None:
        self.io = io
        self._loop: asyncio.AbstractEventLoop | None = None
        self.broadcasts: dict[str, int] = {}
        self.fanout = Histogram(FANOUT_BUCKETS)
        self.ack_round_trip = Histogram(SECONDS_BUCKETS)
        self.handler_duration: dict[str, Histogram] = {}
        self.handler_errors: dict[str, int] = {}
        self.disconnects: dict[str, int] = {}
        self.connections_opened = 0
        self.connections_closed: dict[str, int] = {}
        self.slow_consumer_closes = 0
        self.upgrades = {"success": 0, "failed": 0}
        self._hooks: list[tuple[list[Any], Any]] = []
        self._registry: Any = None
        self._collector: Any = None
        self._http: Any = None
        self._otel: list[Any] = []
        self._otel_histograms: tuple[Any, Any, Any] | None = None

        hooks, engine = io.hooks, io.engine.hooks
        self._packets: PacketCounter | None = None
        self._tally: HandlerTally | None = None
        if packets:
            if engine.packet_counter is not None:
                raise RuntimeError("this server is already counted by another Metrics")
            self._packets = engine.packet_counter = PacketCounter()
        self._hook(engine.connection, self._on_open)
        self._hook(engine.close, self._on_close)
        self._hook(engine.upgrade, self._on_upgrade)
        self._hook(engine.upgrade_failed, self._on_upgrade_failed)
        self._hook(engine.overflow, self._on_overflow)
        self._hook(hooks.disconnect, self._on_disconnect)
        self._hook(hooks.broadcast, self._on_broadcast)
        if handlers:
            if hooks.handler_tally is not None:
                raise RuntimeError("this server is already counted by another Metrics")
            self._tally = hooks.handler_tally = HandlerTally(
                self._handler_runs, self._handler_call, SECONDS_BUCKETS[0])
        self._hook(hooks.ack_received, self._on_ack)

        if registry is not False:
            self._register_prometheus(registry)
        if opentelemetry or (opentelemetry is None and _installed("opentelemetry.metrics")):
            self._register_opentelemetry(meter_provider)

    # ------------------------------------------------------------------ hooks

    def _hook(self, hooks: list[Any], fn: Any) -> None:
        hooks.append(fn)
        self._hooks.append((hooks, fn))

    def _handler_runs(self, event: str, calls: int, seconds: float) -> None:
        """Add a run of the tally (calls under the first bound) to the event's histogram."""
        _label, h = self._histogram(event)
        h.counts[0] += calls
        h.count += calls
        h.sum += seconds

    def _handler_call(self, event: str, seconds: float, ok: bool) -> None:
        """Add one handler call (slow, failed, a coroutine's, or any with OpenTelemetry's
        histograms on) to the figures."""
        label, h = self._histogram(event if type(event) is str else str(event))
        h.observe(seconds)
        if not ok:
            self.handler_errors[label] = self.handler_errors.get(label, 0) + 1
        if self._otel_histograms is not None:
            self._otel_histograms[1].record(seconds, {"event": label})

    def _histogram(self, event: str) -> tuple[str, Histogram]:
        """The label and histogram of an event (``(other)`` past ``MAX_EVENTS`` of them)."""
        h = self.handler_duration.get(event)
        if h is None:
            if len(self.handler_duration) >= MAX_EVENTS:
                event = "(other)"
                h = self.handler_duration.get(event)
            if h is None:
                h = self.handler_duration[event] = Histogram(SECONDS_BUCKETS)
        return event, h

    def flush(self) -> None:
        """Add the handler calls the server counted inline since the last read to the
        histograms (reading the figures does it; call it on the event loop's thread)."""
        if self._tally is not None:
            self._tally.fold()

    def _on_open(self, session: EngineSession) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self.connections_opened += 1

    def _on_close(self, session: EngineSession, reason: str) -> None:
        self.connections_closed[reason] = self.connections_closed.get(reason, 0) + 1

    def _on_upgrade(self, session: EngineSession) -> None:
        self.upgrades["success"] += 1

    def _on_upgrade_failed(self, session: EngineSession) -> None:
        self.upgrades["failed"] += 1

    def _on_overflow(self, session: EngineSession) -> None:
        self.slow_consumer_closes += 1

    def _on_disconnect(self, socket: Socket, reason: str) -> None:
        self.disconnects[reason] = self.disconnects.get(reason, 0) + 1

    def _on_broadcast(self, nsp: Namespace, opts: BroadcastOptions) -> None:
        self.broadcasts[nsp.name] = self.broadcasts.get(nsp.name, 0) + 1
        adapter = nsp.adapter
        if opts.rooms or opts.except_rooms:
            recipients = len(adapter.local_sids(opts))
        else:  # everyone: no list to build
            recipients = len(adapter.sids)
        self.fanout.observe(recipients)
        if self._otel_histograms is not None:
            self._otel_histograms[2].record(recipients)

    def _on_ack(self, socket: Socket, seconds: float) -> None:
        self.ack_round_trip.observe(seconds)
        if self._otel_histograms is not None:
            self._otel_histograms[0].record(seconds)

    # ---------------------------------------------------------- scrape time

    def clients_by_transport(self) -> dict[str, int]:
        """Open Engine.IO connections by transport (``polling``, ``websocket``)."""
        out = {"polling": 0, "websocket": 0}
        for session in list(self.io.engine.sessions.values()):
            if session.state is SessionState.OPEN:
                out[session.transport] = out.get(session.transport, 0) + 1
        return out

    def sockets_by_namespace(self) -> dict[str, int]:
        """Connected sockets per namespace."""
        return {nsp.name: len(nsp.sockets) for nsp in list(self.io.namespaces.values())}

    def rooms_by_namespace(self) -> dict[str, int]:
        """Rooms per namespace, not counting each socket's own room (its id)."""
        out = {}
        for nsp in list(self.io.namespaces.values()):
            sockets = nsp.sockets
            out[nsp.name] = sum(1 for room in list(nsp.adapter.rooms) if room not in sockets)
        return out

    def _received(self) -> dict[str, tuple[int, int]]:
        if self._packets is None:
            return {}
        return {"4" + k if k != "b" else k: v for k, v in self._packets.received().items()}

    def _sent(self) -> dict[str, tuple[int, int]]:
        return {} if self._packets is None else self._packets.sent()

    @property
    def packets_in(self) -> dict[str, int]:
        """Packets received, by kind key (``"42"`` an event, ``"b"`` an attachment...)."""
        return {k: v[0] for k, v in self._received().items()}

    @property
    def bytes_in(self) -> dict[str, int]:
        """Bytes received, by kind key."""
        return {k: v[1] for k, v in self._received().items()}

    @property
    def packets_out(self) -> dict[str, int]:
        """Packets sent, by kind key (``"42"`` an event, ``"2"`` a ping...)."""
        return {k: v[0] for k, v in self._sent().items()}

    @property
    def bytes_out(self) -> dict[str, int]:
        """Bytes sent, by kind key."""
        return {k: v[1] for k, v in self._sent().items()}

    def snapshot(self) -> dict[str, Any]:
        """Every figure as plain data (what the exporters publish). Call it on the event
        loop's thread; :meth:`snapshot_threadsafe` from another one."""
        def named(counts: dict[str, int]) -> dict[str, int]:
            return {_TYPE_NAMES.get(k, k): v for k, v in counts.items()}

        self.flush()

        return {
            "clients": self.clients_by_transport(),
            "sockets": self.sockets_by_namespace(),
            "rooms": self.rooms_by_namespace(),
            "packets_in": named(self.packets_in),
            "bytes_in": named(self.bytes_in),
            "packets_out": named(self.packets_out),
            "bytes_out": named(self.bytes_out),
            "broadcasts": dict(self.broadcasts),
            "broadcast_recipients": _copy(self.fanout),
            "ack_round_trip": _copy(self.ack_round_trip),
            "handler_duration": {e: _copy(h) for e, h in dict(self.handler_duration).items()},
            "handler_errors": dict(self.handler_errors),
            "disconnects": dict(self.disconnects),
            "connections_opened": self.connections_opened,
            "connections_closed": dict(self.connections_closed),
            "slow_consumer_closes": self.slow_consumer_closes,
            "upgrades": dict(self.upgrades),
        }

    def snapshot_threadsafe(self, timeout: float = 5.0) -> dict[str, Any]:
        """:meth:`snapshot` taken on the event loop's thread (the exporters' threads call this,
        so that counters never go backwards nor tables change while read)."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return self.snapshot()
        try:
            if asyncio.get_running_loop() is loop:
                return self.snapshot()
        except RuntimeError:
            pass
        done = threading.Event()
        result: list[dict[str, Any]] = []

        def take() -> None:
            try:
                result.append(self.snapshot())
            finally:
                done.set()

        try:
            loop.call_soon_threadsafe(take)
        except RuntimeError:  # the loop closed meanwhile
            return self.snapshot()
        if not done.wait(timeout) or not result:
            return self.snapshot()  # a blocked loop: read as things are
        return result[0]

    # ------------------------------------------------------------ Prometheus

    def _register_prometheus(self, registry: Any) -> None:
        if registry is None:
            if not _installed("prometheus_client"):
                return  # nothing to register with; serve() says what to install
            from prometheus_client import REGISTRY
            registry = REGISTRY
        self._collector = _PrometheusCollector(self)
        registry.register(self._collector)
        self._registry = registry

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve the Prometheus text format at ``http://HOST:PORT/metrics`` (a thread of
        ``prometheus-client``); returns the port (useful with ``port=0``)."""
        if not _installed("prometheus_client"):
            raise RuntimeError('the Prometheus endpoint needs prometheus-client: '
                               'pip install "socketwire[metrics]"')
        from prometheus_client import CollectorRegistry, start_http_server

        if self._registry is None:
            self._register_prometheus(CollectorRegistry())
        server, _thread = start_http_server(port, addr=host, registry=self._registry)
        self._http = server
        return int(server.server_address[1])

    # --------------------------------------------------------- OpenTelemetry

    def _register_opentelemetry(self, meter_provider: Any) -> None:
        from opentelemetry import metrics as otel

        provider = meter_provider or otel.get_meter_provider()
        meter = provider.get_meter("socketwire")
        cache: dict[str, Any] = {"at": -1.0, "snap": {}}

        def snap() -> dict[str, Any]:  # one snapshot for all the callbacks of a collection
            loop_time = time.monotonic()
            if loop_time - cache["at"] > 0.5:
                cache["snap"], cache["at"] = self.snapshot_threadsafe(), loop_time
            return cache["snap"]  # type: ignore[no-any-return]

        def by(label: str, key: str) -> Callable[[Any], Iterator[Any]]:
            def callback(options: Any) -> Iterator[Any]:
                for name, value in snap()[key].items():
                    yield otel.Observation(value, {label: name})
            return callback

        def one(key: str) -> Callable[[Any], Iterator[Any]]:
            def callback(options: Any) -> Iterator[Any]:
                yield otel.Observation(snap()[key], {})
            return callback

        gauge, counter = meter.create_observable_up_down_counter, meter.create_observable_counter
        self._otel = [
            gauge("socketwire.clients", [by("transport", "clients")],
                  description="open connections by transport"),
            gauge("socketwire.sockets", [by("namespace", "sockets")],
                  description="connected sockets by namespace"),
            gauge("socketwire.rooms", [by("namespace", "rooms")],
                  description="rooms by namespace"),
            counter("socketwire.packets.received", [by("type", "packets_in")]),
            counter("socketwire.packets.sent", [by("type", "packets_out")]),
            counter("socketwire.bytes.received", [by("type", "bytes_in")], unit="By"),
            counter("socketwire.bytes.sent", [by("type", "bytes_out")], unit="By"),
            counter("socketwire.broadcasts", [by("namespace", "broadcasts")]),
            counter("socketwire.handler.errors", [by("event", "handler_errors")]),
            counter("socketwire.disconnects", [by("reason", "disconnects")]),
            counter("socketwire.connections.opened", [one("connections_opened")]),
            counter("socketwire.connections.closed", [by("reason", "connections_closed")]),
            counter("socketwire.slow_consumer.closes", [one("slow_consumer_closes")]),
            counter("socketwire.upgrades", [by("outcome", "upgrades")]),
        ]
        # Histograms have no observable form: recorded as they happen, and only when an SDK
        # is behind the API (the API's default proxy would drop them, at a cost per call)
        if meter_provider is not None or type(provider).__name__ != "_ProxyMeterProvider":
            self._otel_histograms = (
                meter.create_histogram("socketwire.ack.round_trip", unit="s",
                                       description="emit-with-ack round trips"),
                meter.create_histogram("socketwire.handler.duration", unit="s",
                                       description="event handler durations"),
                meter.create_histogram("socketwire.broadcast.recipients",
                                       description="local recipients per broadcast"),
            )
            if self._tally is not None:
                self._tally.limit = -1.0  # every call recorded one by one: no inline runs

    # ----------------------------------------------------------------- close

    def close(self) -> None:
        """Stop counting: remove the hooks, unregister, stop the endpoint."""
        self.flush()
        engine, hooks_ = self.io.engine.hooks, self.io.hooks
        if self._packets is not None and engine.packet_counter is self._packets:
            engine.packet_counter = None
        if self._tally is not None and hooks_.handler_tally is self._tally:
            hooks_.handler_tally = None
        self._tally = None
        for hooks, fn in self._hooks:
            if fn in hooks:
                hooks.remove(fn)
        self._hooks = []
        if self._registry is not None and self._collector is not None:
            self._registry.unregister(self._collector)
            self._registry = self._collector = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        self._otel_histograms = None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _copy(h: Histogram) -> Histogram:
    c = Histogram(h.bounds)
    c.counts, c.count, c.sum = list(h.counts), h.count, h.sum
    return c


class _PrometheusCollector:
    """Builds the Prometheus metric families from a :class:`Metrics` at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []  # no collect() at registration time

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        snap = self.metrics.snapshot_threadsafe()

        def family(kind: Any, name: str, doc: str, label: str | None, key: str) -> Any:
            values = snap[key]
            f = kind(f"{PREFIX}_{name}", doc, labels=[label] if label else None)
            if isinstance(values, int):
                f.add_metric([], values)
            else:
                for k, v in values.items():
                    f.add_metric([k], v)
            return f

        def histogram(name: str, doc: str, key: str) -> Any:
            h = snap[key]
            f = HistogramMetricFamily(f"{PREFIX}_{name}", doc)
            f.add_metric([], h.cumulative(), h.sum)
            return f

        G, C = GaugeMetricFamily, CounterMetricFamily
        yield family(G, "connected_clients", "Open connections by transport.", "transport",
                     "clients")
        yield family(G, "sockets", "Connected sockets by namespace.", "namespace", "sockets")
        yield family(G, "rooms", "Rooms by namespace (not counting each socket's own).",
                     "namespace", "rooms")
        yield family(C, "packets_received", "Packets received by type (Engine.IO MESSAGE "
                     "packets by their Socket.IO type).", "type", "packets_in")
        yield family(C, "packets_sent", "Packets sent by type (pings included).", "type",
                     "packets_out")
        yield family(C, "received_bytes", "Bytes received in packets, by type.", "type",
                     "bytes_in")
        yield family(C, "sent_bytes", "Bytes sent in packets, by type.", "type", "bytes_out")
        yield family(C, "broadcasts", "Broadcasts by namespace.", "namespace", "broadcasts")
        yield histogram("broadcast_recipients", "Local recipients of each broadcast.",
                        "broadcast_recipients")
        yield histogram("ack_round_trip_seconds", "Time from an emit with ack to its answer.",
                        "ack_round_trip")
        duration = HistogramMetricFamily(f"{PREFIX}_handler_duration_seconds",
                                         "Event handler durations, by event.", labels=["event"])
        for event, h in snap["handler_duration"].items():
            duration.add_metric([event], h.cumulative(), h.sum)
        yield duration
        yield family(C, "handler_errors", "Handlers that raised or returned what could not be "
                     "sent, by event.", "event", "handler_errors")
        yield family(C, "disconnects", "Socket disconnections by reason.", "reason",
                     "disconnects")
        yield family(C, "connections_opened", "Engine.IO connections opened.", None,
                     "connections_opened")
        yield family(C, "connections_closed", "Engine.IO connections closed, by reason.",
                     "reason", "connections_closed")
        yield family(C, "slow_consumer_closes", "Connections closed because their unsent data "
                     "passed max_buffered_bytes.", None, "slow_consumer_closes")
        yield family(C, "upgrades", "Upgrades from polling to WebSocket, by outcome.",
                     "outcome", "upgrades")
