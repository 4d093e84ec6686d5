// Load generator for bench/redis_bench.py: official socket.io-client (WebSocket only).
// node bench/redis_bench_clients.mjs '{"servers": [url, ...], "clients": N, "count": K,
//                                       "rate": R, "timeout": ms, "event": "m"}'
// Opens N clients on every server, asks servers[0] to broadcast K events (R per second, 0 =
// as fast as it can), counts what the clients of each server receive and the latency
// (receive time - send time, both wall clock on this machine). Prints one JSON line.
import { io } from "socket.io-client";

const cfg = JSON.parse(process.argv[2]);
const now = () => performance.timeOrigin + performance.now();
const perServer = cfg.servers.map(() => ({
  received: 0, latencies: [], first: null, last: null, seen: new Set(), firstClient: null }));
const sockets = [];

process.on("unhandledRejection", (err) => {
  process.stdout.write(JSON.stringify({ error: String(err?.message ?? err) }) + "\n");
  process.exit(1);
});

await Promise.all(cfg.servers.flatMap((url, s) =>
  Array.from({ length: cfg.clients }, (_, c) => new Promise((resolve, reject) => {
    const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    sockets.push(socket);
    socket.on("connect", resolve);
    socket.on("connect_error", reject);
    socket.on(cfg.event ?? "m", (seq, sentMs) => {
      const t = now();
      const st = perServer[s];
      st.received++;
      if (c === 0) st.seen.add(seq); // the sequence numbers one client got
      if (st.first === null) st.first = t;
      st.last = t;
      if (cfg.rate > 0 || st.latencies.length < 20000) st.latencies.push(t - sentMs);
    });
  }))));

await new Promise((r) => setTimeout(r, 300)); // every adapter subscribed, sockets settled
const control = io(cfg.servers[0], { transports: ["websocket"], forceNew: true });
await new Promise((r) => control.on("connect", r));
const expected = cfg.count * cfg.clients;
const started = now();
control.emit("burst", { count: cfg.count, rate: cfg.rate, event: cfg.event ?? "m" });
const deadline = started + (cfg.timeout ?? 30000);
while (perServer.some((s) => s.received < expected) && now() < deadline) {
  await new Promise((r) => setTimeout(r, 20));
}
await new Promise((r) => setTimeout(r, 200)); // late duplicates would show

function pct(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function missing(seen) {
  const ranges = [];
  for (let i = 0; i < cfg.count; i++) {
    if (seen.has(i)) continue;
    const last = ranges[ranges.length - 1];
    if (last && last[1] === i - 1) last[1] = i;
    else ranges.push([i, i]);
  }
  return ranges;
}
const out = perServer.map((s) => ({
  received: s.received, expected, missing: missing(s.seen),
  seconds: s.last !== null ? (s.last - started) / 1000 : null,
  p50: pct(s.latencies, 50), p99: pct(s.latencies, 99),
}));
process.stdout.write(JSON.stringify({ started, servers: out }) + "\n");
for (const s of sockets) s.disconnect();
control.disconnect();
process.exit(0);
