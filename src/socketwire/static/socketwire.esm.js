// socketwire browser client: a dependency-free Socket.IO client for browsers.
// Wire protocol: Engine.IO v4 (HTTP long-polling + WebSocket) and Socket.IO v5.
// API: the commonly used part of socket.io-client 4.x (io(), Manager, Socket).
//
// This file is an ES module whose only module syntax is the block of `export` lines at the very
// end. The classic (non-module) script is produced by dropping those lines and wrapping the rest
// in an IIFE (see socketwire.static.browser_client_source in the Python package).

const PROTOCOL = 5;

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** Minimal event emitter. `_fire` dispatches locally (socket.io-client calls it emitReserved). */
class Emitter {
  _handlers(event, create) {
    if (!this._events) this._events = Object.create(null);
    let list = this._events[event];
    if (!list && create) list = this._events[event] = [];
    return list;
  }

  on(event, fn) {
    this._handlers(event, true).push(fn);
    return this;
  }

  once(event, fn) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      fn.apply(this, args);
    };
    wrapper.original = fn;
    return this.on(event, wrapper);
  }

  off(event, fn) {
    if (!this._events) return this;
    if (event === undefined) {
      this._events = Object.create(null);
      return this;
    }
    if (fn === undefined) {
      delete this._events[event];
      return this;
    }
    const list = this._events[event];
    if (!list) return this;
    const index = list.findIndex((h) => h === fn || h.original === fn);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) delete this._events[event];
    return this;
  }

  listeners(event) {
    return (this._handlers(event, false) || []).slice();
  }

  hasListeners(event) {
    return this.listeners(event).length > 0;
  }

  _fire(event, ...args) {
    const list = this._handlers(event, false);
    if (!list) return this;
    for (const fn of list.slice()) fn.apply(this, args);
    return this;
  }

  emitReserved(event, ...args) {
    return this._fire(event, ...args);
  }
}
for (const [alias, name] of [
  ["addEventListener", "on"],
  ["removeListener", "off"],
  ["removeEventListener", "off"],
  ["removeAllListeners", "off"],
]) {
  Emitter.prototype[alias] = Emitter.prototype[name];
}

/** Subscribes and returns the function that undoes it. */
function subscribe(target, event, fn) {
  target.on(event, fn);
  return () => target.off(event, fn);
}

const isBinary = (value) => value instanceof ArrayBuffer || ArrayBuffer.isView(value);
const isBlob = (value) => typeof Blob !== "undefined" && value instanceof Blob;

function bytesOf(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function toBase64(value) {
  const bytes = bytesOf(value);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function fromBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes.buffer;
}

/** Length in bytes of a string once UTF-8 encoded. */
function utf8Length(text) {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length) {
      length += 4; // surrogate pair
      i++;
    } else length += 3;
  }
  return length;
}

function encodeQuery(query) {
  const parts = [];
  for (const key of Object.keys(query)) {
    const value = query[key];
    if (value === undefined) continue;
    parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
  }
  return parts.join("&");
}

function parseQuery(text) {
  const result = {};
  for (const [key, value] of new URLSearchParams(text)) result[key] = value;
  return result;
}

function randomToken() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 7);
}

// ---------------------------------------------------------------------------------------------
// Engine.IO packets (protocol 4)
// ---------------------------------------------------------------------------------------------

const EIO_TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];
const EIO_CODES = Object.fromEntries(EIO_TYPES.map((name, i) => [name, String(i)]));
const SEPARATOR = "\x1e";

/** Encodes one Engine.IO packet. Binary data stays raw, or becomes "b"+base64 for polling. */
function encodeEnginePacket(packet, base64Binary) {
  if (isBinary(packet.data)) return base64Binary ? "b" + toBase64(packet.data) : packet.data;
  return EIO_CODES[packet.type] + (packet.data === undefined ? "" : String(packet.data));
}

