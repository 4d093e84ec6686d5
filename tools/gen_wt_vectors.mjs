#!/usr/bin/env node
// Generates the vectors of Engine.IO's WebTransport stream framing from the reference
// (engine.io-parser's createPacketEncoderStream / createPacketDecoderStream, as used by
// engine.io and engine.io-client for WebTransport).
//
//   node tools/gen_wt_vectors.mjs         (after `npm ci`; writes tests/vectors/eio_webtransport.json)
//
// This script only chooses the inputs: every frame and every decoded packet in the output is
// what the reference streams produce. Forms used in the file:
//   * data        -> a string, {"$bytes": base64}, or {"$repeat": char, "count": n, "binary": bool}
//                    (a long run of one character, or of its byte when binary)
//   * frame bytes -> {"hex": ...} when short, else {"head": hex of the first 16 bytes,
//                    "length": n, "sha256": hex} (the whole frame)
// Sections:
//   "encode": packets, the frame the reference writes for each, and the packet the reference
//             decoder reads back from that frame ("decoded": an empty message comes back with
//             no data)
//   "decode": byte streams (several frames, odd cases) and what the reference decoder reads from
//             them with maxPayload "max_payload", fed whole and one byte at a time; a packet of
//             type "error" is the reference's parser error, after which it reads nothing more.

import { createRequire } from "node:module";
import { writeFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
const parser = require("engine.io-parser");

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "tests", "vectors", "eio_webtransport.json");
const version = JSON.parse(
  readFileSync(join(ROOT, "node_modules", "engine.io-parser", "package.json"), "utf8"),
).version;

function dataOf(spec) {
  if (spec === undefined || typeof spec === "string") return spec;
  if (spec.$bytes !== undefined) return Buffer.from(spec.$bytes, "base64");
  const s = spec.$repeat.repeat(spec.count);
  return spec.binary ? Buffer.from(s, "latin1") : s;
}

function packetJ(packet, spec) {
  const out = { type: packet.type };
  if (packet.data === undefined) return out;
  if (spec !== undefined && typeof spec === "object" && spec.$repeat !== undefined) {
    out.data = spec;
  } else if (typeof packet.data === "string") {
    out.data = packet.data;
  } else {
    out.data = { $bytes: Buffer.from(packet.data).toString("base64") };
  }
  return out;
}

function bytesJ(buf) {
  if (buf.length <= 300) return { hex: buf.toString("hex") };
  return {
    head: buf.subarray(0, 16).toString("hex"),
    length: buf.length,
    sha256: createHash("sha256").update(buf).digest("hex"),
  };
}

async function encode(packets) {
  const stream = parser.createPacketEncoderStream();
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const chunks = [];
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      chunks.push(Buffer.from(value));
    }
  })();
  for (const p of packets) await writer.write(p);
  await writer.close();
  await reading;
  return Buffer.concat(chunks);
}

async function decode(bytes, maxPayload, oneByteAtATime) {
  const stream = parser.createPacketDecoderStream(maxPayload, "nodebuffer");
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const out = [];
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      out.push(value);
    }
  })();
  if (oneByteAtATime) {
    for (let i = 0; i < bytes.length; i++) await writer.write(bytes.subarray(i, i + 1));
  } else if (bytes.length) {
    await writer.write(bytes);
  }
  await writer.close();
  await reading;
  // the reference keeps reading after an error packet; its users stop at the first one
  const stop = out.findIndex((p) => p.type === "error");
  return stop === -1 ? out : out.slice(0, stop + 1);
}

const rep = (ch, count, binary = false) => ({ $repeat: ch, count, binary });
const bin = (...bytes) => ({ $bytes: Buffer.from(bytes).toString("base64") });

