// Test driver for the official socket.io-client 4.8 (Node), steered by the Python tests.
//
// Protocol: one JSON object per line on stdin (a command), one JSON object per line on stdout.
//   command  {"id": N, "op": "...", ...}  ->  {"reply": N, "ok": true, "result": {...}} or
//                                                  {"reply": N, "ok": false, "error": "..."}
//   whatever the clients observe is reported as      {"c": NAME, "kind": "...", ...}
// Binary values cross the pipe as {"$bin": "<base64>"}, both ways. Towards the client also
// {"$u8": b64} (a Uint8Array), {"$arraybuffer": b64}, {"$date": ISO} and {"$undefined": true}.
//
// opts.parser "msgpack" selects socket.io-msgpack-parser.
// Ops:
//   connect   {c, url, nsp="/", opts={}, share=null, answers={}}  open client socket C
//             (`share`: another client's name; the new socket uses that client's Manager, i.e.
//             the same Engine.IO connection). Replies after the first connect/connect_error.
//             `early` {event, args, timeout}: emitted with that ack timeout (ms) right after
//             io(), before the connection is up; its outcome is reported as kind "early_ack"
//             {args} or {err}.
//   emit      {c, event, args=[], ack=false, timeout=null, volatile=false}
//             with `ack`, replies once the server answered: {args} or {err: message}.
//   answers   {c, answers}   how C answers server emits that want an ack, per event:
//             "echo" (the received args), "never", or {"reply": [args...]}.
//   state     {c}            {connected, id, transport, engine_id}
//   disconnect {c}           socket.disconnect()
//   close_transport {c}      close the Engine.IO connection under C (no DISCONNECT packet)
//   reset     {}             disconnect and forget every client
//   stream    {c, event, count, every_ms=1}  emit event with [i] for i in 0..count-1, one
//             every every_ms (the first at once); replies once all were emitted.
// Reported kinds: connect {id, transport, recovered}, connect_error {message, data},
// disconnect {reason, description}, event {event, args, acked}, upgrade {transport},
// reconnect {attempt}, reconnect_attempt {attempt}.

import readline from "node:readline";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const clients = new Map();

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function toWire(value) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString("base64") };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("base64") };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (Array.isArray(value)) return value.map(toWire);
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
    // JavaScript values JSON has no form for (the msgpack parser writes each its own way)
    if (typeof value.$u8 === "string" && Object.keys(value).length === 1) {
      return new Uint8Array(Buffer.from(value.$u8, "base64"));
    }
    if (typeof value.$arraybuffer === "string" && Object.keys(value).length === 1) {
      return new Uint8Array(Buffer.from(value.$arraybuffer, "base64")).buffer;
    }
    if (typeof value.$date === "string" && Object.keys(value).length === 1) {
      return new Date(value.$date);
    }
    if (value.$undefined === true && Object.keys(value).length === 1) return undefined;
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromWire(v);
    return out;
  }
  return value;
}

function errorInfo(err) {
  if (!err) return null;
  return { message: err.message ?? String(err), data: toWire(err.data ?? null) };
}

function clientOf(name) {
  const entry = clients.get(name);
  if (!entry) throw new Error(`no client named ${name}`);
  return entry;
}

function watchEngine(name, manager) {
  // the Engine.IO socket is replaced on every reconnection: follow each one
  const hook = () => {
    const engine = manager.engine;
    if (!engine || engine.__watched) return;
    engine.__watched = true;
    engine.on("upgrade", (transport) => send({ c: name, kind: "upgrade", transport: transport.name }));
  };
  hook();
  manager.on("open", hook);
  manager.on("reconnect", (attempt) => send({ c: name, kind: "reconnect", attempt }));
  manager.on("reconnect_attempt", (attempt) => send({ c: name, kind: "reconnect_attempt", attempt }));
}

