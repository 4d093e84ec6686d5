// socketwire browser client: io(), Manager and Socket, the commonly used part of
// socket.io-client 4.x. Wire protocol: Engine.IO v4 (polling, WebSocket, WebTransport), Socket.IO v5.

import { Manager } from "./manager.js";
import { Socket } from "./socket.js";
import { resolveUri } from "./url.js";

const PROTOCOL = 5;

const managers = Object.create(null);

function io(uri, options) {
  if (uri && typeof uri === "object") [options, uri] = [uri, undefined];
  options = options || {};
  const target = resolveUri(uri);
  const base = target.url.protocol + "//" + target.url.host;
  if (target.query && !options.query) options = Object.assign({}, options, { query: target.query });
  const cached = managers[target.id];
  const newConnection =
    options.forceNew ||
    options["force new connection"] ||
    options.multiplex === false ||
    (cached && target.nsp in cached.nsps);
  let manager;
  if (newConnection) {
    manager = new Manager(base, options);
  } else {
    if (!cached) managers[target.id] = new Manager(base, options);
    manager = managers[target.id];
  }
  return manager.socket(target.nsp, options);
}

Object.assign(io, { Manager, Socket, io, connect: io, protocol: PROTOCOL });

export { io, io as connect, Manager, Socket, PROTOCOL as protocol };
export default io;
