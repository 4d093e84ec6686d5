#!/usr/bin/env node
// Generates the cluster message vectors (tests/vectors/cluster_messages.json) from the Node
// adapters themselves:
//
//   node tools/gen_cluster_vectors.mjs      (after `npm ci`)
//
// A sharded adapter (@socket.io/redis-adapter createShardedAdapter) and a streams adapter
// (@socket.io/redis-streams-adapter createAdapter) are built over recording stand-in Redis
// clients; this script only chooses the messages, asks each adapter to publish them, and writes
// down the channel and bytes it handed to Redis (SPUBLISH, PUBLISH, XADD, SET). The raw msgpack
// encodings come from notepack.io and @msgpack/msgpack, the packages the adapters use.
//
// JSON-able forms: bytes -> {"$bytes": base64}; a JavaScript Date -> {"$date": ISO string}.

import { createRequire } from "node:module";
import { writeFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const notepack = require("notepack.io");
const msgpack = require("@msgpack/msgpack");
const { createShardedAdapter } = require("@socket.io/redis-adapter");
const streams = require("@socket.io/redis-streams-adapter");
const streamsUtil = require("@socket.io/redis-streams-adapter/dist/util");

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "tests", "vectors", "cluster_messages.json");
const version = (name) =>
  JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;

function toJ(value) {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return { $bytes: Buffer.from(value).toString("base64") };
  }
  if (value instanceof ArrayBuffer) return { $bytes: Buffer.from(value).toString("base64") };
  if (value instanceof Date) return { $date: value.toISOString() };
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

const b64 = (buf) => Buffer.from(buf).toString("base64");

// ------------------------------------------------------------------ recording clients

const recorded = [];
function fakeRedis() {
  const client = {
    isOpen: true,
    duplicate: () => fakeRedis(),
    on: () => client,
    connect: async () => {},
    disconnect: () => {},
    sSubscribe: async () => {},
    sUnsubscribe: async () => {},
    subscribe: async () => {},
    sPublish: async (channel, payload) => { recorded.push({ cmd: "SPUBLISH", channel, payload }); },
    publish: async (channel, payload) => { recorded.push({ cmd: "PUBLISH", channel, payload }); },
    xRead: () => new Promise(() => {}), // the polling loop waits forever
    xAdd: async (stream, id, fields, opts) => {
      recorded.push({ cmd: "XADD", stream, id, fields, opts });
      return "1700000000000-0";
    },
    set: async (key, value, opts) => { recorded.push({ cmd: "SET", key, value, opts }); },
  };
  return client;
}

function fakeNamespace(name) {
  return {
    name,
    sockets: new Map(),
    server: { encoder: { encode: (p) => [JSON.stringify(p)] },
              opts: { connectionStateRecovery: { maxDisconnectionDuration: 120000 } },
              _opts: {} },
  };
}

function take() {
  const out = recorded.splice(0, recorded.length);
  if (out.length !== 1) throw new Error(`expected one command, got ${out.length}`);
  return out[0];
}

// ---------------------------------------------------------------------------- messages

const UID = "0123456789abcdef";
const opts = (rooms = [], except = [], flags = {}) => ({ rooms, except, flags });
const LONG = "x".repeat(40) + "é".repeat(200);
const BIG = { n: [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296,
                 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769, -2147483648,
                 -2147483649, 1.5, -0.25, 1.5e-7, 123456.789], s: LONG, t: true, f: false, z: null,
              keys: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])) };

