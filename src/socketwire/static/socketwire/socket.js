// The Socket: one namespace (emit, acks, buffering while offline, recovery).

import { Emitter, subscribe } from "./emitter.js";
import { PacketType, RESERVED_EVENTS } from "./parser.js";

export class Socket extends Emitter {
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
