// Node socket.io 4.8 (this repository's node_modules) with the bench server's "ack" handler,
// for bench/connect_latency.py:  node bench/node_ack_server.mjs PORT
// Prints "listening PORT" once ready; binds 127.0.0.1 only.
import http from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false });
io.on("connection", (socket) => {
  socket.on("ack", (...args) => {
    const cb = args.pop();
    if (typeof cb === "function") cb(...args);
  });
});
httpServer.listen(port, "127.0.0.1", () => console.log(`listening ${port}`));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
