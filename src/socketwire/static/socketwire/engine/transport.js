// The Engine.IO transport base class; polling, WebSocket and WebTransport extend it.

import { Emitter } from "../emitter.js";
import { encodeQuery, randomToken } from "../util.js";

/**
 * Base transport. Events: "open", "packet", "drain", "error" (Error), "close" (Error|undefined).
 * `writable` is true when send() may be called.
 */
export class Transport extends Emitter {
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
