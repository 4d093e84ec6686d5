#!/usr/bin/env node
// Generates socketwire's protocol test vectors from the Node reference implementation.
//
//   node tools/gen_vectors.mjs            (after `npm ci`; writes tests/vectors/*.json)
//
// Every "wire" and every decoded "object" in the output comes from the reference packages
// installed by npm (engine.io-parser, socket.io-parser and engine.io, as used by socket.io 4.8.4);
// this script only chooses the inputs. The open packets and the handshake error codes come
// from a real engine.io server listening on 127.0.0.1 for the duration of the run.
//
// JSON-able forms used in the files:
//   * bytes                   -> {"$bytes": "<standard base64>"}
//   * NaN, ±Infinity, -0      -> {"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}
//   * an Engine.IO packet     -> {"type": "message", "data"?: string | bytes}   (data omitted when absent)
//   * a Socket.IO packet      -> {"type": 0-6, "nsp": "/...", "id"?: int, "data"?: any}
//     (as socket.io-parser's Decoder emits it: a reassembled binary packet has type 2 / 3)
//   * Socket.IO wire          -> [text header, attachment bytes...]
//
// Sections: "valid" entries round-trip (encode(object) == wire and decode(wire) == object, both
// checked here against the reference); "decode_only" entries are inputs the reference decodes
// but never produces; "invalid" entries are inputs the reference rejects ("error_at" = index of
// the message that made it fail); "lenient" entries are inputs the reference accepts but
// socketwire rejects on purpose (each with a "reason").

import { createRequire } from "node:module";
import { writeFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import http from "node:http";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);
const eioParser = require("engine.io-parser");
const sioParser = require("socket.io-parser");
const engine = require("engine.io");
const WebSocket = require("ws");

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "tests", "vectors");

const versions = Object.fromEntries(
  ["engine.io-parser", "socket.io-parser", "engine.io", "socket.io"].map((name) => [
    name,
    JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version,
  ]),
);

// ------------------------------------------------------------------------------ helpers

const B = (...bytes) => Buffer.from(bytes);

function toJ(value) {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return { $bytes: Buffer.from(value).toString("base64") };
  }
  if (value instanceof ArrayBuffer) return { $bytes: Buffer.from(value).toString("base64") };
  if (typeof value === "number") {
    if (Number.isNaN(value)) return { $number: "NaN" };
    if (value === Infinity) return { $number: "Infinity" };
    if (value === -Infinity) return { $number: "-Infinity" };
    if (Object.is(value, -0)) return { $number: "-0" };
    return value;
  }
  if (value === undefined) return null; // as JSON.stringify writes it inside arrays
  if (Array.isArray(value)) return value.map(toJ);
  if (value && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value)) {
      if (value[key] !== undefined) out[key] = toJ(value[key]);
    }
    return out;
  }
  return value;
}

function sioObject(packet) {
  const out = { type: packet.type, nsp: packet.nsp };
  if (packet.id !== undefined) out.id = packet.id;
  if (packet.data !== undefined) out.data = toJ(packet.data);
  return out;
}

function eioObject(packet) {
  const out = { type: packet.type };
  if (packet.data !== undefined) out.data = toJ(packet.data);
  return out;
}

// Feeds messages to a fresh reference decoder; returns {packets} or {error, error_at}.
function sioDecode(messages) {
  const decoder = new sioParser.Decoder();
  const packets = [];
  decoder.on("decoded", (p) => packets.push(p));
  for (let i = 0; i < messages.length; i++) {
    try {
      decoder.add(messages[i]);
    } catch (err) {
      return { error: err.message, error_at: i, packets };
    }
  }
  return { packets, pending: Boolean(decoder.reconstructor) };
}

function sioEncode(packet) {
  // the encoder mutates binary packets (placeholders): give it a deep copy
  return new sioParser.Encoder().encode(structuredClone(packet));
}

const wireJ = (messages) => messages.map((m) => (typeof m === "string" ? m : toJ(m)));

// ------------------------------------------------------------------------------ Socket.IO

const C = sioParser.PacketType;
const ph = (num) => ({ _placeholder: true, num });
const tricky = "quote\" backslash\\ slash/ tab\t nl\n cr\r bs\b ff\f nul\u0000 rs\u001e us\u001f del\u007f";