const messages = [
  ["broadcast", 3, { packet: { type: 2, data: ["news", 1, "two", { three: [3] }] },
                     opts: opts() }],
  ["broadcast to a room, except a socket, volatile", 3,
   { packet: { type: 2, data: ["ev"] },
     opts: opts(["room1"], ["AAAAAAAAAAAAAAAAAAAA"], { volatile: true, compress: false }) }],
  ["broadcast to a socket id", 3,
   { packet: { type: 2, data: ["private", "hi"] }, opts: opts(["AAAAAAAAAAAAAAAAAAAA"]) }],
  ["broadcast to two rooms", 3,
   { packet: { type: 2, data: ["ev", "x"] }, opts: opts(["a", "b"], []) }],
  ["broadcast with binary", 3,
   { packet: { type: 2, data: ["file", Buffer.from([0, 1, 2, 255]), { nested: Buffer.from("abc") }] },
     opts: opts(["room1"]) }],
  ["broadcast with ack", 3,
   { packet: { type: 2, data: ["question", 42] }, requestId: "fedcba9876543210",
     opts: opts(["room1"], [], { timeout: 5000 }) }],
  ["remote socket emit with ack", 3,
   { packet: { type: 2, data: ["q"] }, requestId: "fedcba9876543210",
     opts: opts(["AAAAAAAAAAAAAAAAAAAA"], [], { timeout: 1000, expectSingleResponse: true }) }],
  ["broadcast of numbers, long strings, many keys", 3,
   { packet: { type: 2, data: ["mix", BIG] }, opts: opts() }],
  ["broadcast of numbers with binary", 3,
   { packet: { type: 2, data: ["mix", BIG, Buffer.alloc(300, 7)] }, opts: opts() }],
  ["sockets join", 4, { opts: opts(["r"], ["e"]), rooms: ["new1", "new2"] }],
  ["sockets leave", 5, { opts: opts([], []), rooms: ["old"] }],
  ["disconnect sockets", 6, { opts: opts(["r"]), close: true }],
  ["fetch sockets", 7, { opts: opts(["r"], [], { timeout: 3000 }), requestId: "r1" }],
  ["server side emit", 9, { packet: ["hello", "world", 1] }],
  ["server side emit with ack", 9, { packet: ["ping"], requestId: "r2" }],
  ["server side emit with binary", 9, { packet: ["bin", Buffer.from([9, 8, 7])], requestId: "r3" }],
  ["initial heartbeat", 1, undefined],
  ["heartbeat", 2, undefined],
  ["adapter close", 13, undefined],
];

const responses = [
  ["fetch sockets response", 8,
   { requestId: "r1", sockets: [{ id: "AAAAAAAAAAAAAAAAAAAA", rooms: ["AAAAAAAAAAAAAAAAAAAA", "r"],
     data: { user: "ann" },
     handshake: { headers: { host: "127.0.0.1" }, time: "Tue Dec 01 2026", address: "::1",
                  xdomain: false, secure: false, issued: 1764576000000,
                  url: "/socket.io/?EIO=4&transport=websocket", query: { EIO: "4" }, auth: {} } }] }],
  ["fetch sockets response with binary data", 8,
   { requestId: "r1", sockets: [{ id: "BBBBBBBBBBBBBBBBBBBB", rooms: [], data: { avatar: Buffer.from([1, 2]) },
     handshake: {} }] }],
  ["server side emit response", 10, { requestId: "r2", packet: "pong" }],
  ["server side emit response with binary", 10, { requestId: "r2", packet: Buffer.from([1]) }],
  ["broadcast client count", 11, { requestId: "fedcba9876543210", clientCount: 3 }],
  ["broadcast ack", 12, { requestId: "fedcba9876543210", packet: ["answer", 1] }],
  ["broadcast ack with binary", 12, { requestId: "fedcba9876543210", packet: [Buffer.from([5])] }],
];

function build(type, data, nsp = "/") {
  const message = { uid: UID, nsp, type };
  if (data !== undefined) message.data = structuredClone(data);
  return message;
}

// ------------------------------------------------------------------------------ sharded

const shardedCases = [];
for (const mode of ["static", "dynamic", "dynamic-private"]) {
  const adapter = createShardedAdapter(fakeRedis(), fakeRedis(), { subscriptionMode: mode })(
    fakeNamespace("/"));
  for (const [name, type, data] of messages) {
    const message = build(type, data);
    message.uid = adapter.uid;
    await adapter.doPublish(message);
    const { channel, payload } = take();
    shardedCases.push({ name, mode, message: toJ({ ...message, uid: "UID" }), uid: adapter.uid,
                        channel: channel.replace(adapter.uid, "UID"),
                        payload: b64(typeof payload === "string" ? Buffer.from(payload) : payload),
                        json: typeof payload === "string" });
  }
  if (mode === "dynamic") {
    for (const [name, type, data] of responses) {
      const response = build(type, data);
      response.uid = adapter.uid;
      await adapter.doPublishResponse("requester0000000", response);
      const { channel, payload } = take();
      shardedCases.push({ name, mode, response: true, message: toJ({ ...response, uid: "UID" }),
                          uid: adapter.uid, channel,
                          payload: b64(typeof payload === "string" ? Buffer.from(payload) : payload),
                          json: typeof payload === "string" });
    }
  }
}

