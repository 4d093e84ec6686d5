// Remote-controlled Socket.IO clients for the chat contract tests, using the official
// socket.io-client. Python drives it with JSON lines on stdin; it answers and reports every
// event it gets as JSON lines on stdout.
//
//   in:  {"re": 1, "op": "connect", "client": "a", "url": "...", "auth": {...}, "transports": [...]}
//   out: {"re": 1, "sid": "..."}                    or {"re": 1, "error": "invalid username"}
//   in:  {"re": 2, "op": "emit", "client": "a", "event": "...", "args": [...], "ack": true}
//   out: {"re": 2, "ack": [...]}                     (at once, with "ack": [], when ack is false)
//   in:  {"re": 3, "op": "disconnect", "client": "a"}
//   out: {"re": 3}
//   out: {"client": "a", "event": "...", "args": [...]}   for every event a client receives
// The process ends when stdin closes.

import readline from "node:readline";
import { io } from "socket.io-client";

const clients = new Map();

function out(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

function connect(cmd) {
  const socket = io(cmd.url, {
    auth: cmd.auth,
    transports: cmd.transports,
    forceNew: true,
    reconnection: false,
  });
  clients.set(cmd.client, socket);
  socket.onAny((event, ...args) => out({ client: cmd.client, event, args }));
  socket.once("connect", () => {
    // wait for the upgrade when one is expected, so the test runs over WebSocket afterwards
    const engine = socket.io.engine;
    const upgrading = cmd.transports.length > 1 && cmd.transports.includes("websocket");
    if (upgrading && engine.transport.name !== "websocket") {
      engine.once("upgrade", () => out({ re: cmd.re, sid: socket.id, transport: "websocket" }));
    } else {
      out({ re: cmd.re, sid: socket.id, transport: engine.transport.name });
    }
  });
  socket.once("connect_error", (err) => {
    out({ re: cmd.re, error: err.message });
    socket.disconnect();
  });
}

function emit(cmd) {
  const socket = clients.get(cmd.client);
  if (cmd.ack) {
    socket.emit(cmd.event, ...cmd.args, (...answer) => out({ re: cmd.re, ack: answer }));
  } else {
    socket.emit(cmd.event, ...cmd.args);
    out({ re: cmd.re, ack: [] });
  }
}

function disconnect(cmd) {
  const socket = clients.get(cmd.client);
  if (socket) socket.disconnect();
  out({ re: cmd.re });
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  try {
    if (cmd.op === "connect") connect(cmd);
    else if (cmd.op === "emit") emit(cmd);
    else if (cmd.op === "disconnect") disconnect(cmd);
    else out({ re: cmd.re, error: "unknown op " + cmd.op });
  } catch (err) {
    out({ re: cmd.re, error: String(err && err.stack ? err.stack : err) });
  }
});
lines.on("close", () => {
  for (const socket of clients.values()) socket.disconnect();
  process.exit(0);
});