const sioValid = [
  ["connect to /", { type: C.CONNECT, nsp: "/" }],
  ["connect to / with auth", { type: C.CONNECT, nsp: "/", data: { token: "123" } }],
  ["connect to / with an empty auth object", { type: C.CONNECT, nsp: "/", data: {} }],
  ["connect to /admin", { type: C.CONNECT, nsp: "/admin" }],
  ["connect to /admin with auth", { type: C.CONNECT, nsp: "/admin", data: { token: "abc", n: 1 } }],
  ["server accepts /admin", { type: C.CONNECT, nsp: "/admin", data: { sid: "oSO0OpakMV_3jnilAAAA" } }],
  [
    "server accepts / with a recovery pid",
    { type: C.CONNECT, nsp: "/", data: { sid: "wZX3oN0bSVIhsaknAAAI", pid: "Yc2kW0Wcb_qxS6fSAAAB" } },
  ],
  [
    "client reconnects with pid and offset plus auth",
    { type: C.CONNECT, nsp: "/", data: { token: "t", pid: "Yc2kW0Wcb_qxS6fSAAAB", offset: "MzUPkW0" } },
  ],
  ["connect to a namespace with unicode and punctuation", { type: C.CONNECT, nsp: "/ünï-cödé_ns.1/子" }],
  ["connect to a nested namespace", { type: C.CONNECT, nsp: "/a/b/c" }],
  ["disconnect /", { type: C.DISCONNECT, nsp: "/" }],
  ["disconnect /admin", { type: C.DISCONNECT, nsp: "/admin" }],
  ["event", { type: C.EVENT, nsp: "/", data: ["foo"] }],
  ["event on /admin", { type: C.EVENT, nsp: "/admin", data: ["bar"] }],
  ["event with ack id 12", { type: C.EVENT, nsp: "/", data: ["foo"], id: 12 }],
  ["event with ack id 0", { type: C.EVENT, nsp: "/", data: ["foo"], id: 0 }],
  ["event on /admin with ack id 0", { type: C.EVENT, nsp: "/admin", data: ["foo", 1], id: 0 }],
  ["event with ack id 2^31", { type: C.EVENT, nsp: "/", data: ["x"], id: 2 ** 31 }],
  ["event with ack id 2^32 + 1", { type: C.EVENT, nsp: "/", data: ["x"], id: 2 ** 32 + 1 }],
  ["event with ack id 2^53 - 1", { type: C.EVENT, nsp: "/", data: ["x"], id: 2 ** 53 - 1 }],
  ["event on a namespace made of digits, with an ack id", { type: C.EVENT, nsp: "/123", data: ["x"], id: 45 }],
  ["event named message (not reserved)", { type: C.EVENT, nsp: "/", data: ["message", "hi"] }],
  ["event with a numeric name", { type: C.EVENT, nsp: "/", data: [42, "x"] }],
  ["event with a fractional numeric name", { type: C.EVENT, nsp: "/", data: [1.5] }],
  ["event with an empty-string name", { type: C.EVENT, nsp: "/", data: [""] }],
  [
    "event with every JSON kind of argument",
    {
      type: C.EVENT,
      nsp: "/",
      data: ["kinds", null, true, false, 0, -1, 3.25, 0.1, 1e21, 1e-7, 5e-324, "s", [], {}, [1, [2, [3]]], { a: { b: { c: null } } }],
    },
  ],
  [
    "event with unicode: accents, CJK, RTL, emoji, U+2028/2029, BOM",
    { type: C.EVENT, nsp: "/", data: ["ünïcödé", "漢字かな", "مرحبا", "😀👍🏽", "\u2028\u2029", "\ufeff\uffff"] },
  ],
  ["event with a unicode event name", { type: C.EVENT, nsp: "/", data: ["événement 😀", 1] }],
  ["event with characters JSON must escape", { type: C.EVENT, nsp: "/", data: ["esc", tricky] }],
  ["event with lone surrogates (JSON.stringify escapes them)", { type: C.EVENT, nsp: "/", data: ["sur", "a\ud83d", "\udc00b"] }],
  [
    "event with object keys that need escaping and unicode keys",
    { type: C.EVENT, nsp: "/", data: ["keys", { "a\"b": 1, "ключ": 2, "": 3, "\u001e": 4 }] },
  ],
  [
    "event with an object that looks like a placeholder (text packet: left alone)",
    { type: C.EVENT, nsp: "/", data: ["ph", ph(0)] },
  ],
  ["event with a long string argument", { type: C.EVENT, nsp: "/", data: ["long", "x".repeat(5000)] }],
  ["ack 13 on /admin", { type: C.ACK, nsp: "/admin", data: ["bar"], id: 13 }],
  ["ack with no args", { type: C.ACK, nsp: "/", data: [], id: 7 }],
  ["ack 0 with no args", { type: C.ACK, nsp: "/", data: [], id: 0 }],
  ["ack with a null arg", { type: C.ACK, nsp: "/", data: [null], id: 1 }],
  ["ack with ack id 2^40 on a namespace", { type: C.ACK, nsp: "/chat", data: [{ ok: true }], id: 2 ** 40 }],
  [
    "connect_error with message and data",
    { type: C.CONNECT_ERROR, nsp: "/", data: { message: "Not authorized", data: { content: "Please retry later" } } },
  ],
  ["connect_error: unknown namespace", { type: C.CONNECT_ERROR, nsp: "/random", data: { message: "Invalid namespace" } }],
  ["connect_error with data null", { type: C.CONNECT_ERROR, nsp: "/", data: { message: "x", data: null } }],
  ["connect_error as a plain string", { type: C.CONNECT_ERROR, nsp: "/", data: "some error" }],
  ["binary event", { type: C.EVENT, nsp: "/", data: ["baz", B(1, 2, 3, 4)] }],
  ["binary event, 2 attachments on /admin", { type: C.EVENT, nsp: "/admin", data: ["baz", B(1), B(2, 3)] }],
  ["binary event with an empty buffer", { type: C.EVENT, nsp: "/", data: ["empty", Buffer.alloc(0)] }],
  [
    "binary event with bytes that are not UTF-8 and contain 0x1e",
    { type: C.EVENT, nsp: "/", data: ["raw", B(0x1e, 0xff, 0xfe, 0x00, 0x80, 0x34)] },
  ],
  [
    "binary event with nested placeholders, depth-first numbering",
    {
      type: C.EVENT,
      nsp: "/",
      data: ["nested", { a: B(0), b: [B(1), { c: B(2) }], d: "text" }, [[B(3)], B(4)], B(5)],
    },
  ],
  ["binary event with ack id 0", { type: C.EVENT, nsp: "/", data: ["b", B(9)], id: 0 }],
  ["binary event with a big ack id on a namespace", { type: C.EVENT, nsp: "/admin", data: ["b", { x: B(9) }], id: 2 ** 33 }],
  [
    "binary event with 10 attachments (the reference's maximum)",
    { type: C.EVENT, nsp: "/", data: ["ten", ...Array.from({ length: 10 }, (_, i) => B(i))] },
  ],
  [
    "binary event with unicode text next to the bytes",
    { type: C.EVENT, nsp: "/ü", data: ["ünï 😀", { name: "файл", blob: B(0xf0, 0x9f) }] },
  ],
  ["binary ack id 15", { type: C.ACK, nsp: "/", data: ["bar", B(1, 2)], id: 15 }],
  ["binary ack 789 with two buffers", { type: C.ACK, nsp: "/", data: [B(1), B(2)], id: 789 }],
  ["binary ack 0 on /admin with a nested buffer", { type: C.ACK, nsp: "/admin", data: [{ file: B(7, 7) }], id: 0 }],
];

