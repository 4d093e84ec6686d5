// The msgpack wire format of socket.io-msgpack-parser: each Socket.IO packet is one binary
// Engine.IO message, the MessagePack map {type, nsp, data, id}. Pass `msgpackParser` as the
// `parser` option (the server must use msgpack too: socketwire's Server(parser="msgpack")).
// MessagePack as notepack.io writes it: integers in the smallest type, other numbers as
// float64, ArrayBuffers and typed arrays as bin (read back as ArrayBuffer), `undefined` object
// members left out; read: every type, notepack's ext 0 forms (undefined, ArrayBuffer, Date)
// and the timestamp extension (-1) as a Date.

import { Emitter } from "./emitter.js";
import { isBinary, bytesOf } from "./util.js";
import { PacketType } from "./parser.js";

let textEncoder = null; // made on first use: loading the module needs no TextEncoder
let textDecoder = null;

function utf8Encode(text) {
  if (textEncoder === null) textEncoder = new TextEncoder();
  return textEncoder.encode(text);
}

function utf8Decode(bytes) {
  if (textDecoder === null) textDecoder = new TextDecoder();
  return textDecoder.decode(bytes);
}

/** Collects the encoded bytes in growing chunks. */
class MsgpackWriter {
  constructor() {
    this.bytes = new Uint8Array(256);
    this.view = new DataView(this.bytes.buffer);
    this.length = 0;
  }

  reserve(n) {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }

  byte(value) {
    this.reserve(1);
    this.bytes[this.length++] = value;
  }

  head(code, size, n) {
    this.reserve(1 + size);
    this.bytes[this.length] = code;
    if (size === 1) this.view.setUint8(this.length + 1, n);
    else if (size === 2) this.view.setUint16(this.length + 1, n);
    else if (size === 4) this.view.setUint32(this.length + 1, n);
    this.length += 1 + size;
  }

  raw(bytes) {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  sized(fix, fixLimit, codes, n) {
    if (fix !== null && n < fixLimit) this.byte(fix | n);
    else if (codes[0] !== null && n < 0x100) this.head(codes[0], 1, n);
    else if (n < 0x10000) this.head(codes[1], 2, n);
    else this.head(codes[2], 4, n);
  }

  number(value) {
    this.reserve(9);
    const at = this.length;
    if (!Number.isInteger(value) || !Number.isSafeInteger(value)) {
      this.bytes[at] = 0xcb;
      this.view.setFloat64(at + 1, value);
      this.length += 9;
    } else if (value >= 0 && value < 0x80) this.byte(value);
    else if (value < 0 && value >= -0x20) this.byte(value & 0xff);
    else if (value >= 0) {
      if (value < 0x100) this.head(0xcc, 1, value);
      else if (value < 0x10000) this.head(0xcd, 2, value);
      else if (value < 0x100000000) this.head(0xce, 4, value);
      else { this.bytes[at] = 0xcf; this.view.setBigUint64(at + 1, BigInt(value)); this.length += 9; }
    } else if (value >= -0x80) { this.bytes[at] = 0xd0; this.view.setInt8(at + 1, value); this.length += 2; }
    else if (value >= -0x8000) { this.bytes[at] = 0xd1; this.view.setInt16(at + 1, value); this.length += 3; }
    else if (value >= -0x80000000) { this.bytes[at] = 0xd2; this.view.setInt32(at + 1, value); this.length += 5; }
    else { this.bytes[at] = 0xd3; this.view.setBigInt64(at + 1, BigInt(value)); this.length += 9; }
  }

  value(value, depth = 0) {
    if (depth > 100) throw new Error("msgpack: value nested too deeply");
    if (value === null) return this.byte(0xc0);
    switch (typeof value) {
      case "boolean": return this.byte(value ? 0xc3 : 0xc2);
      case "number": return this.number(value);
      case "undefined": return this.raw([0xd4, 0, 0]); // notepack's undefined
      case "string": {
        const bytes = utf8Encode(value);
        this.sized(0xa0, 32, [0xd9, 0xda, 0xdb], bytes.length);
        return this.raw(bytes);
      }
      case "object": return this.object(value, depth);
      default: throw new TypeError("msgpack: cannot encode a " + typeof value);
    }
  }

  object(value, depth) {
    if (isBinary(value)) {
      const bytes = bytesOf(value);
      this.sized(null, 0, [0xc4, 0xc5, 0xc6], bytes.length);
      return this.raw(bytes);
    }
    if (Array.isArray(value)) {
      this.sized(0x90, 16, [null, 0xdc, 0xdd], value.length);
      for (const item of value) this.value(item, depth + 1);
      return undefined;
    }
    if (typeof value.toJSON === "function") return this.value(value.toJSON(), depth + 1);
    const keys = Object.keys(value).filter(
      (key) => value[key] !== undefined && typeof value[key] !== "function",
    );
    this.sized(0x80, 16, [null, 0xde, 0xdf], keys.length);
    for (const key of keys) {
      this.value(key, depth + 1);
      this.value(value[key], depth + 1);
    }
    return undefined;
  }
}

/** Encodes `value` as MessagePack; returns an ArrayBuffer. */
export function encodeMsgpack(value) {
  const writer = new MsgpackWriter();
  writer.value(value);
  return writer.bytes.slice(0, writer.length).buffer;
}

/** Reads one MessagePack value from a buffer. */
class MsgpackReader {
  constructor(buffer) {
    this.bytes = bytesOf(buffer);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.pos = 0;
  }

  take(n) {
    if (this.pos + n > this.bytes.length) throw new Error("msgpack: truncated");
    const at = this.pos;
    this.pos += n;
    return at;
  }

