// A Node socket.io 4.8 server in a Redis cluster, steered by the Python tests
// (tests/cluster/cluster_support.py: NodeClusterServer).
//
// Usage: node node_cluster_server.mjs '<json config>'
//   config {name, adapter: "classic" | "sharded" | "streams", mode (sharded subscription mode:
//           "static" | "dynamic" | "dynamic-private"), redis: {port} or {cluster: [ports]},
//           key (classic key / sharded and streams channelPrefix, default "socket.io"),
//           nsps: ["/", ...], requestsTimeout (ms, classic), streams: {...options},
//           recovery: {maxDisconnectionDuration, skipMiddlewares} or null}
//
// Same line protocol as tests/interop/js_client.mjs: one JSON command per line on stdin
// {"id": N, "op": "...", ...} -> {"reply": N, "ok": true, "result": ...} or {"ok": false, "error"},
// and reports {"kind": "...", ...} for what the server observes. Binary values cross as
// {"$bin": base64}.
//
// Targeting fields shared by the ops: nsp="/", rooms=[], except=[], local=false, volatile=false.
// Ops:
//   broadcast {event, args}                          io.of(nsp).to(rooms).except(except)...emit
//   broadcast_ack {event, args, timeout}             ...timeout(ms).emit(..., cb) -> {err, responses}
//   fetch_sockets {}                                 -> [{id, rooms, data, handshake: {auth, query}}]
//   remote {sid, action: "emit"|"join"|"leave"|"disconnect", event, args, rooms, close, timeout}
//                                                    on the RemoteSocket (or Socket) with that id
//                                                    (emit with timeout: emitWithAck, -> {err, response})
//   sockets_join {join} / sockets_leave {leave} / disconnect_sockets {close}
//   server_side_emit {event, args}                   io.of(nsp).serverSideEmit
//   server_side_emit_ack {event, args}               -> {err, responses} (the adapter's timeout)
//   listen {event, reply}                            io.of(nsp).on(event): reported as
//                                                    {kind: "server_side", nsp, event, args};
//                                                    answers an ack with `reply` (default [name])
//   all_rooms {} (classic) -> sorted rooms;  server_count {} -> n
//   local_state {} -> {socket id: sorted rooms} of this server's sockets
//   socket_emit {sid, event, args}                    a local socket's emit
//   close {}                                         io.close(), then the Redis clients
// Reports: ready {port}, connection {nsp, id}, disconnect {nsp, id, reason},
//   server_side {nsp, event, args, acked}, redis_error {message} (once per outage), redis_ready.

import http from "node:http";
import readline from "node:readline";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { createClient, createCluster } from "redis";

const config = JSON.parse(process.argv[2] ?? "{}");
const name = config.name ?? "node";
const kind = config.adapter ?? "classic";
const key = config.key ?? "socket.io";
const nsps = config.nsps ?? ["/"];

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function toWire(value) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString("base64") };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("base64") };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (value instanceof Set) return [...value].map(toWire);
  if (Array.isArray(value)) return value.map(toWire);
  if (value instanceof Error) return { $error: value.message };
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = toWire(v);
    return out;
  }
  if (typeof value === "function") return { $fn: true };
  return value === undefined ? null : value;
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

// ------------------------------------------------------------------ Redis clients

let outage = false;
function watch(client, label) {
  client.on("error", (err) => {
    if (!outage) {
      outage = true;
      send({ kind: "redis_error", client: label, message: String(err?.message ?? err) });
    }
  });
  client.on("ready", () => {
    if (outage) {
      outage = false;
      send({ kind: "redis_ready", client: label });
    }
  });
  return client;
}

const reconnectStrategy = (retries) => Math.min(retries * 50, 500);

function makeClient() {
  if (config.redis?.cluster) {
    return createCluster({
      rootNodes: config.redis.cluster.map((port) => ({ url: `redis://127.0.0.1:${port}` })),
      defaults: { socket: { reconnectStrategy } },
    });
  }
  return createClient({ url: `redis://127.0.0.1:${config.redis.port}`, socket: { reconnectStrategy } });
}

