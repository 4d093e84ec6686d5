// The Manager: one Engine.IO connection shared by the sockets of several namespaces,
// reconnection, the parser.

import { Backoff } from "./backoff.js";
import { Emitter, subscribe } from "./emitter.js";
import { Engine } from "./engine/engine.js";
import { Decoder, encodePacket } from "./parser.js";
import { Socket } from "./socket.js";
import { resolveUri } from "./url.js";
import { parseQuery } from "./util.js";

export class Manager extends Emitter {
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