const sioDecodeOnly = [
  ["namespace without the trailing comma", ["0/random"]],
  ["namespace without comma on a disconnect", ["1/admin"]],
  ["JSON with insignificant whitespace", ['2[ "a" ,\t1 ,\n{ "b" : 2 } ]']],
  ["ack id with leading zeros", ['2007["a"]']],
  ["connect with an ack id and no payload", ["01"]],
  ["duplicate keys: the last one wins", ['2["a",{"k":1,"k":2}]']],
  ["escaped unicode is decoded", ['2["\\u00e9\\ud83d\\ude00\\u001e"]']],
  ["uppercase \\u escapes", ['2["\\u001E\\u00C9"]']],
  [
    "placeholders in reverse order",
    ['52-["rev",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]', B(0xa), B(0xb)],
  ],
  [
    "the same placeholder twice",
    ['52-["dup",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]', B(0xa), B(0xb)],
  ],
  ["an attachment no placeholder refers to", ['52-["unused",{"_placeholder":true,"num":1}]', B(0xa), B(0xb)]],
  ["a placeholder with extra keys", ['51-["extra",{"_placeholder":true,"num":0,"x":1}]', B(0xa)]],
  ['"_placeholder" not exactly true: left as an object', ['51-["notph",{"_placeholder":1,"num":0},{"_placeholder":true,"num":0}]', B(0xa)]],
  [
    "two binary packets back to back",
    ['51-["one",{"_placeholder":true,"num":0}]', B(1), '61-3[{"_placeholder":true,"num":0}]', B(2)],
  ],
  ["a text packet after a complete binary packet", ['51-["one",{"_placeholder":true,"num":0}]', B(1), '2["two"]']],
];

