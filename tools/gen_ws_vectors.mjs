#!/usr/bin/env node
// Generates WebSocket frame vectors from the `ws` package (the library under Node's engine.io)
// for socketwire's standalone host codec (socketwire/hosting/wsframes.py).
//
//   node tools/gen_ws_vectors.mjs         (after `npm ci`; writes tests/vectors/ws_frames.json)
//
// This script only chooses the inputs: every frame comes from ws's Sender and every decoded
// result from ws's server-side Receiver. Bytes are hex. Sections:
//   "server_frames": what ws's Sender writes for a server message (unmasked, one frame):
//                    {opcode, payload (hex), frame (hex)}
//   "client_streams": byte streams a client might send (masked with a fixed mask, so the file
//                    is stable), and what ws's Receiver (isServer, maxPayload "max_payload")
//                    reads from them: "events" ({kind: "text"|"binary"|"ping"|"pong"|"close",
//                    data hex, code and reason for close}) then "error" (the close code ws
//                    fails the connection with) or null.

import { createRequire } from "node:module";
import { writeFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { Sender, Receiver } = require("ws");

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "tests", "vectors", "ws_frames.json");
const version = JSON.parse(
  readFileSync(join(ROOT, "node_modules", "ws", "package.json"), "utf8"),
).version;

const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const hex = (b) => Buffer.from(b).toString("hex");

