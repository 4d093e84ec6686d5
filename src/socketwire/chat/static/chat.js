// The socketwire chat page. Plain ES module, no build step; the Socket.IO client is the one the
// server itself serves. The event contract it speaks is written up in docs/chat.md.
//
// Conversations: "public" (everyone), "room:<name>" (rooms you joined) and "dm:<socket id>"
// (private messages). Every piece of user text goes into the page through textContent only.

import { io } from "/socket.io/socketwire.esm.js";

const $ = (id) => document.getElementById(id);
const MAX_NAME = 32;
const MAX_ROOM = 64;

const state = {
  socket: null,
  me: null, // {id, userName}
  users: new Map(), // socket id -> userName, everyone online (you included)
  convs: new Map(), // key -> conversation
  current: "public",
  rooms: new Set(), // rooms joined, joined again after a reconnect
  welcomed: false,
  // Messages go out only once the server knows who we are and which rooms we are in: typed
  // while offline (or while the rooms are being joined again), they wait in `outbox`.
  ready: false,
  outbox: [],
  inflight: new Set(), // sent, not yet answered
  generation: 0, // bumped on every welcome, so a stale re-join never flushes the outbox
  kicked: false, // disconnected by the server (e.g. the admin dashboard): no auto-reconnect
  // the connection as the status line shows it: "connecting", "online" or "offline", with its
  // words ("reconnecting…", "disconnected"); your own presence dot in the list follows it
  conn: "connecting",
  connText: "connecting…",
  // the people list is live only between the server's welcome and the next disconnect; in
  // between it is who was online when the page was last connected, and says so
  live: false,
};

// ------------------------------------------------------------------ helpers

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function hue(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]].map((w) => [...w][0])
    : [...(words[0] || "?")].slice(0, 2);
  return letters.join("").toUpperCase();
}

function paintAvatar(node, name) {
  node.textContent = initials(name);
  node.style.setProperty("--avatar-hue", String(hue(name)));
}

function avatar(name, extraClass) {
  const node = el("span", "avatar" + (extraClass ? " " + extraClass : ""));
  node.setAttribute("aria-hidden", "true");
  paintAvatar(node, name);
  return node;
}

