// Reference server for the recovery tests of socketwire's clients: the official socket.io 4.8
// server with connectionStateRecovery (Node's defaults, or a short maxDisconnectionDuration).
//
//   node tests/client/node_recovery_server.js PORT [MAX_DISCONNECTION_MS] [PARSER] [STATIC_DIR]
//
// PARSER "msgpack" uses socket.io-msgpack-parser. With STATIC_DIR (holding socketwire.esm.js),
// the browser client is served at /socket.io/socketwire.esm.js, as the socketwire server does
// (the browser tests load their page from there). Prints "listening PORT" once ready; binds
// 127.0.0.1 only. Same behaviour as the socketwire twin in tests/client/test_client_recovery.py.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
const maxDisconnectionDuration = Number(process.argv[3] || 120000);
const parserName = process.argv[4] || "json";
const staticDir = process.argv[5];

const options = {
  serveClient: false,
  pingInterval: 2000,
  pingTimeout: 3000,
  connectionStateRecovery: { maxDisconnectionDuration, skipMiddlewares: true },
};
if (parserName === "msgpack") {
  options.parser = (await import("socket.io-msgpack-parser")).default;
}
const httpServer = http.createServer();
const io = new Server(httpServer, options);
if (staticDir) {
  // engine.io installed its own "request" listener; serve the client file before it
  const sioListeners = httpServer.listeners("request").slice();
  httpServer.removeAllListeners("request");
  httpServer.on("request", (req, res) => {
    if (req.method === "GET" && new URL(req.url, "http://x").pathname === "/socket.io/socketwire.esm.js") {
      res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8" });
      res.end(fs.readFileSync(path.join(staticDir, "socketwire.esm.js")));
      return;
    }
    for (const listener of sioListeners) listener.call(httpServer, req, res);
  });
}

io.on("connection", (socket) => {
  socket.on("join", (room, cb) => {
    socket.join(room);
    socket.data.joined = room;
    cb([...socket.rooms].sort());
  });
  socket.on("state", (cb) => cb({ rooms: [...socket.rooms].sort(), data: socket.data,
    recovered: socket.recovered }));
  socket.on("send", (n) => socket.emit("ev", n));
  socket.on("kick", () => socket.disconnect());
  // drops the connection, then emits to the socket's room, to everyone and to another room
  socket.on("drop", (room) => {
    socket.conn.close();
    setTimeout(() => {
      io.to(room).emit("ev", "room");
      io.emit("ev", "all");
      io.to("elsewhere").emit("ev", "not for you");
    }, 50);
  });
  // the same, and the dropped socket itself emits meanwhile (through the adapter under
  // recovery, so it is kept and replayed); volatile and with-ack emits are not kept
  socket.on("drop-emit", (room) => {
    socket.conn.close();
    setTimeout(() => {
      socket.emit("ev", "own 1");
      io.to(room).emit("ev", "room");
      socket.volatile.emit("ev", "volatile");
      socket.emit("ev", "with ack", () => {});
      socket.emit("ev", "own 2");
      io.emit("ev", "all");
    }, 50);
  });
});

process.on("SIGTERM", () => {
  io.close();
  process.exit(0);
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening ${port}`);
});