// ------------------------------------------------------------------------------ streams

const streamCases = [];
const factory = streams.createAdapter(fakeRedis(), { streamCount: 1 });
const streamsAdapter = factory(fakeNamespace("/"));
for (const [name, type, data] of [...messages, ...responses]) {
  const message = build(type, data);
  message.uid = streamsAdapter.uid;
  if (type >= 8 && type !== 9 && type !== 13) {
    await streamsAdapter.doPublishResponse("requester0000000", message);
  } else {
    await streamsAdapter.doPublish(message);
  }
  const got = take();
  const out = { name, message: toJ({ ...message, uid: "UID" }), uid: streamsAdapter.uid,
                cmd: got.cmd };
  if (got.cmd === "XADD") {
    out.stream = got.stream;
    out.fields = { ...got.fields, uid: "UID" };
    out.maxlen = got.opts.TRIM;
  } else {
    out.channel = got.channel.replace(streamsAdapter.uid, "UID");
    out.payload = b64(got.payload);
  }
  streamCases.push(out);
}
streamsAdapter.persistSession({ sid: "AAAAAAAAAAAAAAAAAAAA", pid: "PPPPPPPPPPPPPPPPPPPP",
                                rooms: ["AAAAAAAAAAAAAAAAAAAA", "room"], data: { user: "ann", n: 1 } });
const sessionCmd = take();
const sessionCase = { key: sessionCmd.key, value: sessionCmd.value, px: sessionCmd.opts.PX,
                      session: { sid: "AAAAAAAAAAAAAAAAAAAA", pid: "PPPPPPPPPPPPPPPPPPPP",
                                 rooms: ["AAAAAAAAAAAAAAAAAAAA", "room"], data: { user: "ann", n: 1 } } };
streamsAdapter.close();

// ---------------------------------------------------------------- raw msgpack both ways

const values = [
  ["map of everything", { a: 1, b: [true, false, null], c: "text", d: 1.5, big: BIG }],
  ["bytes", { bin: Buffer.from([0, 255, 10]) }],
  ["empty things", { a: [], o: {}, s: "" }],
  ["a date", { when: new Date(Date.UTC(2026, 11, 1, 8, 0, 0, 250)) }],
  ["undefined member", { kept: 1, dropped: undefined }],
  ["unicode", { s: "héllo wörld ✓ 𝄞" }],
];
const raw = values.map(([name, value]) => ({
  name,
  value: toJ(value),
  notepack: b64(notepack.encode(value)),
  msgpack: b64(msgpack.encode(value)),
}));
// notepack 2.x forms its decoder still reads: ext type 0 buffers
raw.push({ name: "notepack legacy ext 0 buffer", value: { $bytes: b64(Buffer.from([1, 2, 3])) },
           decode_only: b64(Buffer.from([0xc7, 3, 0, 1, 2, 3])),
           check: toJ(notepack.decode(Buffer.from([0xc7, 3, 0, 1, 2, 3]))) });

// -------------------------------------------------------------------------- hash codes

const namespaces = ["/", "/chat", "/notifications", "/admin", "/é", "/𝄞", "/a-very-long-namespace-name-1234567890"];
const hashes = namespaces.map((nsp) => {
  const names = {};
  for (const count of [1, 2, 3, 4, 7]) {
    const adapter = streams.createAdapter(fakeRedis(), { streamCount: count })(fakeNamespace(nsp));
    const message = build(3, { packet: { type: 2, data: ["x"] }, opts: opts() }, nsp);
    message.uid = adapter.uid;
    adapter.doPublish(message);
    names[count] = take().stream;
    adapter.close();
  }
  return { nsp, hash: streamsUtil.hashCode(nsp), streams: names };
});

const versions = Object.fromEntries(
  ["@socket.io/redis-adapter", "@socket.io/redis-streams-adapter", "socket.io-adapter",
   "notepack.io", "@msgpack/msgpack"].map((n) => [n, version(n)]));
writeFileSync(OUT, JSON.stringify({ generator: "tools/gen_cluster_vectors.mjs", versions,
                                    sharded: shardedCases, streams: streamCases,
                                    session: sessionCase, msgpack: raw, hashes }, null, 1) + "\n");
console.log(`wrote ${OUT}: ${shardedCases.length} sharded, ${streamCases.length} streams, ` +
            `${raw.length} msgpack, ${hashes.length} hash cases`);
process.exit(0);
