// Reference server for the Python client tests: the official socket.io 4.8 server from the
// repository's node_modules, with the same behaviour as the socketwire server the tests build
// (see tests/client/test_client_scenarios.py, `socketwire_app`).
//
//   node tests/client/node_server.js PORT [PARSER]
//
// PARSER "msgpack" uses socket.io-msgpack-parser (the default is socket.io's JSON parser).
// Prints "listening PORT" on stdout once ready. Binds 127.0.0.1 only. Stops on SIGTERM.
import http from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
if (!port) {
  console.error("usage: node_server.js PORT");
  process.exit(2);
}

const options = { serveClient: false, pingInterval: 2000, pingTimeout: 3000 };
if (process.argv[3] === "msgpack") {
  options.parser = (await import("socket.io-msgpack-parser")).default;
}
const httpServer = http.createServer();
const io = new Server(httpServer, options);

// Refuses a connection when the auth payload asks for it, with err.data.
function refuseWhenAsked(socket, next) {
  const auth = socket.handshake.auth || {};
  if (auth.refuse) {
    const err = new Error("not authorized");
    err.data = { code: 4001, reason: auth.refuse };
    next(err);
    return;
  }
  next();
}

const records = new Map(); // "nsp key" -> values received by "record", in order

function setup(nsp) {
  nsp.use(refuseWhenAsked);
  nsp.on("connection", (socket) => {
    socket.emit("welcome", { nsp: nsp.name, auth: socket.handshake.auth, id: socket.id });

    socket.on("echo", (...args) => socket.emit("echo", ...args));

    socket.on("ack", (...args) => {
      const cb = args.pop();
      cb(...args);
    });

    socket.on("ask", (...args) => {
      socket.timeout(5000).emit("question", ...args, (err, ...answers) => {
        socket.emit("answer", err ? { error: err.message } : answers);
      });
    });

    socket.on("join", (room, cb) => {
      socket.join(room);
      cb(true);
    });

    socket.on("to-room", (room, data) => nsp.to(room).emit("room", room, data));

    socket.on("broadcast", (data) => socket.broadcast.emit("broadcast", data));

    socket.on("record", (key, value) => {
      const k = nsp.name + " " + key;
      if (!records.has(k)) records.set(k, []);
      records.get(k).push(value);
    });

    socket.on("records", (key, cb) => cb(records.get(nsp.name + " " + key) || []));

    socket.on("count", async (cb) => cb((await nsp.fetchSockets()).length));

    socket.on("server-disconnect", () => socket.disconnect());

    // answers only from the second copy of an emit on (tests of retries)
    socket.on("flaky", (key, cb) => {
      const k = nsp.name + " flaky " + key;
      if (!records.has(k)) records.set(k, []);
      records.get(k).push(key);
      if (records.get(k).length >= 2) cb(records.get(k).length);
    });

    // "ignored" has no handler: an ack asked for it never comes
  });
}

setup(io.of("/"));
setup(io.of("/custom"));

process.on("SIGTERM", () => {
  io.close();
  process.exit(0);
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening ${port}`);
});