function decodeEnginePacket(raw) {
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

// ---------------------------------------------------------------------------------------------
// Engine.IO transports
// ---------------------------------------------------------------------------------------------

/**
 * Base transport. Events: "open", "packet", "drain", "error" (Error), "close" (Error|undefined).
 * `writable` is true when send() may be called.
 */
class Transport extends Emitter {
  constructor(options) {
    super();
    this.options = options;
    this.query = options.query;
    this.readyState = "";
    this.writable = false;
  }

  open() {
    this.readyState = "opening";
    this.doOpen();
    return this;
  }

  close() {
    if (this.readyState !== "" && this.readyState !== "closed") {
      this.doClose();
      this.onClose();
    }
    return this;
  }

  send(packets) {
    if (this.readyState === "open") this.write(packets);
  }

  onOpen() {
    this.readyState = "open";
    this.writable = true;
    this._fire("open");
  }

  onPacket(packet) {
    this._fire("packet", packet);
  }

  onError(message, cause) {
    const error = new Error(message);
    error.type = "TransportError";
    error.description = cause;
    this._fire("error", error);
    return this;
  }

  onClose(details) {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.writable = false;
    this._fire("close", details);
  }

  uri(scheme) {
    const o = this.options;
    const query = Object.assign({}, this.query);
    if (o.timestampRequests !== false && (this.name === "polling" || o.timestampRequests)) {
      query[o.timestampParam || "t"] = randomToken();
    }
    const search = encodeQuery(query);
    return scheme + "://" + o.host + o.path + (search ? "?" + search : "");
  }
}

class Polling extends Transport {
  get name() {
    return "polling";
  }

  doOpen() {
    this.poll();
  }

  /** Stops polling once the in-flight GET and POST are done, then calls `done`. */
  pause(done) {
    this.readyState = "pausing";
    const finish = () => {
      this.readyState = "paused";
      done();
    };
    let waiting = 0;
    if (this.polling) {
      waiting++;
      this.once("pollComplete", () => --waiting || finish());
    }
    if (!this.writable) {
      waiting++;
      this.once("drain", () => --waiting || finish());
    }
    if (waiting === 0) finish();
  }

  request(method, body) {
    const controller = new AbortController();
    if (method === "GET") this._pollController = controller;
    const headers = Object.assign({}, this.options.extraHeaders);
    if (method === "POST") headers["Content-Type"] = "text/plain;charset=UTF-8";
    const init = {
      method,
      headers,
      body,
      signal: controller.signal,
      cache: "no-store",
      credentials: this.options.withCredentials ? "include" : "same-origin",
    };
    const url = this.uri(this.options.secure ? "https" : "http");
    return fetch(url, init)
      .then(async (response) => {
        const text = await response.text();
        if (!response.ok) {
          const error = new Error("HTTP " + response.status);
          error.status = response.status;
          error.body = text;
          throw error;
        }
        return text;
      })
      .finally(() => {
        if (this._pollController === controller) this._pollController = null;
      });
  }

  poll() {
    this.polling = true;
    this.request("GET").then(
      (text) => this.onPayload(text),
      (error) => {
        if (this.readyState !== "closed") this.onError("xhr poll error", error);
      },
    );
    this._fire("poll");
  }

  onPayload(text) {
    if (this.readyState === "closed") return;
    for (const raw of text.split(SEPARATOR)) {
      const packet = decodeEnginePacket(raw);
      if (this.readyState === "opening" && packet.type === "open") this.onOpen();
      if (packet.type === "close") {
        this.onClose({ description: "transport closed by the server" });
        return;
      }
      this.onPacket(packet);
      if (this.readyState === "closed") return;
    }
    this.polling = false;
    this._fire("pollComplete");
    if (this.readyState === "open") this.poll();
  }

  write(packets) {
    this.writable = false;
    const body = packets.map((p) => encodeEnginePacket(p, true)).join(SEPARATOR);
    this.request("POST", body).then(
      () => {
        this.writable = true;
        this._fire("drain");
      },
      (error) => {
        if (this.readyState !== "closed") this.onError("xhr post error", error);
      },
    );
  }

  /** Restarts polling after an aborted upgrade. */
  resume() {
    if (this.readyState !== "pausing" && this.readyState !== "paused") return;
    this.readyState = "open";
    if (!this.polling) this.poll();
  }

  doClose() {
    // Tell the server (it releases the pending GET with a noop), and stop listening ourselves.
    if (this.readyState === "open") this.write([{ type: "close" }]);
    if (this._pollController) this._pollController.abort();
    this._pollController = null;
  }
}

class WS extends Transport {
  get name() {
    return "websocket";
  }

  doOpen() {
    let ws;
    try {
      ws = new WebSocket(this.uri(this.options.secure ? "wss" : "ws"), this.options.protocols);
    } catch (error) {
      this.onError("websocket error", error);
      return;
    }
    ws.binaryType = "arraybuffer";
    ws.onopen = () => this.onOpen();
    ws.onclose = (event) =>
      this.onClose({ description: "websocket connection closed", context: event });
    ws.onmessage = (event) => this.onPacket(decodeEnginePacket(event.data));
    ws.onerror = (event) => this.onError("websocket error", event);
    this.ws = ws;
  }

  write(packets) {
    this.writable = false;
    for (const packet of packets) {
      try {
        this.ws.send(encodeEnginePacket(packet, false));
      } catch {
        // The socket is closing: "close" follows.
      }
    }
    // Let the browser take the frames before reporting that we can write again.
    setTimeout(() => {
      if (this.readyState === "closed") return;
      this.writable = true;
      this._fire("drain");
    }, 0);
  }

  doClose() {
    if (this.ws) {
      this.ws.onerror = () => {};
      this.ws.close();
    }
  }
}

// WebTransport (HTTP/3): one bidirectional stream, each Engine.IO packet behind a length header
// (bit 7 of the first byte: binary; then 0-125, or 126 + 16-bit, or 127 + 64-bit length), as
// engine.io-parser frames it. The page passes the server's certificate hash when it is
// self-signed: transportOptions: { webtransport: { serverCertificateHashes: [...] } }.
function frameEnginePacket(packet) {
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
class FrameReader {
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

class WT extends Transport {
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

const TRANSPORTS = { polling: Polling, websocket: WS, webtransport: WT };

// ---------------------------------------------------------------------------------------------
// Engine.IO session
// ---------------------------------------------------------------------------------------------

let priorWebsocketSuccess = false;

/**
 * One Engine.IO connection. Events: "open", "handshake", "packet", "packetCreate", "data",
 * "message", "ping", "drain", "flush", "upgrading", "upgrade", "upgradeError", "error", "close".
 */
class Engine extends Emitter {
  constructor(options) {
    super();
    this.options = options;
    this.transports = options.transports.filter((name) => name in TRANSPORTS);
    this.readyState = "opening";
    this.writeBuffer = [];
    this.prevBufferLen = 0;
    this.upgrading = false;
    this.upgraded = false;
    this.maxPayload = 0;
    this.pingInterval = 0;
    this.pingTimeout = 0;
    this.id = null;
    this.transport = null;
    this._transportSubs = [];
    this._pingDeadline = Infinity;
    if (typeof addEventListener === "function") {
      this._offline = () => this.onClose("transport close", { description: "network lost" });
      addEventListener("offline", this._offline, false);
    }
    this.open();
  }

  emit(event, ...args) {
    return this._fire(event, ...args);
  }

  createTransport(name) {
    const query = Object.assign({}, this.options.query, { EIO: "4", transport: name });
    if (this.id) query.sid = this.id;
    const options = Object.assign({}, this.options, { query });
    return new TRANSPORTS[name](options);
  }

  open() {
    if (this.transports.length === 0) {
      setTimeout(() => this.onError(new Error("No transports available")), 0);
      return;
    }
    let name = this.transports[0];
    if (
      this.options.rememberUpgrade &&
      priorWebsocketSuccess &&
      this.transports.includes("websocket")
    ) {
      name = "websocket";
    }
    this.readyState = "opening";
    const transport = this.createTransport(name);
    transport.open();
    this.setTransport(transport);
  }

  setTransport(transport) {
    this._transportSubs.forEach((off) => off());
    this.transport = transport;
    this._transportSubs = [
      subscribe(transport, "drain", () => this.onDrain()),
      subscribe(transport, "packet", (packet) => this.onPacket(packet)),
      subscribe(transport, "error", (error) => this.onError(error)),
      subscribe(transport, "close", (details) => this.onClose("transport close", details)),
    ];
  }

  onPacket(packet) {
    if (!["opening", "open", "closing"].includes(this.readyState)) return;
    this._fire("packet", packet);
    this._fire("heartbeat");
    switch (packet.type) {
      case "open":
        try {
          this.onHandshake(JSON.parse(packet.data));
        } catch (error) {
          this.onError(error);
        }
        break;
      case "ping":
        this.resetPingTimeout();
        this.sendPacket("pong");
        this._fire("ping");
        this._fire("pong");
        break;
      case "message":
        this._fire("data", packet.data);
        this._fire("message", packet.data);
        break;
      case "error": {
        const error = new Error("server error");
        error.code = packet.data;
        this.onError(error);
        break;
      }
      default:
        break; // "noop", stray "pong"
    }
  }

  onHandshake(data) {
    this._fire("handshake", data);
    this.id = data.sid;
    this.transport.query.sid = data.sid;
    this.upgrades = (data.upgrades || []).filter((name) => this.transports.includes(name));
    this.pingInterval = data.pingInterval;
    this.pingTimeout = data.pingTimeout;
    this.maxPayload = data.maxPayload;
    this.onOpen();
    if (this.readyState === "closed") return;
    this.resetPingTimeout();
  }

  onOpen() {
    this.readyState = "open";
    priorWebsocketSuccess = this.transport.name === "websocket";
    this._fire("open");
    this.flush();
    if (this.readyState === "open" && this.options.upgrade && this.transport.name === "polling") {
      for (const name of this.upgrades) this.probe(name);
    }
  }

  /** Tries an upgrade to `name` (polling → websocket or webtransport), as in protocol.md §1.7. */
  probe(name) {
    let transport = this.createTransport(name);
    let failed = false;
    priorWebsocketSuccess = false;

    const cleanup = () => {
      transport.off("open", onOpen);
      transport.off("packet", onProbePacket);
      transport.off("error", onError);
      transport.off("close", onTransportClose);
      this.off("close", onEngineClose);
      this.off("upgrading", onOtherUpgrade);
    };
    const abort = () => {
      if (failed) return;
      failed = true;
      cleanup();
      transport.close();
      transport = null;
      if (this.upgrading) {
        // Failed after polling was paused: go on with polling.
        this.upgrading = false;
        if (this.readyState === "open" && this.transport.resume) {
          this.transport.resume();
          this.flush();
        }
      }
    };
    const onError = (cause) => {
      const error = new Error("probe error: " + (cause && cause.message ? cause.message : cause));
      error.transport = name;
      abort();
      this._fire("upgradeError", error);
    };
    const onTransportClose = () => onError("transport closed");
    const onEngineClose = () => onError("socket closed");
    const onOtherUpgrade = (other) => {
      if (transport && other.name !== transport.name) abort();
    };
    const onOpen = () => {
      if (failed) return;
      transport.send([{ type: "ping", data: "probe" }]);
    };
    const onProbePacket = (packet) => {
      if (failed) return;
      if (packet.type !== "pong" || packet.data !== "probe") {
        onError("probe error");
        return;
      }
      this.upgrading = true;
      this._fire("upgrading", transport);
      priorWebsocketSuccess = transport.name === "websocket";
      this.transport.pause(() => {
        if (failed || this.readyState === "closed") return;
        cleanup();
        transport.off("packet", onProbePacket);
        const old = this.transport;
        this.setTransport(transport);
        transport.send([{ type: "upgrade" }]);
        this._fire("upgrade", transport);
        old.close();
        transport = null;
        this.upgrading = false;
        this.upgraded = true;
        this.flush();
      });
    };

    transport.once("open", onOpen);
    transport.on("packet", onProbePacket);
    transport.once("error", onError);
    transport.once("close", onTransportClose);
    this.once("close", onEngineClose);
    this.once("upgrading", onOtherUpgrade);
    if (name !== "webtransport" && this.upgrades.includes("webtransport")) {
      // as socket.io-client: WebTransport gets a 200 ms head start over the other probes
      setTimeout(() => {
        if (!failed) transport.open();
      }, 200);
    } else {
      transport.open();
    }
  }

  resetPingTimeout() {
    clearTimeout(this._pingTimer);
    const delay = this.pingInterval + this.pingTimeout;
    this._pingDeadline = Date.now() + delay;
    this._pingTimer = setTimeout(() => this.onClose("ping timeout"), delay);
  }

  /** True when the ping watchdog should have fired (a suspended tab does not run timers). */
  hasPingExpired() {
    if (this.readyState !== "open" || Date.now() <= this._pingDeadline) return false;
    setTimeout(() => this.onClose("ping timeout"), 0);
    return true;
  }

  onDrain() {
    this.writeBuffer.splice(0, this.prevBufferLen);
    this.prevBufferLen = 0;
    if (this.writeBuffer.length === 0) this._fire("drain");
    else this.flush();
  }

  flush() {
    if (
      this.readyState !== "closed" &&
      this.transport &&
      this.transport.writable &&
      !this.upgrading &&
      this.writeBuffer.length
    ) {
      const packets = this.writablePackets();
      this.transport.send(packets);
      this.prevBufferLen = packets.length;
      this._fire("flush");
    }
  }

  /** The packets of the next polling POST, kept below maxPayload (always at least one). */
  writablePackets() {
    if (!this.maxPayload || this.transport.name !== "polling" || this.writeBuffer.length === 1) {
      return this.writeBuffer.slice();
    }
    let size = 0;
    for (let i = 0; i < this.writeBuffer.length; i++) {
      const data = this.writeBuffer[i].data;
      if (isBinary(data)) size += 1 + Math.ceil(data.byteLength / 3) * 4;
      else if (data !== undefined) size += utf8Length(String(data));
      size += 2; // type digit and separator
      if (i > 0 && size > this.maxPayload) return this.writeBuffer.slice(0, i);
    }
    return this.writeBuffer.slice();
  }

  write(data, options, done) {
    this.sendPacket("message", data, options, done);
    return this;
  }

  send(data, options, done) {
    return this.write(data, options, done);
  }

  sendPacket(type, data, options, done) {
    if (typeof data === "function") [done, data] = [data, undefined];
    if (typeof options === "function") [done, options] = [options, undefined];
    if (this.readyState === "closing" || this.readyState === "closed") return;
    const packet = { type, data, options: options || {} };
    this._fire("packetCreate", packet);
    this.writeBuffer.push(packet);
    if (done) this.once("flush", done);
    this.flush();
  }

  close() {
    const finish = () => {
      this.onClose("forced close");
      if (this.transport) this.transport.close();
    };
    const afterUpgrade = () => {
      this.off("upgrade", afterUpgrade);
      this.off("upgradeError", afterUpgrade);
      finish();
    };
    const waitForUpgrade = () => {
      this.once("upgrade", afterUpgrade);
      this.once("upgradeError", afterUpgrade);
    };
    if (this.readyState === "opening" || this.readyState === "open") {
      this.readyState = "closing";
      if (this.writeBuffer.length) {
        this.once("drain", () => (this.upgrading ? waitForUpgrade() : finish()));
      } else if (this.upgrading) {
        waitForUpgrade();
      } else {
        finish();
      }
    }
    return this;
  }

  onError(error) {
    priorWebsocketSuccess = false;
    this._fire("error", error);
    this.onClose("transport error", error);
  }

  onClose(reason, description) {
    if (!["opening", "open", "closing"].includes(this.readyState)) return;
    clearTimeout(this._pingTimer);
    this._transportSubs.forEach((off) => off());
    this._transportSubs = [];
    if (this.transport) this.transport.close();
    if (this._offline) removeEventListener("offline", this._offline, false);
    this.readyState = "closed";
    this.id = null;
    this._fire("close", reason, description);
    this.writeBuffer = [];
    this.prevBufferLen = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Socket.IO packets (protocol 5)
// ---------------------------------------------------------------------------------------------

const PacketType = {
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
};

const RESERVED_EVENTS = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);

const MAX_ATTACHMENTS = 10;

function containsBinary(value, depth = 0) {
  if (value === null || typeof value !== "object" || depth > 100) return false;
  if (isBinary(value)) return true;
  if (isBlob(value)) throw new TypeError("Blob is not supported: send await blob.arrayBuffer()");
  if (Array.isArray(value)) return value.some((item) => containsBinary(item, depth + 1));
  if (typeof value.toJSON === "function") return false;
  return Object.keys(value).some((key) => containsBinary(value[key], depth + 1));
}

/** Replaces each binary value by a placeholder (depth-first order) and collects the buffers. */
function extractBinary(value, buffers) {
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

function insertBinary(value, buffers) {
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
function encodePacket(packet) {
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

function isValidPayload(type, payload) {
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

function decodeText(text) {
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
class Decoder extends Emitter {
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

// ---------------------------------------------------------------------------------------------
// Reconnection delay: exponential backoff with jitter
// ---------------------------------------------------------------------------------------------

class Backoff {
  constructor({ min = 100, max = 10000, jitter = 0 } = {}) {
    this.min = min;
    this.max = max;
    this.jitter = jitter > 0 && jitter <= 1 ? jitter : 0;
    this.attempts = 0;
  }

  duration() {
    const base = Math.min(this.max, this.min * Math.pow(2, this.attempts++));
    const spread = base * this.jitter * (Math.random() * 2 - 1);
    return Math.max(0, Math.min(this.max, Math.floor(base + spread)));
  }

  reset() {
    this.attempts = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Manager: one Engine.IO connection shared by the sockets of several namespaces
// ---------------------------------------------------------------------------------------------

class Manager extends Emitter {
  constructor(uri, options) {
    super();
    if (uri && typeof uri === "object") [options, uri] = [uri, undefined];
    options = Object.assign({}, options);
    this.nsps = Object.create(null);
    this.subs = [];
    this.opts = options;
    this.uri = uri;
    const target = resolveUri(uri);
    this.engineOptions = {
      host: target.host,
      secure: target.secure,
      path: (options.path || "/socket.io").replace(/\/$/, "") +
        (options.addTrailingSlash === false ? "" : "/"),
      query: typeof options.query === "string" ? parseQuery(options.query) : options.query || {},
      transports: options.transports || ["polling", "websocket"],
      upgrade: options.upgrade !== false,
      rememberUpgrade: !!options.rememberUpgrade,
      extraHeaders: options.extraHeaders || {},
      withCredentials: !!options.withCredentials,
      timestampRequests: options.timestampRequests,
      timestampParam: options.timestampParam || "t",
      protocols: options.protocols,
      transportOptions: options.transportOptions || {},
    };
    this.reconnection(options.reconnection !== false);
    this.reconnectionAttempts(options.reconnectionAttempts || Infinity);
    this.backoff = new Backoff({
      min: options.reconnectionDelay ?? 1000,
      max: options.reconnectionDelayMax ?? 5000,
      jitter: options.randomizationFactor ?? 0.5,
    });
    this.reconnectionDelay(options.reconnectionDelay ?? 1000);
    this.reconnectionDelayMax(options.reconnectionDelayMax ?? 5000);
    this.randomizationFactor(options.randomizationFactor ?? 0.5);
    this.timeout(options.timeout == null ? 20000 : options.timeout);
    this._readyState = "closed";
    this._reconnecting = false;
    this.skipReconnect = false;
    // `parser`: another wire format with socket.io-parser's interface (new parser.Encoder()
    // with encode(packet) -> messages; new parser.Decoder() with add(message), "decoded"
    // events and destroy()), e.g. socket.io-msgpack-parser. The server must use the same.
    const parser = options.parser;
    this.encoder = parser ? new parser.Encoder() : null;
    this.decoder = parser ? new parser.Decoder() : new Decoder();
    this._autoConnect = options.autoConnect !== false;
    if (this._autoConnect) this.open();
  }

  emit(event, ...args) {
    return this._fire(event, ...args);
  }

  get readyState() {
    return this._readyState;
  }

  get reconnecting() {
    return this._reconnecting;
  }

  reconnection(value) {
    if (value === undefined) return this._reconnection;
    this._reconnection = !!value;
    if (!value) this.skipReconnect = true;
    return this;
  }

  reconnectionAttempts(value) {
    if (value === undefined) return this._reconnectionAttempts;
    this._reconnectionAttempts = value;
    return this;
  }

  reconnectionDelay(value) {
    if (value === undefined) return this._reconnectionDelay;
    this._reconnectionDelay = value;
    if (this.backoff) this.backoff.min = value;
    return this;
  }

  reconnectionDelayMax(value) {
    if (value === undefined) return this._reconnectionDelayMax;
    this._reconnectionDelayMax = value;
    if (this.backoff) this.backoff.max = value;
    return this;
  }

  randomizationFactor(value) {
    if (value === undefined) return this._randomizationFactor;
    this._randomizationFactor = value;
    if (this.backoff) this.backoff.jitter = value;
    return this;
  }

  timeout(value) {
    if (value === undefined) return this._timeout;
    this._timeout = value;
    return this;
  }

  maybeReconnectOnOpen() {
    if (!this._reconnecting && this._reconnection && this.backoff.attempts === 0) this.reconnect();
  }

  /** Opens the Engine.IO connection; `callback(error?)` runs once it is open or has failed. */
  open(callback) {
    if (this._readyState.indexOf("open") !== -1) return this;
    const engine = new Engine(this.engineOptions);
    this.engine = engine;
    this._readyState = "opening";
    this.skipReconnect = false;

    const offOpen = subscribe(engine, "open", () => {
      this.onopen();
      if (callback) callback();
    });
    const fail = (error) => {
      this.cleanup();
      this._readyState = "closed";
      this._fire("error", error);
      if (callback) callback(error);
      else this.maybeReconnectOnOpen();
    };
    const offError = subscribe(engine, "error", fail);

    if (this._timeout !== false) {
      const timer = setTimeout(() => {
        offOpen();
        fail(new Error("timeout"));
        engine.close();
      }, this._timeout);
      this.subs.push(() => clearTimeout(timer));
    }
    this.subs.push(offOpen, offError);
    return this;
  }

  connect(callback) {
    return this.open(callback);
  }

  onopen() {
    this.cleanup();
    this._readyState = "open";
    this._fire("open");
    const engine = this.engine;
    this.subs.push(
      subscribe(engine, "ping", () => this._fire("ping")),
      subscribe(engine, "data", (data) => this.ondata(data)),
      subscribe(engine, "error", (error) => this._fire("error", error)),
      subscribe(engine, "close", (reason, description) => this.onclose(reason, description)),
      subscribe(this.decoder, "decoded", (packet) => this.ondecoded(packet)),
    );
  }

  ondata(data) {
    try {
      this.decoder.add(data);
    } catch (error) {
      this.onclose("parse error", error);
    }
  }

  ondecoded(packet) {
    // Delivered synchronously, so that a DISCONNECT is seen before a close batched after it.
    // A listener that throws must not break the decoder: report its error on its own.
    try {
      this._fire("packet", packet);
    } catch (error) {
      setTimeout(() => {
        throw error;
      }, 0);
    }
  }

  socket(nsp, options) {
    let socket = this.nsps[nsp];
    if (!socket) {
      socket = new Socket(this, nsp, options);
      this.nsps[nsp] = socket;
    } else if (this._autoConnect && !socket.active) {
      socket.connect();
    }
    return socket;
  }

  _destroy(socket) {
    for (const nsp of Object.keys(this.nsps)) {
      if (this.nsps[nsp].active) return;
    }
    this._close();
  }

  _packet(packet) {
    const messages = this.encoder ? this.encoder.encode(packet) : encodePacket(packet);
    for (const message of messages) this.engine.write(message, packet.options);
  }

  cleanup() {
    this.subs.forEach((off) => off());
    this.subs.length = 0;
    this.decoder.destroy();
  }

  _close() {
    this.skipReconnect = true;
    this._reconnecting = false;
    clearTimeout(this._reconnectTimer);
    this.onclose("forced close");
  }

  disconnect() {
    return this._close();
  }

  close() {
    return this._close();
  }

  onclose(reason, description) {
    this.cleanup();
    if (this.engine) this.engine.close();
    this.backoff.reset();
    this._readyState = "closed";
    this._fire("close", reason, description);
    if (this._reconnection && !this.skipReconnect) this.reconnect();
  }

  reconnect() {
    if (this._reconnecting || this.skipReconnect) return this;
    if (this.backoff.attempts >= this._reconnectionAttempts) {
      this.backoff.reset();
      this._fire("reconnect_failed");
      this._reconnecting = false;
      return this;
    }
    const delay = this.backoff.duration();
    this._reconnecting = true;
    this._reconnectTimer = setTimeout(() => {
      if (this.skipReconnect) return;
      this._fire("reconnect_attempt", this.backoff.attempts);
      if (this.skipReconnect) return;
      this.open((error) => {
        if (error) {
          this._reconnecting = false;
          this.reconnect();
          this._fire("reconnect_error", error);
        } else {
          const attempts = this.backoff.attempts;
          this._reconnecting = false;
          this.backoff.reset();
          this._fire("reconnect", attempts);
        }
      });
    }, delay);
    return this;
  }
}

// ---------------------------------------------------------------------------------------------
// Socket: one namespace
// ---------------------------------------------------------------------------------------------

class Socket extends Emitter {
  constructor(io, nsp, options) {
    super();
    options = options || {};
    this.io = io;
    this.nsp = nsp;
    this.id = undefined;
    this.connected = false;
    this.recovered = false;
    this.receiveBuffer = [];
    this.sendBuffer = [];
    this._queue = [];
    this._queueSeq = 0;
    this.ids = 0;
    this.acks = Object.create(null);
    this.flags = {};
    this._opts = Object.assign({}, options);
    if (options.auth) this.auth = options.auth;
    if (io._autoConnect) this.open();
  }

  get disconnected() {
    return !this.connected;
  }

  get active() {
    return !!this.subs;
  }

  get volatile() {
    this.flags.volatile = true;
    return this;
  }

  timeout(ms) {
    this.flags.timeout = ms;
    return this;
  }

  compress(value) {
    this.flags.compress = value;
    return this;
  }

  subEvents() {
    if (this.subs) return;
    const io = this.io;
    this.subs = [
      subscribe(io, "open", () => this.onopen()),
      subscribe(io, "packet", (packet) => this.onpacket(packet)),
      subscribe(io, "error", (error) => this.onerror(error)),
      subscribe(io, "close", (reason, description) => this.onclose(reason, description)),
    ];
  }

  connect() {
    if (this.connected) return this;
    this.subEvents();
    if (!this.io._reconnecting) this.io.open();
    if (this.io._readyState === "open") this.onopen();
    return this;
  }

  open() {
    return this.connect();
  }

  send(...args) {
    return this.emit("message", ...args);
  }

  emit(event, ...args) {
    if (RESERVED_EVENTS.has(event)) {
      throw new Error('"' + String(event) + '" is a reserved event name');
    }
    args.unshift(event);
    if (this._opts.retries && !this.flags.fromQueue && !this.flags.volatile) {
      this._enqueue(args);
      return this;
    }
    const packet = {
      type: PacketType.EVENT,
      data: args,
      options: { compress: this.flags.compress !== false },
    };
    if (typeof args[args.length - 1] === "function") {
      const id = this.ids++;
      this._registerAck(id, args.pop());
      packet.id = id;
    }
    const engine = this.io.engine;
    const writable = !!(engine && engine.transport && engine.transport.writable);
    const connected = this.connected && !(engine && engine.hasPingExpired());
    if (this.flags.volatile && !(writable && connected)) {
      // Dropped on purpose: volatile packets are never buffered.
    } else if (connected) {
      this._notifyOutgoing(packet);
      this.packet(packet);
    } else {
      this.sendBuffer.push(packet);
    }
    this.flags = {};
    return this;
  }

  _registerAck(id, ack) {
    const timeout = this.flags.timeout !== undefined ? this.flags.timeout : this._opts.ackTimeout;
    if (timeout === undefined) {
      if (this.flags.fromQueue) {
        // Queued emits (`retries`) always take (err, ...responses).
        const wrapped = (...args) => ack.apply(this, args);
        wrapped.withError = true;
        this.acks[id] = wrapped;
      } else {
        this.acks[id] = ack;
      }
      return;
    }
    const timer = setTimeout(() => {
      delete this.acks[id];
      this.sendBuffer = this.sendBuffer.filter((packet) => packet.id !== id);
      ack.call(this, new Error("operation has timed out"));
    }, timeout);
    const wrapped = (...args) => {
      clearTimeout(timer);
      ack.apply(this, args);
    };
    wrapped.withError = true;
    this.acks[id] = wrapped;
  }

  emitWithAck(event, ...args) {
    const withError = this.flags.timeout !== undefined || this._opts.ackTimeout !== undefined;
    return new Promise((resolve, reject) => {
      args.push((first, second) => {
        if (!withError) resolve(first);
        else if (first) reject(first);
        else resolve(second);
      });
      this.emit(event, ...args);
    });
  }

  // Emits with `retries`: one packet at a time, each retried until acknowledged.
  _enqueue(args) {
    let ack;
    if (typeof args[args.length - 1] === "function") ack = args.pop();
    const entry = {
      id: this._queueSeq++,
      tryCount: 0,
      pending: false,
      args,
      flags: Object.assign({ fromQueue: true }, this.flags),
    };
    args.push((error, ...responses) => {
      if (entry !== this._queue[0]) return;
      if (error) {
        if (entry.tryCount > this._opts.retries) {
          this._queue.shift();
          if (ack) ack(error);
        } else {
          entry.pending = false;
        }
      } else {
        this._queue.shift();
        if (ack) ack(null, ...responses);
      }
      this._drainQueue();
    });
    this._queue.push(entry);
    this._drainQueue();
  }

  _drainQueue(force = false) {
    if (!this.connected || this._queue.length === 0) return;
    const entry = this._queue[0];
    if (entry.pending && !force) return;
    entry.pending = true;
    entry.tryCount++;
    this.flags = entry.flags;
    this.emit(...entry.args);
  }

  packet(packet) {
    packet.nsp = this.nsp;
    this.io._packet(packet);
  }

  onopen() {
    // One CONNECT per Engine.IO session: a second one would make the server close the connection.
    if (this._connectSentOn === this.io.engine) return;
    this._connectSentOn = this.io.engine;
    if (typeof this.auth === "function") {
      this.auth((data) => this._sendConnect(data));
    } else {
      this._sendConnect(this.auth);
    }
  }

  _sendConnect(data) {
    if (this._pid) {
      data = Object.assign({ pid: this._pid, offset: this._lastOffset }, data);
    }
    this.packet({ type: PacketType.CONNECT, data });
  }

  onerror(error) {
    if (!this.connected) this._fire("connect_error", error);
  }

  onclose(reason, description) {
    this.connected = false;
    this.id = undefined;
    this._connectSentOn = null;
    this._fire("disconnect", reason, description);
    this._clearAcks();
  }

  /** Pending acks die with the connection; the ones with a timeout are told so. */
  _clearAcks() {
    for (const id of Object.keys(this.acks)) {
      if (this.sendBuffer.some((packet) => String(packet.id) === id)) continue;
      const ack = this.acks[id];
      delete this.acks[id];
      if (ack.withError) ack.call(this, new Error("socket has been disconnected"));
    }
  }

  onpacket(packet) {
    if (packet.nsp !== this.nsp) return;
    switch (packet.type) {
      case PacketType.CONNECT:
        if (packet.data && packet.data.sid) {
          this.onconnect(packet.data.sid, packet.data.pid);
        } else {
          this._fire(
            "connect_error",
            new Error("invalid CONNECT reply: this server does not speak Socket.IO protocol 5"),
          );
        }
        break;
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT:
        this.onevent(packet);
        break;
      case PacketType.ACK:
      case PacketType.BINARY_ACK:
        this.onack(packet);
        break;
      case PacketType.DISCONNECT:
        this.ondisconnect();
        break;
      case PacketType.CONNECT_ERROR: {
        this.destroy();
        const info = packet.data;
        const error = new Error(typeof info === "string" ? info : info.message);
        if (info && typeof info === "object") error.data = info.data;
        this._fire("connect_error", error);
        break;
      }
      default:
        break;
    }
  }

  onevent(packet) {
    const args = packet.data || [];
    if (packet.id != null) args.push(this.ack(packet.id));
    if (this.connected) this.emitEvent(args);
    else this.receiveBuffer.push(Object.freeze(args));
  }

  emitEvent(args) {
    if (this._anyListeners) {
      for (const listener of this._anyListeners.slice()) listener.apply(this, args);
    }
    this._fire(...args);
    if (this._pid && args.length && typeof args[args.length - 1] === "string") {
      this._lastOffset = args[args.length - 1];
    }
  }

  ack(id) {
    let sent = false;
    return (...args) => {
      if (sent) return;
      sent = true;
      this.packet({ type: PacketType.ACK, id, data: args });
    };
  }

  onack(packet) {
    const ack = this.acks[packet.id];
    if (typeof ack !== "function") return;
    delete this.acks[packet.id];
    const args = packet.data.slice();
    if (ack.withError) args.unshift(null);
    ack.apply(this, args);
  }

  onconnect(id, pid) {
    this.id = id;
    this.recovered = !!(pid && this._pid === pid);
    this._pid = pid;
    this.connected = true;
    this.emitBuffered();
    this._fire("connect");
    this._drainQueue(true);
  }

  emitBuffered() {
    for (const args of this.receiveBuffer) this.emitEvent(args.slice());
    this.receiveBuffer = [];
    for (const packet of this.sendBuffer) {
      this._notifyOutgoing(packet);
      this.packet(packet);
    }
    this.sendBuffer = [];
  }

  ondisconnect() {
    this.destroy();
    this.onclose("io server disconnect");
  }

  destroy() {
    this._connectSentOn = null;
    if (this.subs) {
      this.subs.forEach((off) => off());
      this.subs = undefined;
    }
    this.io._destroy(this);
  }

  disconnect() {
    if (this.connected) this.packet({ type: PacketType.DISCONNECT });
    this.destroy();
    if (this.connected) this.onclose("io client disconnect");
    return this;
  }

  close() {
    return this.disconnect();
  }

  // Catch-all listeners, incoming and outgoing.

  onAny(listener) {
    (this._anyListeners ||= []).push(listener);
    return this;
  }

  prependAny(listener) {
    (this._anyListeners ||= []).unshift(listener);
    return this;
  }

  offAny(listener) {
    if (!this._anyListeners) return this;
    if (listener === undefined) this._anyListeners = [];
    else this._anyListeners = this._anyListeners.filter((l) => l !== listener);
    return this;
  }

  listenersAny() {
    return (this._anyListeners || []).slice();
  }

  onAnyOutgoing(listener) {
    (this._anyOutgoingListeners ||= []).push(listener);
    return this;
  }

  prependAnyOutgoing(listener) {
    (this._anyOutgoingListeners ||= []).unshift(listener);
    return this;
  }

  offAnyOutgoing(listener) {
    if (!this._anyOutgoingListeners) return this;
    if (listener === undefined) this._anyOutgoingListeners = [];
    else this._anyOutgoingListeners = this._anyOutgoingListeners.filter((l) => l !== listener);
    return this;
  }

  listenersAnyOutgoing() {
    return (this._anyOutgoingListeners || []).slice();
  }

  _notifyOutgoing(packet) {
    if (!this._anyOutgoingListeners || this._anyOutgoingListeners.length === 0) return;
    for (const listener of this._anyOutgoingListeners.slice()) listener.apply(this, packet.data);
  }
}

// ---------------------------------------------------------------------------------------------
// io(): URL resolution and Manager cache
// ---------------------------------------------------------------------------------------------

/** Resolves a user URL (absolute, scheme-less, protocol-relative, path-only or omitted). */
function resolveUri(uri) {
  const here = typeof location !== "undefined" ? location : null;
  let text = uri === undefined || uri === null ? "" : String(uri);
  if (text === "") {
    if (!here) throw new Error("io(): a URL is required outside a browser page");
    text = here.protocol + "//" + here.host;
  } else if (text.startsWith("//")) {
    text = (here ? here.protocol : "https:") + text;
  } else if (text.startsWith("/")) {
    if (!here) throw new Error("io(): a relative URL needs a browser page");
    text = here.protocol + "//" + here.host + text;
  } else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    text = (here && /^https?:$/.test(here.protocol) ? here.protocol : "https:") + "//" + text;
  }
  const url = new URL(text);
  const scheme = url.protocol.replace(/:$/, "");
  const secure = scheme === "https" || scheme === "wss";
  const port = url.port || (secure ? "443" : "80");
  return {
    url,
    secure,
    host: url.host,
    id: (secure ? "https" : "http") + "://" + url.hostname + ":" + port,
    nsp: url.pathname || "/",
    query: url.search.length > 1 ? url.search.slice(1) : "",
  };
}

const managers = Object.create(null);

function io(uri, options) {
  if (uri && typeof uri === "object") [options, uri] = [uri, undefined];
  options = options || {};
  const target = resolveUri(uri);
  const base = target.url.protocol + "//" + target.url.host;
  if (target.query && !options.query) options = Object.assign({}, options, { query: target.query });
  const cached = managers[target.id];
  const newConnection =
    options.forceNew ||
    options["force new connection"] ||
    options.multiplex === false ||
    (cached && target.nsp in cached.nsps);
  let manager;
  if (newConnection) {
    manager = new Manager(base, options);
  } else {
    if (!cached) managers[target.id] = new Manager(base, options);
    manager = managers[target.id];
  }
  return manager.socket(target.nsp, options);
}

Object.assign(io, { Manager, Socket, io, connect: io, protocol: PROTOCOL });

// Exports: keep them on these final lines (the classic build removes every line starting with
// "export").
export { io, io as connect, Manager, Socket, PROTOCOL as protocol };
export default io;