const ENCODE = [
  ["open without data (a client opening a new session)", "open", undefined],
  ["open with the sid (a client upgrading)", "open", '{"sid":"abc"}'],
  ["handshake", "open",
    '{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'],
  ["close", "close", undefined],
  ["ping", "ping", undefined],
  ["pong", "pong", undefined],
  ["probe ping", "ping", "probe"],
  ["probe pong", "pong", "probe"],
  ["upgrade", "upgrade", undefined],
  ["noop", "noop", undefined],
  ["empty message", "message", ""],
  ["text message", "message", '2["hello","world"]'],
  ["non-ASCII text (length in UTF-8 bytes)", "message", '2["é€𝄞"]'],
  ["text of 124 chars (frame payload 125 bytes: one-byte length)", "message", rep("a", 124)],
  ["text of 125 chars (payload 126 bytes: 16-bit length)", "message", rep("a", 125)],
  ["text of 65534 chars (payload 65535: 16-bit length)", "message", rep("b", 65534)],
  ["text of 65535 chars (payload 65536: 64-bit length)", "message", rep("c", 65535)],
  ["binary message", "message", bin(1, 2, 3)],
  ["binary message of one zero byte", "message", bin(0)],
  ["binary of 125 bytes", "message", rep("\u00ff", 125, true)],
  ["binary of 126 bytes", "message", rep("\u0001", 126, true)],
  ["binary of 65536 bytes", "message", rep("\u0002", 65536, true)],
];

const encoded = [];
for (const [description, type, spec] of ENCODE) {
  const packet = spec === undefined ? { type } : { type, data: dataOf(spec) };
  const frame = await encode([packet]);
  const back = await decode(frame, 1e9, false);
  assert.equal(back.length, 1);
  if (frame.length < 1000) assert.deepEqual(await decode(frame, 1e9, true), back);
  encoded.push({
    description,
    packet: packetJ(packet, spec),
    frame: bytesJ(frame),
    decoded: packetJ(back[0], spec),
  });
}

const DECODE = [
  ["two frames in one chunk", Buffer.concat([await encode([{ type: "message", data: "hi" }]),
    await encode([{ type: "message", data: Buffer.from([9, 8]) }])]), 1000],
  ["a handshake then a probe", Buffer.concat([await encode([{ type: "open" }]),
    await encode([{ type: "ping", data: "probe" }])]), 1000],
  ["zero-length frame: parser error", Buffer.from([0x00]), 1000],
  ["zero-length binary frame: parser error", Buffer.from([0x80]), 1000],
  ["frame longer than maxPayload: parser error", Buffer.from([0x05, 0x34, 0x61, 0x62, 0x63, 0x64]), 4],
  ["frame of exactly maxPayload", Buffer.from([0x04, 0x34, 0x61, 0x62, 0x63]), 4],
  ["16-bit length over maxPayload: parser error (before the payload arrives)",
    Buffer.from([0x7e, 0x01, 0x00]), 200],
  ["64-bit length over 2^53: parser error", Buffer.from([0x7f, 0x00, 0x20, 0, 0, 0, 0, 0, 0]), 1e9],
  ["64-bit length within maxPayload", Buffer.concat([Buffer.from([0x7f, 0, 0, 0, 0, 0, 0, 0, 3]),
    Buffer.from("4ok")]), 1000],
  ["unknown packet type: parser error", Buffer.from([0x02, 0x39, 0x78]), 1000],
  ["a good frame, then an unknown type, then a good frame (read stops at the error)",
    Buffer.concat([Buffer.from([0x02, 0x34, 0x61]), Buffer.from([0x01, 0x37]),
      Buffer.from([0x02, 0x34, 0x62])]), 1000],
  ["text frame with invalid UTF-8 (replacement character)", Buffer.from([0x03, 0x34, 0xc3, 0x28]), 1000],
  ["binary flag with a text-looking payload: binary message", Buffer.from([0x82, 0x34, 0x61]), 1000],
  ["incomplete frame: nothing yet", Buffer.from([0x05, 0x34, 0x61]), 1000],
  ["incomplete 16-bit length: nothing yet", Buffer.from([0x7e, 0x00]), 1000],
];

const decoded = [];
for (const [description, bytes, maxPayload] of DECODE) {
  const whole = await decode(bytes, maxPayload, false);
  const slow = await decode(bytes, maxPayload, true);
  assert.deepEqual(slow.map((p) => packetJ(p)), whole.map((p) => packetJ(p)), description);
  decoded.push({
    description,
    max_payload: maxPayload,
    bytes: bytesJ(bytes),
    packets: whole.map((p) => packetJ(p)),
  });
}

writeFileSync(
  OUT,
  JSON.stringify({
    generator: "tools/gen_wt_vectors.mjs",
    reference: { "engine.io-parser": version },
    encode: encoded,
    decode: decoded,
  }, null, 1) + "\n",
);
console.log(`wrote ${OUT}: ${encoded.length} encode, ${decoded.length} decode vectors`);