const clients = [];
async function connected(client, label) {
  watch(client, label);
  clients.push(client);
  await client.connect();
  return client;
}

const pub = await connected(makeClient(), "pub");
let adapter;
if (kind === "classic") {
  const sub = await connected(pub.duplicate(), "sub");
  adapter = createAdapter(pub, sub, {
    key, requestsTimeout: config.requestsTimeout ?? 5000,
    publishOnSpecificResponseChannel: !!config.publishOnSpecificResponseChannel,
  });
} else if (kind === "sharded") {
  const sub = await connected(pub.duplicate(), "sub");
  adapter = createShardedAdapter(pub, sub, { channelPrefix: key, subscriptionMode: config.mode ?? "dynamic" });
} else if (kind === "streams") {
  adapter = createStreamsAdapter(pub, { channelPrefix: key, ...(config.streams ?? {}) });
} else {
  throw new Error(`unknown adapter ${kind}`);
}

// --------------------------------------------------------------------- the server

const httpServer = http.createServer();
const io = new Server(httpServer, {
  adapter,
  cors: { origin: "*" },
  ...(config.recovery ? { connectionStateRecovery: config.recovery } : {}),
});

function nspOf(cmd) {
  return io.of(cmd.nsp ?? "/");
}

function target(cmd) {
  let op = nspOf(cmd);
  const rooms = cmd.rooms ?? [];
  const except = cmd.except ?? [];
  if (rooms.length) op = op.to(rooms);
  if (except.length) op = op.except(except);
  if (cmd.local) op = op.local;
  if (cmd.volatile) op = op.volatile;
  return op;
}

function describe(socket) {
  return {
    id: socket.id,
    rooms: [...socket.rooms].sort(),
    data: toWire(socket.data ?? null),
    handshake: { auth: toWire(socket.handshake?.auth ?? null), query: toWire(socket.handshake?.query ?? null) },
  };
}

for (const nspName of nsps) {
  const nsp = io.of(nspName);
  nsp.on("connection", (socket) => {
    socket.data = { server: name, ...(socket.handshake.auth?.data ?? {}) };
    send({ kind: "connection", nsp: nspName, id: socket.id });
    socket.on("join", (rooms, ack) => {
      socket.join(rooms);
      if (typeof ack === "function") ack([...socket.rooms].sort());
    });
    socket.on("leave", (room, ack) => {
      socket.leave(room);
      if (typeof ack === "function") ack([...socket.rooms].sort());
    });
    socket.on("whoami", (ack) => ack({ id: socket.id, server: name, rooms: [...socket.rooms].sort() }));
    socket.on("disconnect", (reason) => send({ kind: "disconnect", nsp: nspName, id: socket.id, reason }));
  });
}

const listening = new Set();

