// The official Node servers configured as the two protocol suites expect, for the conformance
// tests' "node" target (the reference the Python re-implementation is checked against).
//
//   node tests/conformance/node_reference.js
//
// Starts, on 127.0.0.1 and OS-chosen ports:
//   * an engine.io 6.6 echo server at /engine.io/ (every message sent back unchanged);
//   * a socket.io 4.8 server at /socket.io/ with namespaces "/" and "/custom": each connection
//     gets "auth" with its CONNECT payload, "message" is answered by "message-back" and
//     "message-with-ack" is acknowledged with its own arguments.
// Both use pingInterval 300 ms, pingTimeout 200 ms, a 1e6-byte buffer and CORS "*"; socket.io
// also connectTimeout 1000 ms. Prints "listening ENGINE_PORT SOCKET_PORT" once ready and exits
// on SIGTERM/SIGINT or when stdin closes.
import http from "node:http";
import { attach } from "engine.io";
import { Server } from "socket.io";

const common = {
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1e6,
  cors: { origin: "*" },
};

const engineHttp = http.createServer();
const engine = attach(engineHttp, { ...common, path: "/engine.io/" });
engine.on("connection", (socket) => {
  socket.on("message", (data) => socket.send(data));
});

const ioHttp = http.createServer();
const io = new Server(ioHttp, { ...common, connectTimeout: 1000, serveClient: false });

function onConnection(socket) {
  socket.emit("auth", socket.handshake.auth);
  socket.on("message", (...args) => socket.emit("message-back", ...args));
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
}
io.on("connection", onConnection);
io.of("/custom").on("connection", onConnection);

function listen(server) {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(server.address().port));
  });
}

const [enginePort, ioPort] = await Promise.all([listen(engineHttp), listen(ioHttp)]);
process.stdout.write(`listening ${enginePort} ${ioPort}\n`);

const stop = () => process.exit(0);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
