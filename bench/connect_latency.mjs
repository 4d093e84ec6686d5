// Measures, with the official socket.io-client 4.8 and its default transports (polling, then
// the upgrade to WebSocket), the time from io() to "connect" and to the answer of a first
// emit with ack (sent at once, before the connection is up), for each URL given; the URLs take
// turns, ROUNDS times. Prints one JSON line per URL: {"url", "connect_ms": [...], "ack_ms": [...]}.
//   node bench/connect_latency.mjs ROUNDS URL...
import { io } from "socket.io-client";

const rounds = Number(process.argv[2]);
const urls = process.argv.slice(3);
const results = new Map(urls.map((u) => [u, { url: u, connect_ms: [], ack_ms: [] }]));

function once(url) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let connectMs = null;
    const socket = io(url, { forceNew: true, reconnection: false });
    const timer = setTimeout(() => reject(new Error(`no answer from ${url}`)), 10000);
    socket.on("connect", () => { connectMs = performance.now() - t0; });
    socket.on("connect_error", (err) => { clearTimeout(timer); reject(err); });
    socket.emit("ack", 1, () => {
      const ackMs = performance.now() - t0;
      clearTimeout(timer);
      socket.disconnect();
      resolve([connectMs, ackMs]);
    });
  });
}

for (let r = 0; r < rounds; r++) {
  for (const url of r % 2 ? [...urls].reverse() : urls) {
    const [c, a] = await once(url);
    results.get(url).connect_ms.push(c);
    results.get(url).ack_ms.push(a);
    await new Promise((done) => setTimeout(done, 20));
  }
}
for (const value of results.values()) console.log(JSON.stringify(value));
process.exit(0);
