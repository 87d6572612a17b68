// The chat in a browser: the page of 06-chat/14-web-client.ts. It speaks the chat's own lines
// (06-chat/README.md has them), one WebSocket message each, to the bridge, which carries them
// to the chat server over TCP. Everything a person sees is set with textContent, never as
// HTML: a message holding <script> shows those characters, and nothing runs.
"use strict";

const CHUNK_BYTES = 32 * 1024;
/** Bytes the browser may hold unsent before a file's next chunk waits. */
const SEND_AHEAD = 256 * 1024;

const $ = (id) => document.getElementById(id);

const state = {
  ws: undefined,
  nick: "",
  password: "",
  loggedIn: false,
  /** Logged in once already: a refusal now may be our last connection, not yet noticed gone. */
  wasIn: false,
  /** Set once we leave, or the login is refused for good: no more reconnecting. */
  stopped: false,
  retries: 0,
  online: new Set(),
  /** Files arriving, by id: their chunks until END. */
  incoming: new Map(),
  /** The file we are sending, once offered with /file. */
  upload: undefined,
  acks: [],
};

// ---------------------------------------------------------------------------------------
// The connection, and coming back after it drops

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/chat`);
  state.ws = ws;
  status(`connecting as ${state.nick}...`);
  ws.onmessage = (event) => hear(String(event.data));
  ws.onclose = (event) => lost(ws, event.reason);
}

function send(line) {
  if (state.ws?.readyState === WebSocket.OPEN) state.ws.send(line);
}

/** The connection closed: unless we are done, try again after 0.5 s, 1 s, 2 s... up to 10 s. */
function lost(ws, reason) {
  if (ws !== state.ws) return;
  state.loggedIn = false;
  state.upload = undefined;
  state.incoming.clear();
  if (state.stopped) {
    $("login").hidden = false;
    return;
  }
  const ms = Math.min(10_000, 500 * 2 ** state.retries++) * (0.5 + Math.random() / 2);
  const why = reason ? ` (${reason})` : "";
  status(`connection lost${why}; trying again in ${(ms / 1000).toFixed(1)} s`);
  show("info", `* connection lost${why}`);
  setTimeout(connect, ms);
}

// ---------------------------------------------------------------------------------------
// What the server says: one line, its first word says what follows

function hear(line) {
  const space = line.indexOf(" ");
  const word = space === -1 ? line : line.slice(0, space);
  const rest = space === -1 ? "" : line.slice(space + 1);
  const [first = "", second = ""] = rest.split(" ");
  const afterFirst = rest.slice(first.length + 1);
  const afterSecond = rest.slice(first.length + second.length + 2);
  switch (word) {
    case "HELLO":
      send(`/login ${state.nick} ${state.password}`);
      break;
    case "OK":
      ok(rest);
      break;
    case "ERR":
      err(first.replace(/:$/, ""), afterFirst);
      break;
    case "MSG":
      show("msg", `${first}: ${afterFirst}`);
      break;
    case "PRIV":
      show("priv", `${second} (to you): ${afterSecond}`);
      // Id 0 was never stored: nothing to acknowledge.
      if (first !== "0") ack(first);
      break;
    case "JOIN":
      state.online.add(first);
      showOnline();
      show("join", `* ${first} joined`);
      break;
    case "LEAVE":
      state.online.delete(first);
      showOnline();
      show("leave", `* ${first} left (${afterFirst})`);
      break;
    case "LIST":
      state.online = new Set(rest.split(" ").filter(Boolean));
      showOnline();
      break;
    case "FILE":
      fileComing(rest.split(" "));
      break;
    case "DATA":
      fileChunk(first, second);
      break;
    case "END":
      void fileEnd(first);
      break;
    case "PING":
      send("/pong");
      break;
    case "BYE":
      show("info", `* the server closed: ${rest}`);
      break;
    default:
      show("info", line);
  }
}

function ok(text) {
  if (!state.loggedIn) {
    state.loggedIn = true;
    state.wasIn = true;
    state.retries = 0;
    status(`connected as ${state.nick}`);
    $("login").hidden = true;
    $("room").hidden = false;
    $("leave").hidden = false;
    send("/list");
  }
  const go = text.match(/^file (\S+): send (\d+) bytes in \/data lines$/);
  if (go && state.upload?.name === go[1]) pump();
  else {
    show("info", `ok: ${text}`);
    if (state.upload && text.startsWith(`file ${state.upload.name}: `)) state.upload = undefined;
  }
}

function err(code, text) {
  if (!state.loggedIn) {
    // Our last connection may still hold the nick, or logins are busy: try again in a moment.
    // A wrong password stays wrong.
    if (state.wasIn && (code === "taken" || code === "busy")) {
      state.ws?.close();
      return;
    }
    state.stopped = true;
    $("refused").textContent = `login refused: ${text}`;
    $("login").hidden = false;
    $("room").hidden = true;
    status("not connected");
    state.ws?.close();
    return;
  }
  if (code === "file" || code === "checksum") state.upload = undefined;
  show("err", `! ${code}: ${text}`);
}

/** Acknowledgements of one turn go out in one /ack line. */
function ack(id) {
  state.acks.push(id);
  if (state.acks.length === 1) queueMicrotask(() => send(`/ack ${state.acks.splice(0).join(" ")}`));
}

// ---------------------------------------------------------------------------------------
// Files: received with their SHA-256 checked, sent in /data chunks paced by bufferedAmount

function fileComing([id, from, name, size, sha256]) {
  state.incoming.set(id, { from, name, size: Number(size), sha256, chunks: [], received: 0 });
  show("info", `* receiving ${name} (${size} bytes) from ${from}`);
}

function fileChunk(id, base64) {
  const file = state.incoming.get(id);
  if (!file) return;
  const bytes = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
  file.chunks.push(bytes);
  file.received += bytes.length;
}

async function fileEnd(id) {
  const file = state.incoming.get(id);
  if (!file) return;
  state.incoming.delete(id);
  const blob = new Blob(file.chunks);
  const digest = await sha256(await blob.arrayBuffer());
  const entry = show("file", `${file.from} sent ${file.name} (${file.received} bytes) `);
  if (file.received !== file.size || digest !== file.sha256) {
    entry.className = "err";
    entry.append(`was damaged on its way: SHA-256 ${digest}, not ${file.sha256}`);
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = file.name;
  link.textContent = "download";
  const code = document.createElement("code");
  code.textContent = digest;
  entry.append(link, " SHA-256 ", code, " checked");
  ack(id);
}

async function offerFile() {
  const file = $("file").files[0];
  const to = $("to").value;
  if (!file || !to) {
    show("err", "! choose a file, and someone to send it to (To)");
    return;
  }
  if (state.upload) {
    show("err", "! one file at a time: the last one is still on its way");
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const name = safeName(file.name);
  state.upload = { name, bytes, offset: 0 };
  const digest = await sha256(bytes);
  send(`/file ${to} ${name} ${bytes.length} ${digest}`);
  show("info", `* offering ${name} (${bytes.length} bytes, SHA-256 ${digest}) to ${to}`);
}

/** Sends chunks while the browser holds less than SEND_AHEAD unsent; then waits a moment. */
function pump() {
  const upload = state.upload;
  if (!upload || !state.ws) return;
  while (upload.offset < upload.bytes.length && state.ws.bufferedAmount < SEND_AHEAD) {
    const chunk = upload.bytes.subarray(upload.offset, upload.offset + CHUNK_BYTES);
    upload.offset += chunk.length;
    send(`/data ${base64(chunk)}`);
  }
  if (upload.offset < upload.bytes.length) setTimeout(pump, 20);
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function base64(bytes) {
  let binary = "";
  for (let at = 0; at < bytes.length; at += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  return btoa(binary);
}

/** A name the chat accepts: `my report.pdf` becomes `my_report.pdf` (as protocol.ts does). */
function safeName(name) {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "");
  return safe.slice(0, 100) || "file";
}

// ---------------------------------------------------------------------------------------
// The page: text only, never HTML

function show(kind, text) {
  const entry = document.createElement("li");
  entry.className = kind;
  entry.textContent = text;
  const log = $("log");
  log.append(entry);
  log.scrollTop = log.scrollHeight;
  return entry;
}

function status(text) {
  $("status").textContent = text;
}

/** Who is here, each a button that chooses them as the recipient; and the To list. */
function showOnline() {
  const to = $("to");
  const chosen = to.value;
  const people = [...state.online].filter(
    (nick) => nick.toLowerCase() !== state.nick.toLowerCase(),
  );
  $("online").replaceChildren(
    ...[...state.online].map((nick) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = nick;
      button.dataset.nick = nick;
      button.onclick = () => {
        to.value = people.includes(nick) ? nick : "";
      };
      item.append(button);
      return item;
    }),
  );
  to.replaceChildren(new Option("everyone", ""), ...people.map((nick) => new Option(nick, nick)));
  to.value = people.includes(chosen) ? chosen : "";
}

$("login").onsubmit = (event) => {
  event.preventDefault();
  state.nick = $("nick").value.trim();
  state.password = $("password").value;
  state.stopped = false;
  state.wasIn = false;
  $("refused").textContent = "";
  connect();
};

$("say").onsubmit = (event) => {
  event.preventDefault();
  const text = $("text").value;
  const to = $("to").value;
  if (text === "") return;
  $("text").value = "";
  // A line starting with "/" is a command, as in the terminal client (//text says /text).
  if (to) {
    send(`/msg ${to} ${text}`);
    show("priv", `you (to ${to}): ${text}`);
  } else {
    send(text);
    if (!text.startsWith("/")) show("msg", `you: ${text}`);
    else if (text.startsWith("//")) show("msg", `you: ${text.slice(1)}`);
  }
};

$("send-file").onsubmit = (event) => {
  event.preventDefault();
  void offerFile();
};

$("leave").onclick = () => {
  state.stopped = true;
  send("/quit");
  status("left");
  $("leave").hidden = true;
};