function clock(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function isPhone() {
  return window.matchMedia("(max-width: 760px)").matches;
}

// ------------------------------------------------------------ conversations

function conversation(key, kind, name, extra = {}) {
  let conv = state.convs.get(key);
  if (conv) return conv;
  const list = el("div", "message-list");
  list.dataset.conv = key;
  list.hidden = true;
  $("messages").append(list);
  conv = { key, kind, name, list, unread: 0, item: null, members: new Map(), lastSender: null,
           ...extra };
  state.convs.set(key, conv);
  renderConvItem(conv);
  return conv;
}

function renderConvItem(conv) {
  const parent = conv.kind === "dm" ? $("dms") : $("channels");
  if (!conv.item) {
    conv.item = el("li");
    const button = el("button", "conv");
    button.type = "button";
    button.dataset.conv = conv.key;
    button.addEventListener("click", () => select(conv.key));
    conv.item.append(button);
    parent.append(conv.item);
  }
  const button = conv.item.firstChild;
  button.replaceChildren();
  if (conv.kind === "dm") {
    button.append(avatar(conv.name, "avatar-small"));
  } else {
    button.append(el("span", "conv-icon", "#"));
  }
  button.append(el("span", "conv-name", conv.name));
  button.title = conv.name; // the whole name, when the row shows it cut short
  if (conv.kind === "dm" && conv.offline) button.append(el("span", "conv-meta", "offline"));
  if (conv.unread > 0) button.append(el("span", "badge", String(conv.unread)));
  button.classList.toggle("active", conv.key === state.current);
  button.classList.toggle("unread", conv.unread > 0);
  $("dms-section").hidden = $("dms").childElementCount === 0;
  renderMenuBadge();
}

function renderMenuBadge() {
  let total = 0;
  for (const conv of state.convs.values()) if (conv.key !== state.current) total += conv.unread;
  const badge = $("menu-badge");
  badge.hidden = total === 0;
  badge.textContent = total > 99 ? "99+" : String(total);
}

function removeConversation(key) {
  const conv = state.convs.get(key);
  if (!conv) return;
  conv.list.remove();
  conv.item.remove();
  state.convs.delete(key);
  $("dms-section").hidden = $("dms").childElementCount === 0;
  if (state.current === key) select("public");
}

function select(key) {
  const conv = state.convs.get(key);
  if (!conv) return;
  const previous = state.convs.get(state.current);
  state.current = key;
  if (previous) {
    previous.list.hidden = true;
    renderConvItem(previous);
  }
  conv.list.hidden = false;
  conv.unread = 0;
  renderConvItem(conv);
  renderHeader();
  scrollToEnd(conv, true);
  closeSidebar();
  if (!isPhone()) $("composer-input").focus();
}

function renderHeader() {
  const conv = state.convs.get(state.current);
  if (!conv) return;
  const input = $("composer-input");
  let title = conv.name;
  let subtitle = "";
  let placeholder = "";
  if (conv.kind === "public") {
    const n = state.users.size;
    subtitle = `${n} ${n === 1 ? "person" : "people"} ${state.live ? "online" : "last seen online"}`;
    placeholder = "Message everyone";
  } else if (conv.kind === "room") {
    title = "# " + conv.name;
    const names = [...conv.members.values()];
    subtitle = `${names.length} ${names.length === 1 ? "member" : "members"}: ${names.join(", ")}`;
    placeholder = `Message ${conv.name}`;
  } else {
    subtitle = conv.offline ? "Offline: this user left" : "Private conversation";
    placeholder = conv.offline ? `${conv.name} is offline` : `Message ${conv.name} privately`;
  }
  $("conv-title").textContent = title;
  $("conv-subtitle").textContent = subtitle;
  $("leave-button").hidden = conv.kind !== "room" || state.kicked;
  if (state.kicked) placeholder = "Disconnected: join again to send";
  input.placeholder = placeholder;
  input.disabled = state.kicked || (conv.kind === "dm" && Boolean(conv.offline));
  $("send-button").disabled = input.disabled;
}

function nearEnd(list) {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120 || list.hidden;
}

function scrollToEnd(conv, force) {
  if (conv.key !== state.current) return;
  const box = $("messages");
  if (force || nearEnd(conv.list)) box.scrollTop = box.scrollHeight;
}

function bump(conv) {
  if (conv.key !== state.current) {
    conv.unread += 1;
    renderConvItem(conv);
  }
}

// ------------------------------------------------------------------ messages

// A chat message. `from` is {id, userName}; own messages get a delivery tick.
function addMessage(conv, from, text, ts, own) {
  const stick = nearEnd(conv.list);
  const grouped = conv.lastSender === from.id;
  const row = el("div", "msg" + (own ? " own" : "") + (grouped ? " grouped" : ""));
  row.dataset.from = from.id;
  if (!own) row.append(avatar(from.userName, grouped ? "avatar-spacer" : ""));
  const bubble = el("div", "bubble");
  if (!own && !grouped && conv.kind !== "dm") {
    const who = el("span", "author", from.userName);
    who.style.setProperty("--avatar-hue", String(hue(from.userName)));
    bubble.append(who);
  }
  bubble.append(el("span", "text", text));
  const meta = el("span", "meta");
  const time = el("time", "", clock(ts));
  time.dateTime = new Date(ts).toISOString();
  meta.append(time);
  let tick = null;
  if (own) {
    tick = el("span", "tick");
    tick.dataset.state = "pending";
    tick.title = "Sending…";
    tick.setAttribute("aria-label", "sending");
    meta.append(tick);
  }
  bubble.append(meta);
  row.append(bubble);
  conv.list.append(row);
  conv.lastSender = from.id;
  if (own || stick) scrollToEnd(conv, true);
  if (!own) bump(conv);
  return { row, tick, time };
}

function addNotice(conv, text, kind = "") {
  const stick = nearEnd(conv.list);
  const row = el("div", "notice" + (kind ? " notice-" + kind : ""));
  row.append(el("span", "", text));
  conv.list.append(row);
  conv.lastSender = null;
  if (stick) scrollToEnd(conv, true);
}

function settle(message, res) {
  const tick = message.tick;
  if (res && res.ok) {
    tick.dataset.state = "delivered";
    tick.title = "Delivered";
    tick.setAttribute("aria-label", "delivered");
    if (typeof res.ts === "number") {
      message.time.textContent = clock(res.ts);
      message.time.dateTime = new Date(res.ts).toISOString();
    }
  } else {
    const error = (res && res.error) || "not delivered";
    tick.dataset.state = "failed";
    tick.title = "Not delivered: " + error;
    tick.setAttribute("aria-label", "not delivered");
    message.row.classList.add("failed");
    message.row.querySelector(".bubble").append(el("span", "msg-error", "Not delivered: " + error));
  }
}

// ------------------------------------------------------------------- people

function renderUsers() {
  const list = $("users");
  list.replaceChildren();
  const people = [...state.users].sort(([idA, a], [idB, b]) => {
    if (state.me && idA === state.me.id) return -1;
    if (state.me && idB === state.me.id) return 1;
    return a.localeCompare(b);
  });
  for (const [id, name] of people) {
    const li = el("li");
    const mine = state.me && id === state.me.id;
    const button = el("button", "user" + (mine ? " me-user" : ""));
    button.type = "button";
    button.dataset.id = id;
    button.disabled = Boolean(mine);
    button.title = mine ? "You" : `Message ${name} privately`;
    const face = avatar(name, "avatar-small");
    const presence = el("span", "presence");
    // the others' dots are green only while connected (your own follows the status line)
    presence.dataset.state = state.live ? "online" : "stale";
    if (!state.live) presence.title = "last seen online";
    face.append(presence);
    const label = el("span", "user-name", name);
    label.title = name;
    button.append(face, label);
    if (mine) {
      button.append(el("span", "you", "you"));
      paintOwnPresence(button);
    }
    else button.addEventListener("click", () => openPrivate(id));
    li.append(button);
    list.append(li);
  }
  $("users-label").textContent = state.live ? "Online" : "Last seen online";
  $("user-count").textContent = String(state.users.size);
  renderHeader();
}

function openPrivate(id) {
  const name = state.users.get(id);
  if (name === undefined) return;
  const conv = conversation("dm:" + id, "dm", name, { peerId: id });
  select(conv.key);
}

// ------------------------------------------------------------------ sidebar

function openSidebar() {
  $("app").classList.add("nav-open");
  $("backdrop").hidden = false;
}

function closeSidebar() {
  $("app").classList.remove("nav-open");
  $("backdrop").hidden = true;
}

// ------------------------------------------------------------------ socket

function setStatus(stateName, text) {
  const status = $("status");
  status.dataset.state = stateName;
  status.textContent = text;
  state.conn = stateName;
  state.connText = text;
  const mine = document.querySelector("#users .me-user");
  if (mine) paintOwnPresence(mine);
}

// Your own row in the people list says what the status line says: a green dot only while
// connected, and the same words on hover.
function paintOwnPresence(button) {
  const presence = button.querySelector(".presence");
  presence.dataset.state = state.conn;
  presence.title = state.connText;
  button.title = `You (${state.connText})`;
}

function showLoginError(text) {
  const error = $("login-error");
  error.textContent = text;
  error.hidden = false;
  $("login-button").disabled = false;
  $("login").hidden = false;
  $("app").hidden = true;
  $("login-name").focus();
}

function connect(userName) {
  if (!state.socket) {
    const options = { autoConnect: false, auth: { username: userName } };
    const wanted = new URLSearchParams(location.search).get("transports");
    if (wanted) options.transports = wanted.split(",");
    state.socket = io(options);
    listen(state.socket);
  }
  state.socket.auth = { username: userName };
  state.socket.connect();
}

function showKicked(kicked) {
  state.kicked = kicked;
  $("kicked").hidden = !kicked;
  $("app").classList.toggle("kicked", kicked);
  renderHeader();
}

function listen(socket) {
  socket.on("connect", () => setStatus("online", "online"));
  socket.on("disconnect", (reason) => {
    state.ready = false;
    state.live = false;
    renderUsers();
    // what was sent and not answered may or may not have arrived: say so rather than wait
    for (const item of state.inflight) settle(item.message, { ok: false, error: "connection lost" });
    state.inflight.clear();
    if (reason === "io server disconnect") {
      // the server ended this session (the admin dashboard's Disconnect, say): socket.io
      // does not reconnect by itself then, so offer the way back in
      setStatus("offline", "disconnected");
      addNotice(conversation("public", "public", "Everyone"),
                "You were disconnected by the server.", "leave");
      showKicked(true);
      return;
    }
    setStatus("offline", "reconnecting…");
  });
  socket.on("connect_error", (err) => {
    if (!state.welcomed || !socket.active) {
      showLoginError(err && err.message === "invalid username"
        ? "That name won't do: use 1 to 32 characters."
        : "Could not connect to the server. Try again.");
      socket.disconnect();
      return;
    }
    setStatus("offline", "reconnecting…");
  });

  socket.on("welcome", ({ id, userName, users }) => {
    const first = !state.welcomed;
    state.welcomed = true;
    state.me = { id, userName };
    state.users = new Map(users.map((u) => [u.id, u.userName]));
    state.users.set(id, userName);
    state.live = true;
    $("me-name").textContent = userName;
    paintAvatar($("me-avatar"), userName);
    $("login").hidden = true;
    $("app").hidden = false;
    const pub = conversation("public", "public", "Everyone");
    const generation = ++state.generation;
    if (first) {
      select("public");
      addNotice(pub, `Welcome, ${userName}! You are in the public channel.`, "welcome");
    } else {
      const back = state.kicked ? "You joined again." : "Reconnected.";
      addNotice(pub, back);
      const here = state.convs.get(state.current);
      if (here && here !== pub) addNotice(here, back);
    }
    showKicked(false);
    renderUsers();
    // the rooms first, then what was typed meanwhile (a room message needs its room)
    Promise.all([...state.rooms].map((room) => joinRoom(room, false))).then(() => {
      if (generation !== state.generation || !socket.connected) return;
      state.ready = true;
      flushOutbox();
    });
  });

  socket.on("new-user-joined", ({ id, userName }) => {
    state.users.set(id, userName);
    renderUsers();
    addNotice(conversation("public", "public", "Everyone"), `${userName} joined`, "join");
  });

  socket.on("user-disconnected", ({ id, userName }) => {
    state.users.delete(id);
    renderUsers();
    addNotice(conversation("public", "public", "Everyone"), `${userName} left`, "leave");
    for (const conv of state.convs.values()) {
      if (conv.kind === "room" && conv.members.delete(id)) {
        addNotice(conv, `${userName} left`, "leave");
      }
      if (conv.kind === "dm" && conv.peerId === id) {
        conv.offline = true;
        addNotice(conv, `${userName} left the chat`, "leave");
        renderConvItem(conv);
      }
    }
    renderHeader();
  });

  socket.on("new-message", ({ id, userName, text, ts }) => {
    addMessage(conversation("public", "public", "Everyone"), { id, userName }, text, ts, false);
  });

  socket.on("got-private-msg", ({ from, text, ts }) => {
    const conv = conversation("dm:" + from.id, "dm", from.userName, { peerId: from.id });
    addMessage(conv, from, text, ts, false);
  });

  socket.on("room-message", ({ room, from, text, ts }) => {
    const conv = state.convs.get("room:" + room);
    if (conv) addMessage(conv, from, text, ts, false);
  });

  socket.on("user-joined-room", ({ room, id, userName }) => {
    const conv = state.convs.get("room:" + room);
    if (!conv) return;
    conv.members.set(id, userName);
    addNotice(conv, `${userName} joined ${room}`, "join");
    if (conv.key === state.current) renderHeader();
  });

  socket.on("user-left-room", ({ room, id, userName }) => {
    const conv = state.convs.get("room:" + room);
    if (!conv) return;
    conv.members.delete(id);
    addNotice(conv, `${userName} left ${room}`, "leave");
    if (conv.key === state.current) renderHeader();
  });
}

// ------------------------------------------------------------------ actions

function send(text) {
  const conv = state.convs.get(state.current);
  const socket = state.socket;
  if (!conv || !socket || !state.me || state.kicked) return;
  const item = { conv, text, message: addMessage(conv, state.me, text, Date.now(), true) };
  if (state.ready && socket.connected) dispatch(item);
  else state.outbox.push(item);
}

function dispatch({ conv, text, message }) {
  const socket = state.socket;
  const item = { message };
  state.inflight.add(item);
  const done = (res) => {
    if (!state.inflight.delete(item)) return; // already given up on (connection lost)
    settle(message, res);
  };
  if (conv.kind === "public") socket.emit("new-message", text, done);
  else if (conv.kind === "room") socket.emit("room-message", { room: conv.name, text }, done);
  else socket.emit("send-private-msg", { to: conv.peerId, text }, done);
}

function flushOutbox() {
  const waiting = state.outbox;
  state.outbox = [];
  for (const item of waiting) dispatch(item);
}

function rejoin() {
  if (!state.socket || !state.kicked) return;
  $("kicked").hidden = true;
  setStatus("connecting", "connecting…");
  state.socket.connect();
}

function joinRoom(room, show) {
  return new Promise((resolve) => state.socket.emit("join-room", room, (res) => {
    resolve();
    if (!res || !res.ok) {
      if (show) {
        const error = $("room-error");
        error.textContent = `Could not join: ${(res && res.error) || "no answer"}`;
        error.hidden = false;
      } else {
        state.rooms.delete(room);
      }
      return;
    }
    state.rooms.add(room);
    const conv = conversation("room:" + room, "room", room);
    conv.members = new Map(res.members.map((u) => [u.id, u.userName]));
    if (show) {
      addNotice(conv, `You joined ${room}`, "join");
      select(conv.key);
    } else if (conv.key === state.current) {
      renderHeader();
    }
  }));
}

function leaveRoom(conv) {
  state.socket.emit("leave-room", conv.name, () => {
    state.rooms.delete(conv.name);
    removeConversation(conv.key);
  });
}

// ------------------------------------------------------------------ wiring

function init() {
  const nameInput = $("login-name");
  nameInput.value = localStorage.getItem("socketwire-chat-name") || "";

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    // The server decides (and trims): a refused name comes back as connect_error.
    const name = nameInput.value.slice(0, MAX_NAME + 1);
    $("login-error").hidden = true;
    $("login-button").disabled = true;
    localStorage.setItem("socketwire-chat-name", name.trim());
    connect(name);
  });

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("composer-input");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    send(text);
  });

  $("room-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("room-name");
    const room = input.value.trim();
    $("room-error").hidden = true;
    if (!room || room.length > MAX_ROOM) return;
    if (state.convs.has("room:" + room)) {
      select("room:" + room);
    } else {
      joinRoom(room, true);
    }
    input.value = "";
  });

  $("leave-button").addEventListener("click", () => {
    const conv = state.convs.get(state.current);
    if (conv && conv.kind === "room") leaveRoom(conv);
  });

  $("rejoin-button").addEventListener("click", rejoin);
  $("menu-button").addEventListener("click", openSidebar);
  $("backdrop").addEventListener("click", closeSidebar);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeSidebar();
  });
}

init();
