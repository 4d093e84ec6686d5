// The WebSocket transport: one Engine.IO packet per WebSocket message.

import { decodeEnginePacket, encodeEnginePacket } from "./packet.js";
import { Transport } from "./transport.js";

export class WS extends Transport {
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