const RESERVED = ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];
const PH0 = '{"_placeholder":true,"num":0}';

const sioInvalid = [
  ["unknown packet type 7", ["7"]],
  ["unknown packet type 9 with payload", ['9["a"]']],
  ["unknown packet type: a letter", ["abc"]],
  ["unknown packet type: a slash", ["/admin,"]],
  ["unknown packet type: a minus sign", ["-1"]],
  ["event with an object payload (42{})", ["2{}"]],
  ["event with an empty array (42[])", ["2[]"]],
  ["event with a string payload", ['2"foo"']],
  ["event with a null payload", ["2null"]],
  ["event whose name is null", ["2[null]"]],
  ["event whose name is a boolean", ["2[true]"]],
  ["event whose name is an array", ['2[["a"]]']],
  ["event whose name is an object (CVE-2023-32695)", ['2[{"toString":"foo"}]']],
  ...RESERVED.map((name) => [`reserved event name "${name}"`, [`2${JSON.stringify([name])}`]]),
  ["reserved event name on a namespace with an ack id", ['2/admin,1["disconnect"]']],
  ["reserved event name in a binary event", [`51-["connect",${PH0}]`, B(1)]],
  ["non-numeric ack id (42abc[...])", ['2abc["a"]']],
  ["garbage between namespace and payload", ['2/admin,x["a"]']],
  ["truncated JSON", ['2["a"']],
  ["trailing garbage after JSON", ['2["a"]x']],
  ["two JSON values", ['2["a"]["b"]']],
  ["NaN is not JSON", ["2[NaN]"]],
  ["single quotes are not JSON", ["2['a']"]],
  ["trailing comma", ['2["a",]']],
  ["raw control character inside a JSON string", ['2["a\u0001"]']],
  ["connect with an array payload", ["0[]"]],
  ["connect with a string payload", ['0"token"']],
  ["connect with a null payload", ["0null"]],
  ["connect with a number payload", ["0-1"]],
  ["connect with a truncated JSON object after an ack id", ["0/admin,1{"]],
  ["disconnect with a payload", ["1{}"]],
  ["disconnect on a namespace with a payload", ['1/admin,"bye"']],
  ["connect_error with an array payload", ['4["a"]']],
  ["connect_error with a null payload", ["4null"]],
  ["connect_error with a number payload", ["4-5"]],
  ["connect_error with an array payload on a namespace", ["4/admin,[1]"]],
  ["ack with an object payload", ['31{"a":1}']],
  ["ack with a string payload", ['3"x"']],
  ["ack with a null payload", ["31null"]],
  ["binary event without an attachment count", [`5-["a",${PH0}]`]],
  ["binary event without the dash", [`51["a",${PH0}]`]],
  ["binary event: count is a letter", [`5x-["a",${PH0}]`]],
  ["binary event: zero attachments", ['50-["a"]']],
  ["binary ack: zero attachments", ["60-1[]"]],
  ["binary event: count is a space", [`5 -["a",${PH0}]`]],
  ["binary event: count is not an integer", [`51.5-["a",${PH0}]`]],
  ["binary event: 11 attachments (over maxAttachments)", [`511-["a",${PH0}]`]],
  ["binary event: 9999999 attachments (CVE-2026-33151)", [`59999999-["a",${PH0}]`]],
  ["binary event: header only", ["5"]],
  ["binary ack without an attachment count", ["6-1[]"]],
  ["binary event with an object payload", [`51-{"a":${PH0}}`, B(1)]],
  ["binary event whose name is a placeholder", [`51-[${PH0}]`, B(1)]],
  ["binary ack with an object payload", [`61-1{"a":${PH0}}`]],
  ...[
    ["true", "true"],
    ["-1", "-1"],
    ['"splice" (CVE-2022-2421)', '"splice"'],
    ['"0" (a string)', '"0"'],
    ["1 with one attachment (out of range)", "1"],
    ["100 (out of range)", "100"],
    ["null", "null"],
    ["an array", "[0]"],
    ["an object", "{}"],
    ["1.5 with one attachment", "1.5"],
    ["-0.5", "-0.5"],
  ].map(([what, num]) => [
    `placeholder num ${what}`,
    [`51-["a",{"_placeholder":true,"num":${num}}]`, B(1)],
  ]),
  ["placeholder without num", ['51-["a",{"_placeholder":true}]', B(1)]],
  ["placeholder num out of range in a binary ack", ['61-4[{"_placeholder":true,"num":1}]', B(1)]],
  [
    "placeholder num out of range, deep inside",
    ['52-["a",{"x":[{"y":{"_placeholder":true,"num":2}}]},{"_placeholder":true,"num":0}]', B(1), B(2)],
  ],
  ["text while waiting for attachments", [`51-["a",${PH0}]`, '2["b"]']],
  ["text while waiting for the second of two attachments", ['52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', B(1), '2["b"]']],
  ["a new binary header while waiting for attachments", [`51-["a",${PH0}]`, `51-["b",${PH0}]`]],
  ["binary data with nothing pending", [B(1, 2, 3)]],
  ["empty binary data with nothing pending", [Buffer.alloc(0)]],
  ["one attachment too many", [`51-["a",${PH0}]`, B(1), B(2)]],
  ["binary data after a text event", ['2["a"]', B(1)]],
];