function serverFrame(opcode, payload) {
  const parts = Sender.frame(payload, {
    fin: true, opcode, mask: false, readOnly: false, rsv1: false,
  });
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

function clientFrame(opcode, payload, { fin = true, rsv1 = false, mask = true } = {}) {
  const parts = Sender.frame(payload, {
    fin, opcode, mask, maskBuffer: Buffer.from(MASK), generateMask: () => Buffer.from(MASK),
    readOnly: false, rsv1,
  });
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

function statusOf(err) {
  const sym = Object.getOwnPropertySymbols(err).find((s) => s.description === "status-code");
  return sym ? err[sym] : null;
}

async function receive(bytes, maxPayload, step) {
  const receiver = new Receiver({ isServer: true, maxPayload, binaryType: "nodebuffer" });
  const events = [];
  let error = null;
  receiver.on("message", (data, isBinary) => {
    events.push({ kind: isBinary ? "binary" : "text", data: hex(data) });
  });
  receiver.on("ping", (data) => events.push({ kind: "ping", data: hex(data) }));
  receiver.on("pong", (data) => events.push({ kind: "pong", data: hex(data) }));
  receiver.on("conclude", (code, reason) => {
    events.push({ kind: "close", code, reason: hex(reason) });
  });
  receiver.on("error", (err) => { if (error === null) error = statusOf(err); });
  // (copies: the receiver unmasks the buffers it is given in place)
  const chunks = [];
  if (step === null) chunks.push(Buffer.from(bytes));
  else for (let i = 0; i < bytes.length; i += step) chunks.push(Buffer.from(bytes.subarray(i, i + step)));
  for (const chunk of chunks) {
    if (error !== null) break;
    await new Promise((resolve) => receiver.write(chunk, () => resolve()));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  return { events, error };
}

const TEXT = 0x1, BINARY = 0x2, CONT = 0x0, CLOSE = 0x8, PING = 0x9, PONG = 0xa;
const closePayload = (code, reason = "") =>
  Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

const SERVER = [
  [TEXT, Buffer.from("")],
  [TEXT, Buffer.from('42["hello","é✓"]')],
  [TEXT, Buffer.alloc(125, "a")],
  [TEXT, Buffer.alloc(126, "b")],
  [TEXT, Buffer.alloc(65535, "c")],
  [TEXT, Buffer.alloc(65536, "d")],
  [BINARY, Buffer.from([0, 1, 2, 255])],
  [BINARY, Buffer.alloc(300, 7)],
  [CLOSE, closePayload(1000)],
  [CLOSE, closePayload(1001, "going away")],
  [PING, Buffer.from("")],
  [PONG, Buffer.from("probe")],
];

const serverFrames = SERVER.map(([opcode, payload]) => {
  const frame = serverFrame(opcode, payload);
  return payload.length > 300
    ? { opcode, payload_repeat: { byte: payload[0], count: payload.length },
      frame_head: hex(frame.subarray(0, frame.length - payload.length)) }
    : { opcode, payload: hex(payload), frame: hex(frame) };
});

const utf8 = Buffer.from("é✓𝄞");  // 2-, 3- and 4-byte characters
const CLIENT = [
  ["a text message", [clientFrame(TEXT, Buffer.from("4hello"))], 1000],
  ["an empty text message", [clientFrame(TEXT, Buffer.from(""))], 1000],
  ["a binary message", [clientFrame(BINARY, Buffer.from([0, 255, 1]))], 1000],
  ["126 and 65536 bytes (16- and 64-bit lengths)",
    [clientFrame(TEXT, Buffer.alloc(126, "x")), clientFrame(BINARY, Buffer.alloc(65536, 3))], 100000],
  ["a text message in three fragments, characters split across them",
    [clientFrame(TEXT, utf8.subarray(0, 1), { fin: false }),
      clientFrame(CONT, utf8.subarray(1, 6), { fin: false }),
      clientFrame(CONT, utf8.subarray(6))], 1000],
  ["a ping between two fragments", [clientFrame(BINARY, Buffer.from([1]), { fin: false }),
    clientFrame(PING, Buffer.from("p")), clientFrame(CONT, Buffer.from([2]))], 1000],
  ["pong, then close 1000", [clientFrame(PONG, Buffer.from("")),
    clientFrame(CLOSE, closePayload(1000, "bye"))], 1000],
  ["close without a code", [clientFrame(CLOSE, Buffer.from(""))], 1000],
  ["a message then an unmasked frame (1002)", [clientFrame(TEXT, Buffer.from("ok")),
    clientFrame(TEXT, Buffer.from("x"), { mask: false })], 1000],
  ["reserved bit set (1002)", [clientFrame(TEXT, Buffer.from("x"), { rsv1: true })], 1000],
  ["unknown opcode 3 (1002)", [clientFrame(0x3, Buffer.from("x"))], 1000],
  ["unknown control opcode 0xB (1002)", [clientFrame(0xb, Buffer.from(""))], 1000],
  ["a continuation with nothing to continue (1002)", [clientFrame(CONT, Buffer.from("x"))], 1000],
  ["a new message inside a fragmented one (1002)",
    [clientFrame(TEXT, Buffer.from("a"), { fin: false }), clientFrame(TEXT, Buffer.from("b"))], 1000],
  ["a fragmented control frame (1002)", [clientFrame(PING, Buffer.from("x"), { fin: false })], 1000],
  ["a control frame over 125 bytes (1002)", [clientFrame(PING, Buffer.alloc(126, 1))], 1000],
  ["a message over maxPayload (1009)", [clientFrame(TEXT, Buffer.alloc(11, "z"))], 10],
  ["fragments adding up over maxPayload (1009)",
    [clientFrame(BINARY, Buffer.alloc(6, 1), { fin: false }), clientFrame(CONT, Buffer.alloc(6, 2))], 10],
  ["invalid UTF-8 (1007)", [clientFrame(TEXT, Buffer.from([0x34, 0xc3, 0x28]))], 1000],
  ["a close with a one-byte payload (1002)", [clientFrame(CLOSE, Buffer.from([3]))], 1000],
  ["a close with code 1005 (1002)", [clientFrame(CLOSE, closePayload(1005))], 1000],
  ["a close with code 999 (1002)", [clientFrame(CLOSE, closePayload(999))], 1000],
  ["a close with code 3000 and a reason", [clientFrame(CLOSE, closePayload(3000, "app"))], 1000],
  ["a close whose reason is invalid UTF-8 (1007)",
    [clientFrame(CLOSE, Buffer.concat([closePayload(1000), Buffer.from([0xff])]))], 1000],
];

const clientStreams = [];
for (const [description, frames, maxPayload] of CLIENT) {
  const bytes = Buffer.concat(frames);
  const whole = await receive(bytes, maxPayload, null);
  if (bytes.length < 2000) {
    const slow = await receive(bytes, maxPayload, 1);
    if (JSON.stringify(slow) !== JSON.stringify(whole)) {
      throw new Error(`ws reads "${description}" differently a byte at a time`);
    }
  }
  const big = bytes.length > 2000;
  clientStreams.push({
    description,
    max_payload: maxPayload,
    bytes: big ? null : hex(bytes),
    frames: big ? frames.map((f) => ({ head: hex(f.subarray(0, f.length > 65536 ? 14 : 8)),
      payload_repeat: { byte: f[f.length - 1] ^ MASK[(f.length - 1 - (f.length > 65536 ? 14 : 8)) % 4],
        count: f.length - (f.length > 65536 ? 14 : 8) } })) : null,
    events: whole.events.map((e) => (e.data && e.data.length > 600
      ? { kind: e.kind, data_repeat: { byte: parseInt(e.data.slice(0, 2), 16), count: e.data.length / 2 } }
      : e)),
    error: whole.error,
  });
}

writeFileSync(OUT, JSON.stringify({
  generator: "tools/gen_ws_vectors.mjs",
  reference: { ws: version },
  mask: hex(MASK),
  server_frames: serverFrames,
  client_streams: clientStreams,
}, null, 1) + "\n");
console.log(`wrote ${OUT}: ${serverFrames.length} server frames, ${clientStreams.length} client streams`);