const ops = {
  broadcast(cmd) {
    target(cmd).emit(cmd.event, ...fromWire(cmd.args ?? []));
    return {};
  },
  broadcast_ack(cmd) {
    return new Promise((resolve) => {
      target(cmd).timeout(cmd.timeout ?? 2000).emit(cmd.event, ...fromWire(cmd.args ?? []), (err, responses) => {
        resolve({ err: err ? err.message : null, responses: toWire(responses ?? []) });
      });
    });
  },
  async fetch_sockets(cmd) {
    let op = target(cmd);
    if (cmd.timeout) op = op.timeout(cmd.timeout);
    const sockets = await op.fetchSockets();
    return sockets.map(describe).sort((a, b) => (a.id < b.id ? -1 : 1));
  },
  async remote(cmd) {
    const sockets = await nspOf(cmd).in(cmd.sid).fetchSockets();
    const socket = sockets.find((s) => s.id === cmd.sid);
    if (!socket) throw new Error(`no socket ${cmd.sid}`);
    switch (cmd.action) {
      case "emit":
        if (cmd.timeout) {
          try {
            const response = await socket.timeout(cmd.timeout).emitWithAck(cmd.event, ...fromWire(cmd.args ?? []));
            return { err: null, response: toWire(response) };
          } catch (err) {
            return { err: err.message, response: null };
          }
        }
        socket.emit(cmd.event, ...fromWire(cmd.args ?? []));
        return {};
      case "join":
        socket.join(cmd.rooms);
        return {};
      case "leave":
        for (const room of [].concat(cmd.rooms)) socket.leave(room);
        return {};
      case "disconnect":
        socket.disconnect(!!cmd.close);
        return {};
      default:
        throw new Error(`unknown action ${cmd.action}`);
    }
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
    nspOf(cmd).serverSideEmit(cmd.event, ...fromWire(cmd.args ?? []));
    return {};
  },
  async server_side_emit_ack(cmd) {
    try {
      // the timeout is the adapter's (classic: requestsTimeout; cluster adapters: 5 s)
      const responses = await nspOf(cmd).serverSideEmitWithAck(cmd.event, ...fromWire(cmd.args ?? []));
      return { err: null, responses: toWire(responses) };
    } catch (err) {
      return { err: err.message, responses: toWire(err.responses ?? null) };
    }
  },
  listen(cmd) {
    const nspName = cmd.nsp ?? "/";
    const id = `${nspName}\u0000${cmd.event}`;
    if (listening.has(id)) return {};
    listening.add(id);
    const reply = cmd.reply ?? [name];
    io.of(nspName).on(cmd.event, (...args) => {
      let ack = null;
      if (args.length && typeof args[args.length - 1] === "function") ack = args.pop();
      send({ kind: "server_side", nsp: nspName, event: cmd.event, args: toWire(args), acked: ack !== null });
      if (ack) ack(fromWire(reply));
    });
    return {};
  },
  async all_rooms(cmd) {
    return [...(await nspOf(cmd).adapter.allRooms())].sort();
  },
  async server_count(cmd) {
    return await nspOf(cmd).adapter.serverCount();
  },
  local_state(cmd) {
    const out = {};
    for (const [id, socket] of nspOf(cmd).sockets) out[id] = [...socket.rooms].sort();
    return out;
  },
  socket_emit(cmd) {
    const socket = nspOf(cmd).sockets.get(cmd.sid);
    if (!socket) throw new Error(`no local socket ${cmd.sid}`);
    socket.emit(cmd.event, ...fromWire(cmd.args ?? []));
    return {};
  },
  async close() {
    await shutdown();
    return {};
  },
};

// commands still queued in a Redis client when it disconnects reject: expected at shutdown
process.on("unhandledRejection", (err) => {
  if (!closing) send({ kind: "driver_error", error: `unhandled rejection: ${err?.stack ?? err}` });
});

let closing = null;
function shutdown() {
  if (!closing) {
    closing = (async () => {
      await new Promise((resolve) => io.close(() => resolve()));
      for (const client of clients) {
        try { await client.disconnect(); } catch { /* already gone */ }
      }
    })();
  }
  return closing;
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (err) {
    send({ kind: "driver_error", error: `bad command: ${err.message}` });
    return;
  }
  try {
    const op = ops[cmd.op];
    if (!op) throw new Error(`unknown op ${cmd.op}`);
    const result = await op(cmd);
    send({ reply: cmd.id, ok: true, result: result ?? null });
  } catch (err) {
    send({ reply: cmd.id, ok: false, error: String(err?.stack ?? err) });
  }
});
lines.on("close", async () => {
  await shutdown();
  process.exit(0);
});

httpServer.listen(config.port ?? 0, "127.0.0.1", async () => {
  // ready once every namespace's adapter has subscribed: this server is counted
  const deadline = Date.now() + 10000;
  for (const nspName of nsps) {
    const nsp = io.of(nspName);
    const before = config.countBefore?.[nspName] ?? 0;
    while ((await nsp.adapter.serverCount()) <= before) {
      if (Date.now() > deadline) {
        send({ kind: "driver_error", error: `${nspName}: adapter not subscribed after 10 s` });
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  send({ kind: "ready", port: httpServer.address().port, name });
});
