// Reference server for the browser client tests: the official socket.io 4.8 server (from the
// repository's node_modules) plus the socketwire browser client files.
//
//   node tests/browser/node_sio_server.js PORT STATIC_DIR [PING_INTERVAL_MS PING_TIMEOUT_MS]
//
// STATIC_DIR holds socketwire.esm.js and socketwire.js (written by the test from
// socketwire.static.browser_client_source). They are served at /socket.io/socketwire.esm.js and
// /socket.io/socketwire.js, the paths the socketwire Python server uses. "/" is a test page.
// Prints "listening PORT" on stdout once ready. Only binds 127.0.0.1.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { Server } from "socket.io";

const [portArg, staticDir, pingInterval, pingTimeout] = process.argv.slice(2);
const port = Number(portArg);
if (!port || !staticDir) {
  console.error("usage: node_sio_server.js PORT STATIC_DIR [PING_INTERVAL PING_TIMEOUT]");
  process.exit(2);
}

const STATIC = {
  "/socket.io/socketwire.esm.js": "socketwire.esm.js",
  "/socket.io/socketwire.js": "socketwire.js",
};
const PAGE = `<!doctype html><meta charset="utf-8"><title>socketwire test</title>
<script type="module">import { io } from "/socket.io/socketwire.esm.js"; window.io = io;</script>`;

const httpServer = http.createServer();
const io = new Server(httpServer, {
  serveClient: false,
  pingInterval: pingInterval ? Number(pingInterval) : 25000,
  pingTimeout: pingTimeout ? Number(pingTimeout) : 20000,
  // SOCKETWIRE_TEST_PARSER=msgpack: socket.io-msgpack-parser's wire format
  ...(process.env.SOCKETWIRE_TEST_PARSER === "msgpack"
    ? { parser: (await import("socket.io-msgpack-parser")).default } : {}),
});

// engine.io installed its own "request" listener; serve the static files before it.
const sioListeners = httpServer.listeners("request").slice();
httpServer.removeAllListeners("request");
httpServer.on("request", (req, res) => {
  const pathname = new URL(req.url, "http://x").pathname;
  if (req.method === "GET" && pathname in STATIC) {
    const body = fs.readFileSync(path.join(staticDir, STATIC[pathname]));
    res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8" });
    res.end(body);
    return;
  }
  if (req.method === "GET" && pathname === "/") {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(PAGE);
    return;
  }
  for (const listener of sioListeners) listener.call(httpServer, req, res);
});

/** Describes received values, so that tests can check what the server decoded. */
function describe(value) {
  if (Buffer.isBuffer(value)) return { buffer: [...value] };
  if (Array.isArray(value)) return value.map(describe);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describe(v)]));
  }
  return value;
}

// Middleware refusing with err.data, on both namespaces.
function refuseWhenAsked(socket, next) {
  if (socket.handshake.auth && socket.handshake.auth.refuse) {
    const err = new Error("not authorized");
    err.data = { code: 4001, reason: socket.handshake.auth.refuse };
    next(err);
    return;
  }
  next();
}

const records = new Map(); // key -> values received by "record", in order
const flaky = new Map(); // key -> copies received by "flaky"

function common(socket, tag) {
  socket.emit("auth", socket.handshake.auth);
  socket.on("echo", (...args) => socket.emit("echo", ...args));
  socket.on("message", (...args) => socket.emit("message-back", ...args));
  socket.on("tagged-echo", (...args) => socket.emit("tagged-echo", tag, ...args));
  socket.on("ack", (...args) => args.pop()(...args));
  socket.on("describe", (...args) => args.pop()(describe(args)));
  socket.on("whoami", (cb) =>
    cb({
      id: socket.id,
      nsp: socket.nsp.name,
      conn: socket.conn.id,
      transport: socket.conn.transport.name,
      query: socket.handshake.query,
      header: socket.handshake.headers["x-socketwire-test"] || null,
    }),
  );
  socket.on("no-ack", () => {});
  // Acknowledges only the `times`-th copy received for `key` (tests `retries`).
  socket.on("flaky", (key, times, cb) => {
    const seen = (flaky.get(key) || 0) + 1;
    flaky.set(key, seen);
    if (seen >= times) cb("acked copy " + seen);
  });
  // Server-initiated ack: the server asks, the client answers through its ack callback.
  socket.on("ask-client", (question) => {
    socket
      .timeout(5000)
      .emitWithAck("question", question)
      .then(
        (answer) => socket.emit("answer", answer),
        (err) => socket.emit("answer", "error: " + err.message),
      );
  });
  socket.on("join", (room, cb) => {
    socket.join(room);
    cb();
  });
  socket.on("to-room", (room, ...args) => {
    io.of(socket.nsp.name).to(room).emit("room", room, ...args);
  });
  socket.on("broadcast", (...args) => socket.broadcast.emit("broadcast", ...args));
  socket.on("disconnect-me", (close) => socket.disconnect(Boolean(close)));
  socket.on("close-conn", () => socket.conn.close());
  // A raw Engine.IO message that is no valid Socket.IO packet ("parse error" on the client).
  socket.on("send-garbage", () => socket.conn.send("9garbage"));
  socket.on("record", (key, value) => {
    if (!records.has(key)) records.set(key, []);
    records.get(key).push(value);
  });
  socket.on("records", (key, cb) => cb(records.get(key) || []));
}

io.use(refuseWhenAsked);
io.on("connection", (socket) => common(socket, "/"));
io.of("/custom").use(refuseWhenAsked);
io.of("/custom").on("connection", (socket) => common(socket, "/custom"));

process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));

httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${port}\n`);
});
