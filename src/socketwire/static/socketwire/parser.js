// Socket.IO v5 packets: encoding, decoding, binary attachments (socket.io-parser's interface;
// another parser with that interface, e.g. msgpack, can be passed as the `parser` option).

import { Emitter } from "./emitter.js";
import { isBinary, isBlob } from "./util.js";

export const PacketType = {
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
};

export const RESERVED_EVENTS = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);

export const MAX_ATTACHMENTS = 10;

export function containsBinary(value, depth = 0) {
  if (value === null || typeof value !== "object" || depth > 100) return false;
  if (isBinary(value)) return true;
  if (isBlob(value)) throw new TypeError("Blob is not supported: send await blob.arrayBuffer()");
  if (Array.isArray(value)) return value.some((item) => containsBinary(item, depth + 1));
  if (typeof value.toJSON === "function") return false;
  return Object.keys(value).some((key) => containsBinary(value[key], depth + 1));
}

/** Replaces each binary value by a placeholder (depth-first order) and collects the buffers. */
export function extractBinary(value, buffers) {
  if (isBinary(value)) {
    buffers.push(value);
    return { _placeholder: true, num: buffers.length - 1 };
  }
  if (Array.isArray(value)) return value.map((item) => extractBinary(item, buffers));
  if (value !== null && typeof value === "object" && typeof value.toJSON !== "function") {
    const copy = {};
    for (const key of Object.keys(value)) copy[key] = extractBinary(value[key], buffers);
    return copy;
  }
  return value;
}

export function insertBinary(value, buffers) {
  if (value === null || typeof value !== "object") return value;
  if (value._placeholder === true) {
    const index = value.num;
    if (Number.isInteger(index) && index >= 0 && index < buffers.length) return buffers[index];
    throw new Error("illegal attachments");
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = insertBinary(value[i], buffers);
  } else {
    for (const key of Object.keys(value)) value[key] = insertBinary(value[key], buffers);
  }
  return value;
}

/** Encodes a Socket.IO packet into the Engine.IO messages to send (a string, then buffers). */
export function encodePacket(packet) {
  let type = packet.type;
  let data = packet.data;
  const buffers = [];
  if ((type === PacketType.EVENT || type === PacketType.ACK) && containsBinary(data)) {
    type = type === PacketType.EVENT ? PacketType.BINARY_EVENT : PacketType.BINARY_ACK;
    data = extractBinary(data, buffers);
  }
  let text = String(type);
  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
    text += buffers.length + "-";
  }
  if (packet.nsp && packet.nsp !== "/") text += packet.nsp + ",";
  if (packet.id !== undefined && packet.id !== null) text += packet.id;
  if (data !== undefined) text += JSON.stringify(data);
  return [text, ...buffers];
}

export function isValidPayload(type, payload) {
  switch (type) {
    case PacketType.CONNECT:
      return payload === undefined || (payload !== null && typeof payload === "object");
    case PacketType.DISCONNECT:
      return payload === undefined;
    case PacketType.CONNECT_ERROR:
      return typeof payload === "string" || (payload !== null && typeof payload === "object");
    case PacketType.EVENT:
    case PacketType.BINARY_EVENT:
      return (
        Array.isArray(payload) &&
        (typeof payload[0] === "number" ||
          (typeof payload[0] === "string" && !RESERVED_EVENTS.has(payload[0])))
      );
    case PacketType.ACK:
    case PacketType.BINARY_ACK:
      return Array.isArray(payload);
    default:
      return false;
  }
}

export function decodeText(text) {
  let i = 0;
  const type = Number(text.charAt(0));
  if (!/^[0-6]$/.test(text.charAt(0))) throw new Error("unknown packet type " + text.charAt(0));
  const packet = { type, nsp: "/" };
  i = 1;
  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
    const dash = text.indexOf("-", i);
    const count = text.slice(i, dash);
    if (dash === -1 || !/^\d+$/.test(count)) throw new Error("illegal attachments");
    packet.attachments = Number(count);
    if (packet.attachments < 1 || packet.attachments > MAX_ATTACHMENTS) {
      throw new Error("illegal attachments");
    }
    i = dash + 1;
  }
  if (text.charAt(i) === "/") {
    const comma = text.indexOf(",", i);
    const end = comma === -1 ? text.length : comma;
    packet.nsp = text.slice(i, end);
    i = comma === -1 ? end : end + 1;
  }
  const digits = /^\d+/.exec(text.slice(i));
  if (digits) {
    packet.id = Number(digits[0]);
    i += digits[0].length;
  }
  if (i < text.length) {
    try {
      packet.data = JSON.parse(text.slice(i));
    } catch {
      throw new Error("invalid payload");
    }
  }
  if (!isValidPayload(type, packet.data)) throw new Error("invalid payload");
  return packet;
}

/** Decodes Engine.IO messages into Socket.IO packets, reassembling binary attachments. */
export class Decoder extends Emitter {
  add(message) {
    if (typeof message === "string") {
      if (this.pending) throw new Error("got plaintext data when reconstructing a packet");
      const packet = decodeText(message);
      if (packet.attachments) {
        this.pending = packet;
        this.buffers = [];
      } else {
        this._fire("decoded", packet);
      }
      return;
    }
    if (!this.pending) throw new Error("got binary data when not reconstructing a packet");
    this.buffers.push(message);
    if (this.buffers.length === this.pending.attachments) {
      const packet = this.pending;
      packet.data = insertBinary(packet.data, this.buffers);
      this.pending = null;
      this.buffers = [];
      this._fire("decoded", packet);
    }
  }

  destroy() {
    this.pending = null;
    this.buffers = [];
    this.off();
  }
}
