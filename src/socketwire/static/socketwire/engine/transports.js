// The transports by name: what `transports: [...]` options and the server's upgrades name.

import { Polling } from "./polling.js";
import { WS } from "./websocket.js";
import { WT } from "./webtransport.js";

export const TRANSPORTS = { polling: Polling, websocket: WS, webtransport: WT };