function openClient(cmd) {
  const name = cmd.c;
  if (clients.has(name)) throw new Error(`client ${name} exists`);
  const nsp = cmd.nsp ?? "/";
  const opts = fromWire(cmd.opts ?? {});
  if (opts.parser === "msgpack") opts.parser = msgpackParser;
  let socket;
  if (cmd.share) {
    const manager = clientOf(cmd.share).socket.io;
    // a Manager keeps one Socket per namespace and would hand back the existing one
    if (manager.nsps[nsp]) throw new Error(`${cmd.share}'s connection already has ${nsp}`);
    socket = manager.socket(nsp, opts); // connects by itself
  } else {
    socket = io(cmd.url + (nsp === "/" ? "" : nsp), { forceNew: true, ...opts });
    watchEngine(name, socket.io);
  }
  const entry = { socket, answers: cmd.answers ?? {} };
  clients.set(name, entry);
  if (cmd.early) {
    const early = cmd.early;
    socket.timeout(early.timeout).emit(early.event, ...fromWire(early.args ?? []), (err, ...answer) => {
      send({ c: name, kind: "early_ack", ...(err ? { err: err.message } : { args: toWire(answer) }) });
    });
  }
  return new Promise((resolve) => {
    let first = true;
    socket.on("connect", () => {
      const engine = socket.io.engine;
      const info = { id: socket.id, transport: engine?.transport?.name ?? null,
        engine_id: engine?.id ?? null, recovered: socket.recovered };
      send({ c: name, kind: "connect", ...info });
      if (first) { first = false; resolve({ connected: true, ...info }); }
    });
    socket.on("connect_error", (err) => {
      const info = errorInfo(err);
      send({ c: name, kind: "connect_error", ...info });
      if (first) { first = false; resolve({ connected: false, ...info }); }
    });
    socket.on("disconnect", (reason, description) => {
      send({ c: name, kind: "disconnect", reason,
        description: description ? String(description.description ?? description.message ?? "") : null });
    });
    socket.onAny((event, ...args) => {
      let ack = null;
      if (args.length && typeof args[args.length - 1] === "function") ack = args.pop();
      send({ c: name, kind: "event", event, args: toWire(args), acked: ack !== null });
      if (ack === null) return;
      const rule = entry.answers[event] ?? "echo";
      if (rule === "never") return;
      if (rule === "echo") ack(...args);
      else ack(...fromWire(rule.reply ?? []));
    });
  });
}

function emit(cmd) {
  let socket = clientOf(cmd.c).socket;
  const args = fromWire(cmd.args ?? []);
  if (cmd.volatile) socket = socket.volatile;
  if (!cmd.ack) {
    socket.emit(cmd.event, ...args);
    return {};
  }
  return new Promise((resolve) => {
    if (cmd.timeout != null) {
      socket.timeout(cmd.timeout).emit(cmd.event, ...args, (err, ...answer) => {
        resolve(err ? { err: err.message } : { args: toWire(answer) });
      });
    } else {
      // (with `retries`, the callback is err-first: an Error is reported as {err})
      socket.emit(cmd.event, ...args, (...answer) => resolve(answer[0] instanceof Error
        ? { err: answer[0].message } : { args: toWire(answer) }));
    }
  });
}

function state(cmd) {
  const { socket } = clientOf(cmd.c);
  const engine = socket.io.engine;
  return {
    connected: socket.connected,
    id: socket.id ?? null,
    transport: engine?.transport?.name ?? null,
    engine_id: engine?.id ?? null,
  };
}

function stream(cmd) {
  const { socket } = clientOf(cmd.c);
  return new Promise((resolve) => {
    let i = 0;
    const next = () => {
      socket.emit(cmd.event, i);
      i += 1;
      if (i >= cmd.count) resolve({});
      else setTimeout(next, cmd.every_ms ?? 1);
    };
    next();
  });
}

const ops = {
  connect: openClient,
  stream,
  emit,
  state,
  answers(cmd) {
    clientOf(cmd.c).answers = cmd.answers;
    return {};
  },
  disconnect(cmd) {
    clientOf(cmd.c).socket.disconnect();
    return {};
  },
  close_transport(cmd) {
    clientOf(cmd.c).socket.io.engine.close();
    return {};
  },
  reset() {
    for (const { socket } of clients.values()) {
      socket.removeAllListeners();
      socket.offAny();
      socket.disconnect();
      socket.io.engine?.close();
    }
    clients.clear();
    return {};
  },
};

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
    send({ reply: cmd.id, ok: true, result });
  } catch (err) {
    send({ reply: cmd.id, ok: false, error: String(err?.stack ?? err) });
  }
});
lines.on("close", () => {
  ops.reset();
  process.exit(0);
});
send({ kind: "ready", version: "socket.io-client" });