const sioLenient = [
  ["empty string: socket.io-parser reads Number('') = 0, a CONNECT", [""],
    "socketwire rejects an empty packet (engine.io never delivers one: a bare Engine.IO `4` makes socket.io's decoder throw on `undefined`)"],
  ["a space: Number(' ') = 0, a CONNECT", [" "], "not a packet type digit"],
  ["event without payload", ["2"], "EVENT needs a non-empty array (protocol.md §2.7)"],
  ["event on a namespace without payload", ["2/admin,"], "EVENT needs a non-empty array"],
  ["binary event without payload", ["51-", B(1)], "BINARY_EVENT needs a non-empty array"],
  ["ack without payload", ["31"], "the ACK payload is always an array"],
  ["ack without an id", ["3[]"], "an ACK without an id cannot be matched"],
  ["connect_error without payload", ["4"], "CONNECT_ERROR needs a string or an object"],
  ["connect_error with an id and no payload", ["4123"], "CONNECT_ERROR needs a string or an object"],
  ["a space read as ack id 0 (Number(' ') == ' ')", ['2 ["a"]'], "a space is not an ack id digit"],
  ["ack id of 19 digits, beyond 2^53 (imprecise in JS)", ['2123456789012345678["a"]'], "ack ids are capped at 16 digits (R4)"],
  ["attachment count '1.0'", [`51.0-["a",${PH0}]`, B(1)], "the count must be ASCII digits"],
  ["attachment count '0x1' (Number('0x1') = 1)", [`50x1-["a",${PH0}]`, B(1)], "the count must be ASCII digits"],
  ["attachment count '+1'", [`5+1-["a",${PH0}]`, B(1)], "the count must be ASCII digits"],
  ["placeholder num 0.5 with 2 attachments: buffers[0.5] is undefined", ['52-["a",{"_placeholder":true,"num":0.5}]', B(1), B(2)], "num must be an int (R3)"],
  ["event with a lone surrogate and a 400-digit integer (JSON.parse gives Infinity)",
    ['2["x","\\ud800",1' + "0".repeat(400) + "]"],
    "a number beyond a double is a parse error (JSON.stringify never writes one: it writes null for Infinity); issue 13: this input raised OverflowError"],
  ["event with a 400-digit integer (JSON.parse gives Infinity)", ['2["x",1' + "0".repeat(400) + "]"],
    "a number beyond a double is a parse error, as orjson decides"],
  ["placeholder num 0.0 (JSON.parse gives the number 0)", ['51-["a",{"_placeholder":true,"num":0.0}]', B(1)], "num must be an int (R3); no client writes 0.0"],
];

function buildSio() {
  const valid = sioValid.map(([description, packet]) => {
    const wire = sioEncode(packet);
    const decoded = sioDecode(wire);
    assert.equal(decoded.error, undefined, `${description}: ${decoded.error}`);
    assert.equal(decoded.packets.length, 1, description);
    assert.deepEqual(sioObject(decoded.packets[0]), sioObject(packet), description);
    return { description, object: sioObject(packet), wire: wireJ(wire) };
  });
  const decodeOnly = sioDecodeOnly.map(([description, messages]) => {
    const decoded = sioDecode(messages);
    assert.equal(decoded.error, undefined, `${description}: ${decoded.error}`);
    assert.equal(decoded.pending, false, description);
    return { description, wire: wireJ(messages), objects: decoded.packets.map(sioObject) };
  });
  const invalid = sioInvalid.map(([description, messages]) => {
    const decoded = sioDecode(messages);
    assert.notEqual(decoded.error, undefined, `${description}: the reference accepted it`);
    return { description, wire: wireJ(messages), error_at: decoded.error_at, reference_error: decoded.error };
  });
  const lenient = sioLenient.map(([description, messages, reason]) => {
    const decoded = sioDecode(messages);
    assert.equal(decoded.error, undefined, `${description}: ${decoded.error}`);
    assert.equal(decoded.packets.length, 1, description);
    const p = decoded.packets[0];
    // the reference may put `undefined` into args (num 0.5): toJ writes it as null
    return { description, wire: wireJ(messages), reference: sioObject(p), reason };
  });
  return { valid, decode_only: decodeOnly, invalid, lenient };
}