  uint(size) {
    const at = this.take(size);
    if (size === 1) return this.view.getUint8(at);
    if (size === 2) return this.view.getUint16(at);
    return this.view.getUint32(at);
  }

  slice(n) {
    const at = this.take(n);
    return this.bytes.slice(at, at + n).buffer;
  }

  text(n) {
    const at = this.take(n);
    return utf8Decode(this.bytes.subarray(at, at + n));
  }

  list(n, depth) {
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  map(n, depth) {
    const out = {};
    for (let i = 0; i < n; i++) {
      const key = this.value(depth + 1);
      const item = this.value(depth + 1);
      if (item !== undefined) out[key] = item;
    }
    return out;
  }

  ext(n, fixed) {
    const type = this.view.getInt8(this.take(1));
    const at = this.pos;
    // notepack's type 0: undefined and Date as fixext 1 and 8, an ArrayBuffer as ext 8/16/32
    if (type === 0 && fixed && n === 1) { this.take(1); return undefined; }
    if (type === 0 && fixed && n === 8) {
      this.take(8);
      return new Date(Number(this.view.getBigInt64(at)));
    }
    if (type === 0) return this.slice(n);
    if (type === -1) return this.timestamp(n, at);
    this.take(n);
    return [type, this.bytes.slice(at, at + n).buffer];
  }

  timestamp(n, at) {
    this.take(n);
    if (n === 4) return new Date(this.view.getUint32(at) * 1000);
    if (n === 8) {
      const high = this.view.getUint32(at);
      const nanos = high >>> 2;
      const seconds = (high & 0x3) * 0x100000000 + this.view.getUint32(at + 4);
      return new Date(seconds * 1000 + Math.floor(nanos / 1e6));
    }
    const nanos = this.view.getUint32(at);
    return new Date(Number(this.view.getBigInt64(at + 4)) * 1000 + Math.floor(nanos / 1e6));
  }

  value(depth = 0) {
    if (depth > 100) throw new Error("msgpack: value nested too deeply");
    const code = this.view.getUint8(this.take(1));
    if (code < 0x80) return code;
    if (code < 0x90) return this.map(code & 0x0f, depth);
    if (code < 0xa0) return this.list(code & 0x0f, depth);
    if (code < 0xc0) return this.text(code & 0x1f);
    if (code >= 0xe0) return code - 0x100;
    const view = this.view;
    switch (code) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: case 0xc5: case 0xc6: return this.slice(this.uint(1 << (code - 0xc4)));
      case 0xc7: case 0xc8: case 0xc9: return this.ext(this.uint(1 << (code - 0xc7)), false);
      case 0xca: return view.getFloat32(this.take(4));
      case 0xcb: return view.getFloat64(this.take(8));
      case 0xcc: case 0xcd: case 0xce: return this.uint(1 << (code - 0xcc));
      case 0xcf: return Number(view.getBigUint64(this.take(8)));
      case 0xd0: return view.getInt8(this.take(1));
      case 0xd1: return view.getInt16(this.take(2));
      case 0xd2: return view.getInt32(this.take(4));
      case 0xd3: return Number(view.getBigInt64(this.take(8)));
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return this.ext(1 << (code - 0xd4), true);
      case 0xd9: case 0xda: case 0xdb: return this.text(this.uint(1 << (code - 0xd9)));
      case 0xdc: case 0xdd: return this.list(this.uint(2 << (code - 0xdc)), depth);
      case 0xde: case 0xdf: return this.map(this.uint(2 << (code - 0xde)), depth);
      default: throw new Error("msgpack: unknown type 0x" + code.toString(16));
    }
  }
}

/** Decodes one MessagePack value (the whole buffer). */
export function decodeMsgpack(buffer) {
  const reader = new MsgpackReader(buffer);
  const value = reader.value();
  if (reader.pos !== reader.bytes.length) throw new Error("msgpack: extra bytes");
  return value;
}

const isPlainObject = (value) => Object.prototype.toString.call(value) === "[object Object]";

/** Whether a decoded packet has the shape socket.io-msgpack-parser accepts. */
function isValidMsgpackPacket(packet) {
  if (!isPlainObject(packet)) return false;
  const { type, nsp, data, id } = packet;
  if (!Number.isInteger(type) || type < PacketType.CONNECT || type > PacketType.CONNECT_ERROR) {
    return false;
  }
  if (typeof nsp !== "string" || (id !== undefined && !Number.isInteger(id))) return false;
  if (type === PacketType.CONNECT) return data === undefined || isPlainObject(data);
  if (type === PacketType.DISCONNECT) return data === undefined;
  if (type === PacketType.CONNECT_ERROR) return typeof data === "string" || isPlainObject(data);
  return Array.isArray(data);
}

class MsgpackEncoder {
  encode(packet) {
    const out = { type: packet.type, nsp: packet.nsp, data: packet.data };
    if (packet.id !== undefined && packet.id !== null) out.id = packet.id;
    return [encodeMsgpack(out)];
  }
}

class MsgpackDecoder extends Emitter {
  add(message) {
    if (typeof message === "string") throw new Error("msgpack: got a text message");
    const packet = decodeMsgpack(message);
    if (!isValidMsgpackPacket(packet)) throw new Error("msgpack: invalid packet");
    this._fire("decoded", packet);
  }

  destroy() {
    this.off();
  }
}

/** The `parser` option for msgpack: socket.io-msgpack-parser's interface. */
export const msgpackParser = Object.freeze({
  protocol: 5,
  PacketType,
  Encoder: MsgpackEncoder,
  Decoder: MsgpackDecoder,
});
