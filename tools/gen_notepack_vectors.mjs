#!/usr/bin/env node
// Generates tests/vectors/notepack_ext.json: how notepack.io decodes MessagePack extensions
// of type 0, whose meaning depends on their framing byte:
//
//   node tools/gen_notepack_vectors.mjs      (after `npm ci`)
//
// Each case is MessagePack bytes (written here byte by byte, or by notepack.io 2.x's encoder,
// the one socket.io-msgpack-parser and older Redis adapters write with) and the value that
// notepack.io 3.x (the Redis adapters' decoder) and 2.x (socket.io-msgpack-parser's, its Node
// build) decode from them. The Python decoders are checked against both.
//
// JSON-able forms: Buffer -> {"$buffer": base64}; ArrayBuffer -> {"$arraybuffer": base64};
// Date -> {"$date": ISO string}; undefined -> {"$undefined": true} (kept in maps too).

import { createRequire } from "node:module";
import { writeFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const notepack3 = require("notepack.io");
const notepack2 = createRequire(require.resolve("socket.io-msgpack-parser"))("notepack.io");

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "tests", "vectors", "notepack_ext.json");
const versionOf = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
const dirOf = (req, name) => dirname(req.resolve(`${name}/package.json`));

function toJ(value) {
  if (value === undefined) return { $undefined: true };
  if (Buffer.isBuffer(value)) return { $buffer: value.toString("base64") };
  if (value instanceof ArrayBuffer) return { $arraybuffer: Buffer.from(value).toString("base64") };
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Array.isArray(value)) return value.map(toJ);
  if (value && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value)) out[key] = toJ(value[key]);
    return out;
  }
  return value;
}

const hex = (...parts) => Buffer.from(parts.join("").replace(/ /g, ""), "hex");
const filled = (n, start = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff));
const be64 = (n) => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(n)); return b; };
const MS = 1764581400123; // 2025-12-01T09:30:00.123Z

const cases = [
  ["fixext 1 type 0: undefined", hex("d4 00 00")],
  ["ext 8 of 1 byte type 0: an ArrayBuffer (one zero byte)", hex("c7 01 00 00")],
  ["ext 8 of 1 byte type 0: an ArrayBuffer", hex("c7 01 00 2a")],
  ["fixext 8 type 0: a Date in milliseconds", Buffer.concat([hex("d7 00"), be64(MS)])],
  ["fixext 8 type 0: a Date before 1970", Buffer.concat([hex("d7 00"), be64(-86400000)])],
  ["ext 8 of 8 bytes type 0: an ArrayBuffer", Buffer.concat([hex("c7 08 00"), be64(MS)])],
  ["fixext 2 type 0", hex("d5 00 ab cd")],
  ["fixext 4 type 0", Buffer.concat([hex("d6 00"), filled(4)])],
  ["fixext 16 type 0", Buffer.concat([hex("d8 00"), filled(16)])],
  ["ext 8 of 2 bytes type 0", hex("c7 02 00 ab cd")],
  ["ext 8 of 4 bytes type 0", Buffer.concat([hex("c7 04 00"), filled(4)])],
  ["ext 8 of 16 bytes type 0", Buffer.concat([hex("c7 10 00"), filled(16)])],
  ["ext 8 of 3 bytes type 0", hex("c7 03 00 61 62 63")],
  ["ext 8 of 0 bytes type 0", hex("c7 00 00")],
  ["ext 16 type 0", Buffer.concat([hex("c8 01 2c 00"), filled(300)])],
  ["ext 16 of 8 bytes type 0", Buffer.concat([hex("c8 00 08 00"), be64(MS)])],
  ["ext 32 of 1 byte type 0", hex("c9 00 00 00 01 00 07")],
  ["array of the look-alikes",
   Buffer.concat([hex("94 d4 00 00 c7 01 00 00"), hex("d7 00"), be64(MS), hex("c7 08 00"), be64(MS)])],
  ["map of the look-alikes",
   Buffer.concat([hex("84 a1 61 d4 00 00 a1 62 c7 01 00 09 a1 63 d7 00"), be64(MS),
                  hex("a1 64 c7 08 00"), be64(MS)])],
  ["bin holding an ext 8 header, then undefined", hex("92 c4 03 c7 01 00 d4 00 00")],
  ["uint 32 whose bytes look like an ext 8 header, then a Date",
   Buffer.concat([hex("92 ce c7 08 00 00 d7 00"), be64(MS)])],
  ["nested containers (map 16, array 16)",
   Buffer.concat([hex("de 00 02 a1 78 dc 00 03 d4 00 00 c7 01 00 05 c0 a1 79 81 a1 7a d5 00 01 02")])],
  ["other extension types", hex("93 d4 05 01 c7 01 07 02 c7 02 00 03 04")],
];
// what notepack.io 2.x itself writes for undefined, ArrayBuffer, typed arrays and Date
const written = {
  undefinedMember: { keep: 1, drop: undefined },
  undefinedInArray: [1, undefined, 2],
  arrayBufferOfOneZero: new Uint8Array([0]).buffer,
  arrayBufferOf8: new Uint8Array(8).fill(7).buffer,
  uint8ArrayOf1: new Uint8Array([42]),
  date: new Date(MS),
  everything: { u: undefined, a: new Uint8Array([0]).buffer, d: new Date(MS),
                e: new Uint8Array(8).buffer, b: Buffer.from([1, 2]) },
};
for (const [name, value] of Object.entries(written)) {
  cases.push([`written by notepack.io 2: ${name}`, notepack2.encode(value)]);
}

function decoded(np, bytes) {
  try {
    return { value: toJ(np.decode(bytes)) };
  } catch (err) {
    return { error: String(err.message || err) };
  }
}

const out = cases.map(([name, bytes]) => ({
  name,
  hex: bytes.toString("hex"),
  notepack3: decoded(notepack3, bytes),
  notepack2: decoded(notepack2, bytes),
}));
const versions = {
  "notepack.io": versionOf(dirOf(require, "notepack.io")),
  "notepack.io (socket.io-msgpack-parser)":
    versionOf(dirOf(createRequire(require.resolve("socket.io-msgpack-parser")), "notepack.io")),
};
writeFileSync(OUT, JSON.stringify({ generator: "tools/gen_notepack_vectors.mjs", versions,
                                    cases: out }, null, 1) + "\n");
console.log(`wrote ${OUT}: ${out.length} cases`);
