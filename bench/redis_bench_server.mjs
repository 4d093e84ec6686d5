// One Node socket.io 4.8 server with @socket.io/redis-adapter (classic) for
// bench/redis_bench.py: node bench/redis_bench_server.mjs PORT REDIS_PORT
// On the client event "burst" {count, rate, event="m"} it broadcasts `count` events [seq, sent_ms]
// to everyone, `rate` per second (0: as fast as it can, yielding every 100).
import http from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const [port, redisPort] = process.argv.slice(2).map(Number);
// @socket.io/redis-adapter does not catch the rejection of a PUBLISH that was in flight when
// the Redis connection dropped: without this handler a Redis restart kills the process
process.on("unhandledRejection", (err) => console.error("unhandled rejection:", err?.message));
const pub = createClient({ url: `redis://127.0.0.1:${redisPort}` });
const sub = pub.duplicate();
pub.on("error", () => {});
sub.on("error", () => {});
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = http.createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub), serveClient: false });
const tick = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

io.on("connection", (socket) => {
  socket.on("burst", async (spec, ack) => {
    const started = performance.now();
    for (let i = 0; i < spec.count; i++) {
      io.emit(spec.event ?? "m", i, performance.timeOrigin + performance.now());
      if (spec.rate > 0) {
        const delay = started + (i * 1000) / spec.rate - performance.now();
        if (delay > 0) await sleep(delay);
      } else if (i % 100 === 99) {
        await tick();
      }
    }
    if (typeof ack === "function") ack("done");
  });
});

httpServer.listen(port, "127.0.0.1", () => console.log("ready"));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