// ------------------------------------------------------------------------------ JSON.stringify

const jsonValues = [
  ["null", null],
  ["true", true],
  ["false", false],
  ["zero", 0],
  ["negative integer", -17],
  ["2^31", 2 ** 31],
  ["2^53 - 1", 2 ** 53 - 1],
  ["-(2^53 - 1)", -(2 ** 53 - 1)],
  ["fraction", 0.5],
  ["0.1", 0.1],
  ["negative fraction", -1.25],
  ["123.456", 123.456],
  ["1e21 (exponent form in JS)", 1e21],
  ["1.5e300", 1.5e300],
  ["1e-7 (exponent form in JS)", 1e-7],
  ["2.5e-8", 2.5e-8],
  ["smallest subnormal", 5e-324],
  ["largest double", Number.MAX_VALUE],
  ["NaN becomes null", NaN],
  ["Infinity becomes null", Infinity],
  ["-Infinity becomes null", -Infinity],
  ["NaN inside an array", [1, NaN, Infinity, -Infinity]],
  ["empty string", ""],
  ["every control character", Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join("")],
  ["record separator \\x1e", "a\u001eb"],
  ["DEL and C1 controls are not escaped", "\u007f\u0080\u009f"],
  ["quote, backslash, slash", "\"\\/"],
  ["U+2028 and U+2029 stay raw", "\u2028\u2029"],
  ["BOM and noncharacters", "\ufeff\ufffe\uffff"],
  ["non-ASCII stays raw UTF-8", "ünïcödé 漢字 مرحبا"],
  ["astral plane (emoji)", "😀👍🏽𝄞"],
  ["lone high surrogate", "\ud83d"],
  ["lone low surrogate", "\ude00"],
  ["surrogates in the wrong order", "\ude00\ud83d"],
  ["lone surrogates inside an array", ["a\ud800b", ["\udfff"]]],
  ["empty array", []],
  ["empty object", {}],
  ["nested containers", { a: [1, { b: [null, { c: "d" }] }], e: {} }],
  ["object keys needing escapes", { "\"": 1, "\\": 2, "\n": 3, "\u001e": 4, "ü": 5, "": 6 }],
  ["key order is kept for non-index keys", { z: 1, a: 2, m: 3 }],
];

function buildJson() {
  return jsonValues.map(([description, value]) => ({
    description,
    value: toJ(value),
    stringify: JSON.stringify(value),
  }));
}

// ------------------------------------------------------------------------------ Engine.IO packets

function eioEncode(packet, supportsBinary) {
  let out;
  eioParser.encodePacket(packet, supportsBinary, (encoded) => {
    out = encoded;
  });
  assert.notEqual(out, undefined);
  return out;
}

function eioEncodePayload(packets) {
  let out;
  eioParser.encodePayload(packets, (encoded) => {
    out = encoded;
  });
  assert.notEqual(out, undefined);
  return out;
}

const eioValid = [
  ["open", { type: "open", data: '{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}' }],
  ["close", { type: "close" }],
  ["ping", { type: "ping" }],
  ["pong", { type: "pong" }],
  ["ping probe", { type: "ping", data: "probe" }],
  ["pong probe", { type: "pong", data: "probe" }],
  ["message", { type: "message", data: "hello" }],
  ["empty message", { type: "message" }],
  ["message carrying a Socket.IO event", { type: "message", data: '2["foo",{"a":1}]' }],
  ["message with unicode", { type: "message", data: "ünï 漢字 😀 \u2028" }],
  ["message starting with a digit", { type: "message", data: "4hello" }],
  ["message starting with b", { type: "message", data: "bAQIDBA==" }],
  ["upgrade", { type: "upgrade" }],
  ["noop", { type: "noop" }],
  ["binary message", { type: "message", data: B(1, 2, 3, 4) }],
  ["empty binary message", { type: "message", data: Buffer.alloc(0) }],
  ["binary message of every byte value", { type: "message", data: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) }],
  ["binary message of one 0xff byte (padding)", { type: "message", data: B(0xff) }],
  ["binary message of two bytes (padding)", { type: "message", data: B(0xfb, 0xef) }],
];

