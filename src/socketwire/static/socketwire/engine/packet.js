// Engine.IO v4 packets: encoding and decoding one packet (text, or binary raw / base64).

import { bytesOf, fromBase64, isBinary, toBase64 } from "../util.js";

export const EIO_TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];
export const EIO_CODES = Object.fromEntries(EIO_TYPES.map((name, i) => [name, String(i)]));
export const SEPARATOR = "\x1e";

/** Encodes one Engine.IO packet. Binary data stays raw, or becomes "b"+base64 for polling. */
export function encodeEnginePacket(packet, base64Binary) {
  if (isBinary(packet.data)) return base64Binary ? "b" + toBase64(packet.data) : packet.data;
  return EIO_CODES[packet.type] + (packet.data === undefined ? "" : String(packet.data));
}

export function decodeEnginePacket(raw) {
  if (typeof raw !== "string") {
    const data = raw instanceof ArrayBuffer ? raw : bytesOf(raw).slice().buffer;
    return { type: "message", data };
  }
  if (raw.charAt(0) === "b") {
    try {
      return { type: "message", data: fromBase64(raw.slice(1)) };
    } catch {
      return { type: "error", data: "parser error" };
    }
  }
  const type = EIO_TYPES[Number(raw.charAt(0))];
  if (raw.length === 0 || !/^[0-6]$/.test(raw.charAt(0)) || !type) {
    return { type: "error", data: "parser error" };
  }
  return raw.length > 1 ? { type, data: raw.slice(1) } : { type };
}
