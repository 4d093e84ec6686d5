// HTTP long-polling: a pending GET for what the server sends, POSTs for what we send.

import { SEPARATOR, decodeEnginePacket, encodeEnginePacket } from "./packet.js";
import { Transport } from "./transport.js";

export class Polling extends Transport {
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
