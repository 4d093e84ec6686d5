// The WebTransport transport (HTTP/3): one bidirectional stream of length-framed packets.

import { decodeEnginePacket, encodeEnginePacket } from "./packet.js";
import { Transport } from "./transport.js";
import { bytesOf } from "../util.js";

// WebTransport (HTTP/3): one bidirectional stream, each Engine.IO packet behind a length header
// (bit 7 of the first byte: binary; then 0-125, or 126 + 16-bit, or 127 + 64-bit length), as
// engine.io-parser frames it. The page passes the server's certificate hash when it is
// self-signed: transportOptions: { webtransport: { serverCertificateHashes: [...] } }.
export function frameEnginePacket(packet) {
  const raw = encodeEnginePacket(packet, false);
  const body = typeof raw === "string" ? new TextEncoder().encode(raw) : bytesOf(raw);
  const n = body.length;
  const head = new Uint8Array(n < 126 ? 1 : n < 65536 ? 3 : 9);
  const view = new DataView(head.buffer);
  if (n < 126) head[0] = n;
  else if (n < 65536) { head[0] = 126; view.setUint16(1, n); }
  else { head[0] = 127; view.setBigUint64(1, BigInt(n)); }
  if (typeof raw !== "string") head[0] |= 0x80;
  const out = new Uint8Array(head.length + n);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** Reads framed packets from stream chunks; calls `onPacket` for each (an error packet last). */
export class FrameReader {
  constructor(onPacket) {
    this.onPacket = onPacket;
    this.buffer = new Uint8Array(0);
    this.failed = false;
  }

  push(chunk) {
    if (this.failed) return;
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    let pos = 0;
    while (pos < joined.length) {
      const first = joined[pos];
      let n = first & 0x7f;
      let head = 1;
      if (n === 126) {
        if (joined.length - pos < 3) break;
        n = new DataView(joined.buffer, pos + 1, 2).getUint16(0);
        head = 3;
      } else if (n === 127) {
        if (joined.length - pos < 9) break;
        const big = new DataView(joined.buffer, pos + 1, 8).getBigUint64(0);
        n = big > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(big);
        head = 9;
      }
      if (n <= 0) {
        this.failed = true;
        this.onPacket({ type: "error", data: "parser error" });
        return;
      }
      if (joined.length - pos < head + n) break;
      const body = joined.slice(pos + head, pos + head + n);
      pos += head + n;
      this.onPacket(decodeEnginePacket(first & 0x80 ? body.buffer : new TextDecoder().decode(body)));
    }
    this.buffer = joined.slice(pos);
  }
}

export class WT extends Transport {
  get name() {
    return "webtransport";
  }

  doOpen() {
    let session;
    try {
      const options = (this.options.transportOptions || {}).webtransport;
      session = new WebTransport(this.uri("https"), options);
    } catch (error) {
      this.onError("webtransport error", error);
      return;
    }
    this.session = session;
    session.closed.then(
      () => this.onClose({ description: "webtransport session closed" }),
      (error) => this.onError("webtransport error", error),
    );
    session.ready
      .then(() => session.createBidirectionalStream())
      .then((stream) => {
        this.writer = stream.writable.getWriter();
        const frames = new FrameReader((packet) => this.onPacket(packet));
        const reader = stream.readable.getReader();
        const read = () => reader.read().then(({ done, value }) => {
          if (done) return;
          frames.push(value);
          read();
        }, () => {});
        read();
        // the first packet names the session to upgrade, or asks for a new one (as Node)
        const open = { type: "open" };
        if (this.query.sid) open.data = JSON.stringify({ sid: this.query.sid });
        return this.writer.write(frameEnginePacket(open)).then(() => this.onOpen());
      })
      .catch((error) => this.onError("webtransport error", error));
  }

  write(packets) {
    this.writable = false;
    const writes = packets.map((packet) => this.writer.write(frameEnginePacket(packet)));
    Promise.all(writes).then(
      () => setTimeout(() => {
        if (this.readyState === "closed") return;
        this.writable = true;
        this._fire("drain");
      }, 0),
      () => {}, // the session is closing: "close" follows
    );
  }

  doClose() {
    if (this.session) {
      try {
        this.session.close();
      } catch {
        // already closed
      }
    }
  }
}