const eioInvalid = [
  ["empty string", ""],
  ["unknown type 7", "7"],
  ["unknown type 9", "9hello"],
  ["a letter", "abc"],
  ["a space", " 4"],
  ["a minus sign", "-1"],
  ["a non-ASCII digit", "\u0664hello"],
  ["a record separator", "\u001e"],
];

const eioLenient = [
  ["bAQIDBA==", "a text frame starting with b is read as base64 binary", "over WebSocket a text frame's first character is the packet type; only polling payloads carry b+base64 (protocol.md §5.4)"],
];

const payloadValid = [
  ["one text packet", [{ type: "message", data: "hello" }]],
  ["several text packets", [{ type: "message", data: "test1" }, { type: "message", data: "test2" }, { type: "message", data: "test3" }]],
  ["message, ping, message", [{ type: "message", data: "hello" }, { type: "ping" }, { type: "message", data: "world" }]],
  ["text then binary", [{ type: "message", data: "hello" }, { type: "message", data: B(1, 2, 3, 4) }]],
  [
    "a Socket.IO binary event plus its attachment",
    [{ type: "message", data: '51-["baz",{"_placeholder":true,"num":0}]' }, { type: "message", data: B(1, 2, 3, 4) }],
  ],
  ["binary only", [{ type: "message", data: B(0xde, 0xad, 0xbe, 0xef) }]],
  ["several binary packets", [{ type: "message", data: B(1) }, { type: "message", data: B(2, 3) }, { type: "message", data: B(4, 5, 6) }]],
  ["empty binary", [{ type: "message", data: Buffer.alloc(0) }]],
  ["empty messages", [{ type: "message" }, { type: "message" }]],
  ["noop", [{ type: "noop" }]],
  ["close", [{ type: "close" }]],
  ["pong", [{ type: "pong" }]],
  ["unicode messages", [{ type: "message", data: "ünï" }, { type: "message", data: "😀" }]],
  ["a message holding JSON-escaped \\u001e", [{ type: "message", data: '2["a\\u001eb"]' }]],
  ["many packets", Array.from({ length: 50 }, (_, i) => ({ type: "message", data: `2["n",${i}]` }))],
];

const payloadInvalid = [
  ["empty body", ""],
  ["only a separator", "\u001e"],
  ["trailing separator", "4hello\u001e"],
  ["leading separator", "\u001e4hello"],
  ["two separators in a row", "4a\u001e\u001e4b"],
  ["garbage", "abc"],
  ["garbage after a good packet", "4hello\u001eabc"],
  ["unknown type after a good packet", "4hello\u001e9"],
  ["v3 length-prefixed payload", "7:4hello"],
  ["v3 length-prefixed open packet", "96:0{\"sid\":\"x\"}"],
];

const payloadLenient = [
  ["bAQIDBA", "base64 without padding", "socketwire's polling decoder wants standard padded base64, as every engine.io client sends"],
  ["b!!!!", "not base64 at all (Buffer.from ignores bad characters)", "invalid base64 is a protocol error"],
  ["bAQ-_w==", "url-safe base64 alphabet", "standard alphabet only"],
  ["4hello\u001ebAQID\nBA==", "base64 with a newline inside", "invalid base64 is a protocol error"],
];

function buildEio() {
  const packets = eioValid.map(([description, packet]) => {
    const ws = eioEncode(packet, true);
    const polling = eioEncode(packet, false);
    const fromWs = eioParser.decodePacket(ws, "nodebuffer");
    const fromPolling = eioParser.decodePacket(polling, "nodebuffer");
    assert.deepEqual(eioObject(fromWs), eioObject(packet), description);
    assert.deepEqual(eioObject(fromPolling), eioObject(packet), description);
    return { description, object: eioObject(packet), wire: { websocket: toJ(ws), polling } };
  });
  const invalid = eioInvalid.map(([description, wire]) => {
    const decoded = eioParser.decodePacket(wire, "nodebuffer");
    assert.equal(decoded.type, "error", description);
    return { description, wire };
  });
  const lenient = eioLenient.map(([wire, description, reason]) => {
    const decoded = eioParser.decodePacket(wire, "nodebuffer");
    assert.notEqual(decoded.type, "error", description);
    return { description, wire, reference: eioObject(decoded), reason };
  });
  return { packets, invalid, lenient };
}

