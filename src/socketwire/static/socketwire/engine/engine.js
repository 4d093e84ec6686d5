// One Engine.IO connection: handshake, heartbeat, buffering, upgrades between transports.

import { Emitter, subscribe } from "../emitter.js";
import { TRANSPORTS } from "./transports.js";
import { isBinary, utf8Length } from "../util.js";

export let priorWebsocketSuccess = false;

/**
 * One Engine.IO connection. Events: "open", "handshake", "packet", "packetCreate", "data",
 * "message", "ping", "drain", "flush", "upgrading", "upgrade", "upgradeError", "error", "close".
 */
export class Engine extends Emitter {
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
