// @socket.io/redis-emitter 5.1 steered by the Python tests (cluster_support.NodeEmitter).
//
// Usage: node node_emitter.mjs '{"redis": {"port": N}, "key": "socket.io"}'
// Line protocol as tests/interop/js_client.mjs. Ops (nsp="/", rooms=[], except=[], volatile):
//   emit {event, args}            emitter.of(nsp).to(rooms).except(except)[.volatile].emit(...)
//                                 (a reserved name is refused: the reply is ok=false)
//   sockets_join {join} / sockets_leave {leave} / disconnect_sockets {close}
//   server_side_emit {event, args}
//   close {}

import readline from "node:readline";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

const config = JSON.parse(process.argv[2] ?? "{}");

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function fromWire(value) {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value && typeof value === "object") {
    if (typeof value.$bin === "string" && Object.keys(value).length === 1) {
      return Buffer.from(value.$bin, "base64");
    }
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromWire(v);
    return out;
  }
  return value;
}

const client = createClient({ url: `redis://127.0.0.1:${config.redis.port}` });
client.on("error", (err) => send({ kind: "redis_error", message: String(err?.message ?? err) }));
await client.connect();
const emitter = new Emitter(client, { key: config.key ?? "socket.io" });

function target(cmd) {
  let op = emitter.of(cmd.nsp ?? "/");
  if ((cmd.rooms ?? []).length) op = op.to(cmd.rooms);
  if ((cmd.except ?? []).length) op = op.except(cmd.except);
  if (cmd.volatile) op = op.volatile;
  return op;
}

const ops = {
  emit(cmd) {
    target(cmd).emit(cmd.event, ...fromWire(cmd.args ?? []));
    return {};
  },
  sockets_join(cmd) {
    target(cmd).socketsJoin(cmd.join);
    return {};
  },
  sockets_leave(cmd) {
    target(cmd).socketsLeave(cmd.leave);
    return {};
  },
  disconnect_sockets(cmd) {
    target(cmd).disconnectSockets(!!cmd.close);
    return {};
  },
  server_side_emit(cmd) {
    emitter.of(cmd.nsp ?? "/").serverSideEmit(cmd.event, ...fromWire(cmd.args ?? []));
    return {};
  },
  async close() {
    await client.disconnect();
    return {};
  },
};

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  try {
    const op = ops[cmd.op];
    if (!op) throw new Error(`unknown op ${cmd.op}`);
    const result = await op(cmd);
    // the emitter's publishes are fire-and-forget: a PING after them answers once Redis
    // has processed them (same connection, in order)
    if (cmd.op !== "close") await client.ping();
    send({ reply: cmd.id, ok: true, result: result ?? null });
  } catch (err) {
    send({ reply: cmd.id, ok: false, error: String(err?.message ?? err) });
  }
});
lines.on("close", async () => {
  try { await client.disconnect(); } catch { /* gone */ }
  process.exit(0);
});
send({ kind: "ready" });
