// Admin UI tests: the official socket.io-client (Node) as an admin dashboard would use it.
//
// stdin, one JSON command per line:
//   {"op": "connect", "name": N, "url": URL, "opts": {...}}   open client socket N (io(url, opts))
//   {"op": "emit", "name": N, "event": E, "args": [...]}       N.emit(E, ...args)
//   {"op": "close", "name": N}                                 N.disconnect()
// stdout, one JSON object per line, what the sockets observe:
//   {"name": N, "kind": "connect" | "connect_error" | "disconnect" | "event", ...}
// Binary values are written as {"$bin": base64}.

import readline from "node:readline";
import { io } from "socket.io-client";

const sockets = new Map();

function toWire(value) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString("base64") };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("base64") };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  }
  return value;
}

function report(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function open({ name, url, opts }) {
  const socket = io(url, { forceNew: true, reconnection: false, ...opts });
  sockets.set(name, socket);
  socket.on("connect", () => report({ name, kind: "connect", id: socket.id }));
  socket.on("connect_error", (err) =>
    report({ name, kind: "connect_error", message: err.message, data: err.data ?? null }));
  socket.on("disconnect", (reason) => report({ name, kind: "disconnect", reason }));
  socket.onAny((event, ...args) => report({ name, kind: "event", event, args: toWire(args) }));
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const cmd = JSON.parse(line);
  if (cmd.op === "connect") open(cmd);
  else if (cmd.op === "emit") sockets.get(cmd.name)?.emit(cmd.event, ...(cmd.args || []));
  else if (cmd.op === "close") sockets.get(cmd.name)?.disconnect();
});
rl.on("close", () => {
  for (const socket of sockets.values()) socket.disconnect();
  process.exit(0);
});
report({ kind: "ready" });
