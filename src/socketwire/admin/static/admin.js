// socketwire admin dashboard: a Socket.IO client of the admin namespace, plain JavaScript.
// Speaks the @socket.io/admin-ui 0.5 protocol (config, all_sockets, socket_*, room_*, event_*,
// server_stats; commands join / leave / _disconnect).

const $ = (sel, root = document) => root.querySelector(sel);
const STORE = "socketwire-admin:";
const MAX_ROWS = 300;        // sockets rendered at once (the search narrows the rest)
const MAX_FEED = 300;        // events kept in the feed
const HISTORY_SECONDS = 300; // chart width

const settings = Object.assign(
  { server: "", namespace: "/admin", path: "/socket.io/", wsOnly: false },
  JSON.parse(localStorage.getItem(STORE + "settings") || "{}"),
);

const state = {
  features: [],
  development: true,
  readOnly: false,
  sockets: new Map(), // `${nsp}\n${id}` -> serialized socket
  stats: null,
  clientsHistory: [], // [time ms, clients]
  packetBuckets: new Map(), // second (ms) -> packets in + out
  byteBuckets: new Map(), // second (ms) -> bytes in + out
  feed: [],
  feedPaused: false,
  // `${nsp}\n${id}` -> the name a socket had when it left: its room_left events come after
  // socket_disconnected, and the feed keeps naming it afterwards (the MAX_FEED latest only)
  departed: new Map(),
  openRooms: new Set(),
};

let socket = null;
let ioFn = null;
let dirty = { sockets: true, rooms: true, feed: true, stats: true };

// ------------------------------------------------------------------ helpers

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

function adminNsp() {
  return settings.namespace || "/admin";
}

function fmtDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60), r = s % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${r}s`;
  return `${r}s`;
}

function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function since(issued) {
  if (!issued) return "";
  return fmtDuration((Date.now() - issued) / 1000) + " ago";
}

function preview(value) {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return `<binary ${value.byteLength} B>`;
  }
  try {
    const text = JSON.stringify(value, (k, v) =>
      v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? `<binary ${v.byteLength} B>` : v);
    return text === undefined ? String(value) : text;
  } catch {
    return String(value);
  }
}

function schedule(...parts) {
  for (const p of parts) dirty[p] = true;
}

// --------------------------------------------------------------- connection

async function loadClient() {
  if (ioFn) return ioFn;
  let path = settings.path || "/socket.io/";
  if (!path.startsWith("/")) path = "/" + path;
  if (!path.endsWith("/")) path += "/";
  const mod = await import(new URL(path + "socketwire.esm.js", location.origin).href);
  ioFn = mod.io;
  return ioFn;
}

function setConnected(on) {
  const conn = $("#conn-state");
  conn.classList.toggle("on", on);
  conn.lastElementChild.textContent = on ? "live" : "offline";
}

function showLogin(message) {
  $("#login").classList.remove("hidden");
  $("#login-error").textContent = message || "";
  $("#login-btn").disabled = false;
  $("#username").focus();
}

async function connect(auth, silent) {
  let io;
  try {
    io = await loadClient();
  } catch (err) {
    showLogin("Cannot load the Socket.IO client: " + err.message);
    return;
  }
  if (socket) {
    socket.off();
    socket.disconnect();
  }
  const base = (settings.server || location.origin).replace(/\/+$/, "");
  const s = io(base + adminNsp(), {
    forceNew: true,
    reconnection: false,
    withCredentials: true,
    transports: settings.wsOnly ? ["websocket"] : ["polling", "websocket"],
    path: settings.path || "/socket.io/",
    auth,
  });
  socket = s;
  s.once("connect", () => {
    $("#login").classList.add("hidden");
    $("#app").classList.remove("hidden");
    $("#logout").classList.remove("hidden");
    $("#password").value = "";
    s.io.reconnection(true);
  });
  s.on("connect", () => setConnected(true));
  s.on("disconnect", () => setConnected(false));
  s.on("connect_error", (err) => {
    setConnected(false);
    if (s.connected || s.active) return; // a reconnection attempt: keep trying
    const msg = err && err.message;
    if (msg === "invalid credentials") {
      localStorage.removeItem(STORE + "session");
      showLogin(silent ? "" : "Invalid credentials");
    } else {
      showLogin("Cannot connect: " + (msg || "error"));
    }
    s.disconnect();
  });
  s.on("session", (id) => localStorage.setItem(STORE + "session", id));
  s.on("config", onConfig);
  s.on("server_stats", onServerStats);
  s.on("all_sockets", onAllSockets);
  s.on("socket_connected", (sock, ts) => {
    addSocket(sock);
    pushFeed("connection", sock.nsp, sock.id, "", ts);
  });
  s.on("socket_updated", (patch) => {
    const sock = state.sockets.get(patch.nsp + "\n" + patch.id);
    if (!sock) return;
    if (patch.transport) sock.transport = patch.transport;
    if (patch.data) sock.data = patch.data;
    schedule("sockets", ...(patch.data ? ["feed"] : [])); // the feed names sockets by their data
  });
  s.on("socket_disconnected", (nsp, id, reason, ts) => {
    const key = nsp + "\n" + id;
    const sock = state.sockets.get(key);
    const name = sock ? userName(sock) : "";
    if (name) {
      state.departed.delete(key);
      state.departed.set(key, name);
      if (state.departed.size > MAX_FEED) state.departed.delete(state.departed.keys().next().value);
    }
    state.sockets.delete(key);
    schedule("sockets", "rooms");
    pushFeed("disconnection", nsp, id, reason, ts);
  });
  s.on("room_joined", (nsp, room, id, ts) => {
    const sock = state.sockets.get(nsp + "\n" + id);
    if (sock && !sock.rooms.includes(room)) sock.rooms.push(room);
    schedule("sockets", "rooms");
    if (room !== id) pushFeed("room_joined", nsp, id, room, ts);
  });
  s.on("room_left", (nsp, room, id, ts) => {
    const sock = state.sockets.get(nsp + "\n" + id);
    if (sock) sock.rooms = sock.rooms.filter((r) => r !== room);
    schedule("sockets", "rooms");
    if (room !== id) pushFeed("room_left", nsp, id, room, ts);
  });
  s.on("event_received", (nsp, id, args, ts) =>
    pushFeed("event_received", nsp, id, args, ts));
  s.on("event_sent", (nsp, id, args, ts) => pushFeed("event_sent", nsp, id, args, ts));
}

function onConfig(config) {
  state.features = (config && config.supportedFeatures) || [];
  const has = (f) => state.features.includes(f);
  state.development = has("ALL_EVENTS") || !has("AGGREGATED_EVENTS");
  state.readOnly = !has("JOIN") && !has("LEAVE") && !has("DISCONNECT");
  document.body.classList.toggle("readonly", state.readOnly);
  $("#ro-badge").classList.toggle("hidden", !state.readOnly);
  const mode = $("#mode-badge");
  mode.textContent = state.development ? "development" : "production";
  mode.classList.remove("hidden");
  for (const node of document.querySelectorAll(".dev-only")) {
    node.classList.toggle("hidden", !state.development);
  }
  $("#prod-note").classList.toggle("hidden", state.development);
  schedule("sockets", "rooms");
}

function addSocket(sock) {
  sock.rooms = sock.rooms || [];
  state.sockets.set(sock.nsp + "\n" + sock.id, sock);
  schedule("sockets", "rooms");
}

function onAllSockets(list) {
  state.sockets.clear();
  for (const sock of list) addSocket(sock);
}

function onServerStats(stats) {
  state.stats = stats;
  const now = Date.now();
  state.clientsHistory.push([now, stats.clientsCount || 0]);
  for (const ev of stats.aggregatedEvents || []) {
    if (ev.type === "packetsIn" || ev.type === "packetsOut") {
      state.packetBuckets.set(ev.timestamp, (state.packetBuckets.get(ev.timestamp) || 0) + ev.count);
    } else if (ev.type === "bytesIn" || ev.type === "bytesOut") {
      state.byteBuckets.set(ev.timestamp, (state.byteBuckets.get(ev.timestamp) || 0) + ev.count);
    }
  }
  const horizon = now - HISTORY_SECONDS * 1000;
  while (state.clientsHistory.length && state.clientsHistory[0][0] < horizon) {
    state.clientsHistory.shift();
  }
  for (const buckets of [state.packetBuckets, state.byteBuckets]) {
    for (const t of buckets.keys()) if (t < horizon) buckets.delete(t);
  }
  schedule("stats");
}

function pushFeed(kind, nsp, id, what, ts) {
  if (nsp === adminNsp()) return; // the dashboards themselves are not users
  if (state.feedPaused) return;
  state.feed.push({ kind, nsp, id, what, ts: ts || new Date().toISOString() });
  if (state.feed.length > MAX_FEED) state.feed.splice(0, state.feed.length - MAX_FEED);
  schedule("feed");
}

// ------------------------------------------------------------------ commands

function command(event, ...args) {
  if (socket && socket.connected && !state.readOnly) socket.emit(event, ...args);
}

// ----------------------------------------------------------------- rendering

function userSockets() {
  const admin = adminNsp();
  const out = [];
  for (const sock of state.sockets.values()) if (sock.nsp !== admin) out.push(sock);
  return out;
}

function renderStats() {
  const st = state.stats;
  const users = userSockets();
  if (st) {
    $("#st-clients").textContent = st.clientsCount ?? "–";
    const admins = (st.namespaces || []).find((n) => n.name === adminNsp());
    $("#st-polling").textContent = `${st.pollingClientsCount ?? 0} on long-polling`
      + (admins ? ` · ${admins.socketsCount} admin${admins.socketsCount === 1 ? "" : "s"}` : "");
    const namespaces = (st.namespaces || []).filter((n) => n.name !== adminNsp());
    const count = namespaces.reduce((a, n) => a + n.socketsCount, 0);
    $("#st-sockets").textContent = state.development ? users.length : count;
    $("#st-namespaces").textContent =
      `${namespaces.length} namespace${namespaces.length === 1 ? "" : "s"}`;
    $("#st-uptime").textContent = fmtDuration(st.uptime || 0);
    $("#st-host").textContent = `${st.hostname} · pid ${st.pid}`;
    $("#server-id").textContent = st.serverId;
    // the last few complete seconds
    const last = Math.floor(Date.now() / 1000) * 1000 - 1000;
    let packets = 0, bytes = 0;
    for (let t = last - 4000; t <= last; t += 1000) {
      packets += state.packetBuckets.get(t) || 0;
      bytes += state.byteBuckets.get(t) || 0;
    }
    const rate = packets / 5;
    $("#st-rate").textContent = rate.toFixed(rate < 10 ? 1 : 0);
    $("#st-bytes").textContent = `${fmtBytes(Math.round(bytes / 5))}/s`;
    const list = $("#namespaces");
    list.replaceChildren(...(st.namespaces || []).map((n) =>
      el("li", {}, el("code", { text: n.name }),
        el("span", { class: "muted", text: `${n.socketsCount} socket${n.socketsCount === 1 ? "" : "s"}` }))));
  } else if (state.development) {
    $("#st-sockets").textContent = users.length;
  }
  drawChart();
}

// Who a socket is, from its socket.data: the first name-like string field (the chat app sets
// userName), else nothing.
const NAME_KEYS = ["userName", "username", "name", "user", "displayName", "nickname", "login"];
function userName(sock) {
  const data = sock.data;
  if (!data || typeof data !== "object") return "";
  for (const key of NAME_KEYS) {
    const value = data[key];
    if (typeof value === "string" && value.trim()) return value.trim();
    if (typeof value === "number") return String(value);
  }
  return "";
}

// The name the feed shows for a socket: what the sockets table shows (its latest socket.data),
// else the name it had when it left; "" when it has none (the feed then shows the id alone).
function feedName(nsp, id) {
  const key = nsp + "\n" + id;
  const sock = state.sockets.get(key);
  return sock ? userName(sock) : state.departed.get(key) || "";
}

function matches(sock, q) {
  if (!q) return true;
  const hs = sock.handshake || {};
  return sock.id.toLowerCase().includes(q) || userName(sock).toLowerCase().includes(q) || (sock.nsp || "").toLowerCase().includes(q)
    || String(hs.address || "").toLowerCase().includes(q)
    || (sock.transport || "").includes(q)
    || sock.rooms.some((r) => r.toLowerCase().includes(q));
}

function renderSockets() {
  const q = $("#search").value.trim().toLowerCase();
  const users = userSockets();
  const found = users.filter((s) => matches(s, q));
  found.sort((a, b) => (b.handshake?.issued || 0) - (a.handshake?.issued || 0));
  $("#sockets-count").textContent = users.length;
  if (state.development) $("#st-sockets").textContent = users.length;
  const tpl = $("#row-tpl");
  const rows = found.slice(0, MAX_ROWS).map((sock) => {
    const row = tpl.content.firstElementChild.cloneNode(true);
    row.dataset.nsp = sock.nsp;
    row.dataset.id = sock.id;
    const who = userName(sock);
    const user = $(".user", row);
    user.textContent = who || "–";
    user.title = who;
    user.classList.toggle("none", !who);
    $(".id code", row).textContent = sock.id;
    $(".id .nsp", row).textContent = sock.nsp === "/" ? "" : sock.nsp;
    const tr = $(".transport", row);
    tr.textContent = sock.transport || "?";
    tr.classList.toggle("polling", sock.transport === "polling");
    $(".addr", row).textContent = sock.handshake?.address || "";
    const rooms = $(".room-list", row);
    for (const room of sock.rooms) {
      if (room === sock.id) continue;
      const chip = el("span", { class: "chip" }, el("span", { text: room }));
      const leave = el("button", { type: "button", title: `Leave ${room}`, "data-room": room, class: "leave" });
      leave.textContent = "×";
      chip.append(leave);
      rooms.append(chip);
    }
    const issued = sock.handshake?.issued;
    const since_ = $(".since", row);
    since_.textContent = since(issued);
    if (issued) since_.title = new Date(issued).toISOString();
    return row;
  });
  $("#sockets tbody").replaceChildren(...rows);
  const more = found.length - rows.length;
  $("#sockets-more").textContent = more > 0
    ? `${more} more socket${more === 1 ? "" : "s"}: refine the search` : (q && !found.length ? "No socket matches." : "");
}

function renderRooms() {
  const showPrivate = $("#show-private").checked;
  const rooms = new Map(); // `${nsp}\n${room}` -> {nsp, room, members[]}
  for (const sock of userSockets()) {
    for (const room of sock.rooms) {
      if (room === sock.id && !showPrivate) continue;
      const key = sock.nsp + "\n" + room;
      let entry = rooms.get(key);
      if (!entry) rooms.set(key, entry = { nsp: sock.nsp, room, members: [], private: room === sock.id });
      entry.members.push(sock.id);
    }
  }
  const list = [...rooms.values()].sort((a, b) =>
    (a.private - b.private) || (b.members.length - a.members.length) || a.room.localeCompare(b.room));
  $("#rooms-count").textContent = list.filter((r) => !r.private).length;
  const items = list.slice(0, 500).map((r) => {
    const key = r.nsp + "\n" + r.room;
    const head = el("div", { class: "room-head" },
      el("span", { class: "room-name" }, r.room, r.nsp !== "/" ? el("span", { class: "room-nsp", text: r.nsp }) : null),
      el("span", { class: "count", text: String(r.members.length) }));
    const li = el("li", { class: r.private ? "private" : "", "data-key": key }, head);
    if (state.openRooms.has(key)) {
      li.append(el("ul", { class: "members" },
        ...r.members.slice(0, 100).map((id) => el("li", {}, el("code", { text: id })))));
    }
    return li;
  });
  $("#rooms").replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "No rooms yet." })]));
}

function renderFeed() {
  const q = $("#feed-filter").value.trim().toLowerCase();
  const items = [];
  for (let i = state.feed.length - 1; i >= 0 && items.length < 200; i--) {
    const ev = state.feed[i];
    let what;
    if (ev.kind === "event_received" || ev.kind === "event_sent") {
      const [name, ...args] = ev.what;
      what = el("span", { class: "what" }, el("b", { text: String(name) }), " ",
        args.map(preview).join(", "));
    } else {
      what = el("span", { class: "what", text: String(ev.what || "") });
    }
    const name = feedName(ev.nsp, ev.id);
    const text = `${ev.kind} ${name} ${ev.id} ${what.textContent}`.toLowerCase();
    if (q && !text.includes(q)) continue;
    const label = { connection: "connect", disconnection: "disconnect", room_joined: "join",
      room_left: "leave", event_received: "in", event_sent: "out" }[ev.kind];
    // who: the user's name when socket.data has one, the socket id beside it (smaller)
    const where = ev.nsp === "/" ? "" : ` on ${ev.nsp}`;
    const who = el("span", { class: "who" + (name ? "" : " no-name"),
      title: (name ? `${name}: socket ${ev.id}` : `socket ${ev.id}`) + where },
      name ? el("span", { class: "who-name", text: name }) : null, name ? " " : null,
      el("code", { class: "who-id", text: ev.id }));
    items.push(el("li", { "data-kind": ev.kind, "data-id": ev.id },
      el("time", { text: new Date(ev.ts).toLocaleTimeString() }),
      el("span", { class: `kind ${ev.kind}`, text: label }),
      who,
      what));
  }
  $("#feed").replaceChildren(...items);
}

// --------------------------------------------------------------------- chart

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function drawChart() {
  const canvas = $("#chart");
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const pad = { l: 40, r: 44, t: 10, b: 22 };
  const now = Date.now();
  // the window grows with the data: 30 s at first, up to HISTORY_SECONDS
  const first = Math.min(now, ...state.clientsHistory.map((p) => p[0]), ...state.packetBuckets.keys());
  const span = Math.min(HISTORY_SECONDS, Math.max(30, Math.ceil((now - first) / 1000) + 5));
  const t0 = now - span * 1000;
  const x = (t) => pad.l + ((t - t0) / (span * 1000)) * (w - pad.l - pad.r);
  const line = cssVar("--line"), muted = cssVar("--muted");
  const maxClients = Math.max(4, ...state.clientsHistory.map((p) => p[1]));
  const maxRate = Math.max(4, ...state.packetBuckets.values());
  const yc = (v) => h - pad.b - (v / maxClients) * (h - pad.t - pad.b);
  const yr = (v) => h - pad.b - (v / maxRate) * (h - pad.t - pad.b);

  ctx.font = `11px ${cssVar("--font")}`;
  ctx.lineWidth = 1;
  ctx.strokeStyle = line;
  ctx.fillStyle = muted;
  for (let i = 0; i <= 4; i++) {
    const yy = pad.t + (i / 4) * (h - pad.t - pad.b);
    ctx.beginPath(); ctx.moveTo(pad.l, yy); ctx.lineTo(w - pad.r, yy); ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(String(Math.round(maxClients * (1 - i / 4))), pad.l - 6, yy + 4);
    ctx.textAlign = "left";
    ctx.fillText(String(Math.round(maxRate * (1 - i / 4))), w - pad.r + 6, yy + 4);
  }
  ctx.textAlign = "center";
  const step = span > 120 ? 60 : span > 60 ? 20 : 10;
  for (let sec = 0; sec <= span; sec += step) {
    const label = sec === 0 ? "now" : sec % 60 === 0 ? `-${sec / 60}m` : `-${sec}s`;
    ctx.fillText(label, x(now - sec * 1000), h - 6);
  }

  // packets per second: bars, one per second
  const barW = Math.max(1, (w - pad.l - pad.r) / span - 1);
  ctx.fillStyle = cssVar("--accent-2");
  ctx.globalAlpha = 0.45;
  for (const [t, n] of state.packetBuckets) {
    if (t < t0) continue;
    ctx.fillRect(x(t), yr(n), barW, h - pad.b - yr(n));
  }
  ctx.globalAlpha = 1;

  // connected clients: a line with a soft fill
  const pts = state.clientsHistory.filter((p) => p[0] >= t0);
  if (pts.length) {
    const accent = cssVar("--accent");
    ctx.beginPath();
    pts.forEach(([t, v], i) => (i ? ctx.lineTo(x(t), yc(v)) : ctx.moveTo(x(t), yc(v))));
    ctx.strokeStyle = accent;
    ctx.lineWidth = 2.2;
    ctx.lineJoin = "round";
    ctx.stroke();
    ctx.lineTo(x(pts[pts.length - 1][0]), h - pad.b);
    ctx.lineTo(x(pts[0][0]), h - pad.b);
    ctx.closePath();
    const grad = ctx.createLinearGradient(0, pad.t, 0, h - pad.b);
    grad.addColorStop(0, accent + "55");
    grad.addColorStop(1, accent + "00");
    ctx.fillStyle = grad;
    ctx.fill();
    const [lt, lv] = pts[pts.length - 1];
    ctx.beginPath(); ctx.arc(x(lt), yc(lv), 3.5, 0, Math.PI * 2);
    ctx.fillStyle = accent; ctx.fill();
  }
}

function frame() {
  if (dirty.stats) { dirty.stats = false; renderStats(); }
  // not while the user types a room name in the table (a render would replace the input)
  const active = document.activeElement;
  const typing = active && active.tagName === "INPUT" && active.value && active.closest("#sockets tbody");
  if (dirty.sockets && !typing) { dirty.sockets = false; renderSockets(); }
  if (dirty.rooms) { dirty.rooms = false; renderRooms(); }
  if (dirty.feed) { dirty.feed = false; renderFeed(); }
}

// ------------------------------------------------------------------- wiring

$("#login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const server = $("#server-url").value.trim();
  Object.assign(settings, {
    server,
    namespace: $("#namespace").value.trim() || "/admin",
    path: $("#path").value.trim() || "/socket.io/",
    wsOnly: $("#ws-only").checked,
  });
  localStorage.setItem(STORE + "settings", JSON.stringify(settings));
  $("#login-btn").disabled = true;
  $("#login-error").textContent = "";
  connect({ username: $("#username").value, password: $("#password").value }, false);
});

$("#logout").addEventListener("click", () => {
  localStorage.removeItem(STORE + "session");
  if (socket) { socket.off(); socket.disconnect(); socket = null; }
  setConnected(false);
  state.sockets.clear();
  $("#app").classList.add("hidden");
  $("#logout").classList.add("hidden");
  $("#password").value = "";
  showLogin("");
});

$("#search").addEventListener("input", () => schedule("sockets"));
$("#feed-filter").addEventListener("input", () => schedule("feed"));
$("#show-private").addEventListener("change", () => schedule("rooms"));
$("#feed-clear").addEventListener("click", () => { state.feed = []; schedule("feed"); });
$("#feed-pause").addEventListener("click", (e) => {
  state.feedPaused = !state.feedPaused;
  e.target.textContent = state.feedPaused ? "Resume" : "Pause";
});

$("#rooms").addEventListener("click", (e) => {
  const li = e.target.closest("li[data-key]");
  if (!li) return;
  const key = li.dataset.key;
  if (state.openRooms.has(key)) state.openRooms.delete(key); else state.openRooms.add(key);
  schedule("rooms");
});

$("#sockets").addEventListener("click", (e) => {
  const row = e.target.closest("tr[data-id]");
  if (!row) return;
  if (e.target.closest(".disconnect")) {
    command("_disconnect", row.dataset.nsp, false, row.dataset.id);
  } else if (e.target.closest(".leave")) {
    command("leave", row.dataset.nsp, e.target.closest(".leave").dataset.room, row.dataset.id);
  }
});

$("#sockets").addEventListener("submit", (e) => {
  e.preventDefault();
  const row = e.target.closest("tr[data-id]");
  const input = $("input", e.target);
  const room = input.value.trim();
  if (row && room) command("join", row.dataset.nsp, room, row.dataset.id);
  input.value = "";
  input.blur();
});

$("#server-url").value = settings.server;
$("#namespace").value = settings.namespace;
$("#path").value = settings.path;
$("#ws-only").checked = !!settings.wsOnly;

setInterval(frame, 250);
setInterval(() => schedule("stats", "sockets"), 5000); // "connected since", chart scroll
window.addEventListener("resize", () => schedule("stats"));

// start: a saved session, else no credentials at all (works when auth is off)
const saved = localStorage.getItem(STORE + "session");
connect(saved ? { sessionId: saved } : {}, true);