function buildPayloads() {
  const valid = payloadValid.map(([description, packets]) => {
    const wire = eioEncodePayload(packets);
    const decoded = eioParser.decodePayload(wire, "nodebuffer");
    assert.deepEqual(decoded.map(eioObject), packets.map(eioObject), description);
    // the same packets as sent over WebSocket (what socketwire's encode_payload takes)
    const websocket = packets.map((p) => toJ(eioEncode(p, true)));
    return { description, objects: packets.map(eioObject), websocket, wire };
  });
  const invalid = payloadInvalid.map(([description, wire]) => {
    const decoded = eioParser.decodePayload(wire, "nodebuffer");
    assert.ok(decoded.some((p) => p.type === "error"), description);
    return { description, wire };
  });
  const lenient = payloadLenient.map(([wire, description, reason]) => {
    const decoded = eioParser.decodePayload(wire, "nodebuffer");
    assert.ok(decoded.every((p) => p.type !== "error"), description);
    return { description, wire, reference: decoded.map(eioObject), reason };
  });
  return { valid, invalid, lenient };
}

// ------------------------------------------------------------------------------ live engine.io server

function listen(opts) {
  return new Promise((resolve) => {
    const httpServer = http.createServer();
    const server = engine.attach(httpServer, opts);
    server.generateId = () => "FIXED_sid-0123456789";
    httpServer.listen(0, "127.0.0.1", () => resolve({ httpServer, server, port: httpServer.address().port }));
  });
}

async function request(port, method, query) {
  const res = await fetch(`http://127.0.0.1:${port}/engine.io/?${query}`, { method });
  const body = await res.text();
  return { status: res.status, body };
}

function wsOpenPacket(port) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/engine.io/?EIO=4&transport=websocket`);
    ws.on("message", (data) => {
      resolve(data.toString());
      ws.close();
    });
    ws.on("error", reject);
  });
}

function openObject(packet, transport) {
  assert.equal(packet[0], "0");
  const info = JSON.parse(packet.slice(1));
  return { description: "", transport, object: info, wire: packet };
}

async function buildLive() {
  const configs = [
    // [description, server options, whether to run the request matrix against it]
    ["Node defaults", {}, true],
    ["the conformance suite's settings", { pingInterval: 300, pingTimeout: 200, maxHttpBufferSize: 1e6 }, false],
    ["odd values", { pingInterval: 1500, pingTimeout: 750, maxHttpBufferSize: 12345 }, false],
    ["websocket only", { transports: ["websocket"] }, true],
    ["polling only", { transports: ["polling"] }, true],
    ["upgrades disabled", { allowUpgrades: false }, false],
  ];
  const open = [];
  const requests = [];
  const methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
  const queries = [
    "EIO=4&transport=polling",
    "transport=polling",
    "EIO=3&transport=polling",
    "EIO=5&transport=polling",
    "EIO=4.0&transport=polling",
    "EIO=04&transport=polling",
    "EIO=&transport=polling",
    "EIO=4",
    "EIO=4&transport=",
    "EIO=4&transport=xhr-polling",
    "EIO=4&transport=POLLING",
    "EIO=4&transport=webtransport",
    "EIO=4&transport=flashsocket",
    "EIO=3&transport=bogus",
    "transport=bogus",
    "",
    "EIO=4&transport=polling&t=N8hyd6w&extra=1",
  ];
  for (const [description, opts, matrix] of configs) {
    const { httpServer, server, port } = await listen(opts);
    const transports = server.opts.transports;
    if (transports.includes("polling")) {
      const { status, body } = await request(port, "GET", "EIO=4&transport=polling");
      assert.equal(status, 200);
      open.push({ ...openObject(body, "polling"), description });
    }
    if (transports.includes("websocket")) {
      open.push({ ...openObject(await wsOpenPacket(port), "websocket"), description });
    }
    for (const method of matrix ? methods : []) {
      for (const query of queries) {
        const { status, body } = await request(port, method, query);
        let code = null;
        if (status !== 200) {
          code = JSON.parse(body).code;
        } else {
          assert.ok(body.startsWith("0{"), `${method} ${query}: ${body}`);
        }
        requests.push({ transports, method, query, status, code });
      }
    }
    server.close();
    await new Promise((resolve) => httpServer.close(resolve));
  }
  return { open, requests };
}

// ------------------------------------------------------------------------------ main

function write(name, content) {
  mkdirSync(OUT, { recursive: true });
  const header = {
    generator: "tools/gen_vectors.mjs",
    reference: versions,
  };
  writeFileSync(join(OUT, name), JSON.stringify({ ...header, ...content }, null, 1) + "\n");
}

const live = await buildLive();
const eio = buildEio();
write("eio_packets.json", { ...eio, open: live.open, requests: live.requests });
write("eio_payloads.json", buildPayloads());
write("sio_packets.json", { ...buildSio(), json: buildJson() });
console.log(`vectors written to ${OUT}`);
