/**
 * The chat's wire format: the one page that the server, the terminal client, the WebSocket
 * bridge and the IRC door (lessons 14 and 15) all read. Every message is one line
 * of UTF-8 ending in "\n" ("\r\n" is accepted), at most MAX_LINE_BYTES long, so two people can
 * chat with nothing but `nc` (the chapter's README shows how).
 *
 * A client sends commands that start with "/", or any other line, which goes to everyone.
 * The server answers with lines that start with one upper-case word (`OK`, `ERR`, `MSG`,
 * `PRIV`, ...), so a program reads the first word and knows what follows.
 *
 * Here: the limits, the nick and file name rules, `clean()` (what keeps one client's escape
 * sequences off another's terminal, taught in 06-chat/06-hostile-lines), parsing a client's
 * line into a command, formatting every server line, parsing a server line into an event for
 * clients, a file arriving in chunks, and the UDP counter's datagrams (lessons 12 and 13).
 */
import { MAX_LINE_BYTES } from "../lib/stream.ts";

// ---------------------------------------------------------------------------------------
// Limits and names

export { MAX_LINE_BYTES };
/** The chat's TCP port, and the UDP counter's. */
export const TCP_PORT = 5050;
export const UDP_PORT = 5051;
/** Bytes of a file carried by one `/data` or `DATA` line: its base64 fits a line easily. */
export const CHUNK_BYTES = 32 * 1024;
/** The largest file a server takes by default (`--max-file`). */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Lines of one client a server reads in a row before the others get a turn (lesson 01). */
export const LINES_PER_TURN = 100;
export const MAX_NICK_LENGTH = 16;
export const MAX_PASSWORD_LENGTH = 128;
export const MAX_FILE_NAME_LENGTH = 100;

const NICK = /^[A-Za-z][A-Za-z0-9_-]*$/;
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Why `nick` cannot be a nick, or undefined when it can: 1 to 16 ASCII letters, digits, `_`
 * or `-`, starting with a letter. ASCII only, so `аlice` (Cyrillic а) cannot pose as alice.
 */
export function whyBadNick(nick: string): string | undefined {
  if (nick.length === 0 || nick.length > MAX_NICK_LENGTH)
    return `a nick has 1 to ${MAX_NICK_LENGTH} characters`;
  if (!NICK.test(nick)) return "a nick is ASCII letters, digits, _ and -, and starts with a letter";
  return undefined;
}

/** Nicks are unique whatever their case: Alice and alice are one account. */
export const nickKey = (nick: string): string => nick.toLowerCase();

/** Why `name` cannot name a file on the wire: it must never be a path, nor hidden. */
export function whyBadFileName(name: string): string | undefined {
  if (name.length === 0 || name.length > MAX_FILE_NAME_LENGTH)
    return `a file name has 1 to ${MAX_FILE_NAME_LENGTH} characters`;
  if (!FILE_NAME.test(name))
    return "a file name is letters, digits, ., _ and -, and does not start with a dot";
  return undefined;
}

/** A name the wire accepts, made from any file's name: `my report.pdf` -> `my_report.pdf`. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const safe = base.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "");
  return safe.slice(0, MAX_FILE_NAME_LENGTH) || "file";
}

// ---------------------------------------------------------------------------------------
// Cleaning text for another person's terminal

/**
 * Control characters (C0, DEL, C1), Unicode line separators and the bidirectional overrides
 * that can make text read backwards. ESC (0x1b) starts every terminal escape sequence, and
 * 0x9b is a one-byte CSI on some terminals: both are in here.
 */
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` made safe to show on someone else's terminal: every control character becomes a
 * visible stand-in (`ESC` is `^[`, so `\x1b[2J` shows as `^[[2J` instead of clearing the
 * screen), a tab becomes a space, and the rest is left as it was.
 */
export function clean(text: string): string {
  return text.replace(UNSAFE, visible).replaceAll("\t", " ");
}

function visible(character: string): string {
  const code = character.charCodeAt(0);
  if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
  if (code === 0x7f) return "^?";
  return `<U+${code.toString(16).toUpperCase().padStart(4, "0")}>`;
}

// ---------------------------------------------------------------------------------------
// Client -> server

/** One line from a client, understood. `bad` carries the error code and sentence to send. */
export type ClientCommand =
  | { kind: "say"; text: string }
  | { kind: "login"; nick: string; password: string }
  | { kind: "msg"; to: string; text: string }
  | { kind: "list" }
  | { kind: "help" }
  | { kind: "quit"; reason: string }
  | { kind: "ack"; ids: number[] }
  | { kind: "file"; to: string; name: string; size: number; sha256: string }
  | { kind: "data"; bytes: Buffer }
  | { kind: "pong" }
  | { kind: "bad"; code: string; why: string };

const bad = (code: string, why: string): ClientCommand => ({ kind: "bad", code, why });

/**
 * What a client's line asks for. A line that does not start with "/" is something to say;
 * "//" says a line that starts with "/". Commands are case-insensitive (`/MSG` is `/msg`).
 */
export function parseClientLine(line: string): ClientCommand {
  if (!line.startsWith("/")) return { kind: "say", text: line };
  if (line.startsWith("//")) return { kind: "say", text: line.slice(1) };
  const space = line.indexOf(" ");
  const word = (space === -1 ? line : line.slice(0, space)).toLowerCase();
  const rest = space === -1 ? "" : line.slice(space + 1);
  switch (word) {
    case "/login":
      return parseLogin(rest);
    case "/msg":
      return parseMsg(rest);
    case "/list":
      return { kind: "list" };
    case "/help":
      return { kind: "help" };
    case "/quit":
      return { kind: "quit", reason: rest.trim() || "quit" };
    case "/ack":
      return parseAck(rest);
    case "/file":
      return parseFile(rest);
    case "/data":
      return parseData(rest);
    case "/pong":
      return { kind: "pong" };
    default:
      return bad("unknown", `${clean(word.slice(0, 32))} is not a command; /help lists them`);
  }
}

function parseLogin(rest: string): ClientCommand {
  const match = rest.match(/^(\S+) (.+)$/);
  if (!match) return bad("login", "give a nick and a password: /login NICK PASSWORD");
  const [, nick = "", password = ""] = match;
  const why = whyBadNick(nick);
  if (why) return bad("nick", why);
  if (password.length > MAX_PASSWORD_LENGTH)
    return bad("login", `a password has at most ${MAX_PASSWORD_LENGTH} characters`);
  return { kind: "login", nick, password };
}

function parseMsg(rest: string): ClientCommand {
  const match = rest.match(/^(\S+) (.+)$/);
  if (!match) return bad("msg", "give a nick and a message: /msg NICK TEXT");
  const [, to = "", text = ""] = match;
  const why = whyBadNick(to);
  if (why) return bad("nick", why);
  return { kind: "msg", to, text };
}

function parseAck(rest: string): ClientCommand {
  const words = rest.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0 || !words.every((word) => /^\d{1,15}$/.test(word)))
    return bad("ack", "give the ids to acknowledge: /ack ID [ID...]");
  return { kind: "ack", ids: words.map(Number) };
}

function parseFile(rest: string): ClientCommand {
  const match = rest.match(/^(\S+) (\S+) (\d{1,15}) (\S+)$/);
  if (!match)
    return bad("file", "give a nick, a name, a size and a SHA-256: /file NICK NAME SIZE SHA256");
  const [, to = "", name = "", size = "", sha256 = ""] = match;
  const why = whyBadNick(to) ?? whyBadFileName(name);
  if (why) return bad("file", why);
  if (!SHA256.test(sha256.toLowerCase()))
    return bad("file", "the SHA-256 is 64 hexadecimal digits");
  return { kind: "file", to, name, size: Number(size), sha256: sha256.toLowerCase() };
}

function parseData(rest: string): ClientCommand {
  const isBase64 = /^[A-Za-z0-9+/]*={0,2}$/.test(rest) && rest.length % 4 === 0;
  if (!isBase64 || rest.length === 0) return bad("data", "a /data line carries base64");
  const bytes = Buffer.from(rest, "base64");
  if (bytes.length > CHUNK_BYTES)
    return bad("data", `a /data line carries at most ${CHUNK_BYTES} bytes`);
  return { kind: "data", bytes };
}

/** The lines a client sends, for programs that speak the chat (the terminal client, bridges). */
export const clientLine = {
  login: (nick: string, password: string): string => `/login ${nick} ${password}\n`,
  /** A line to everyone; one that starts with "/" is doubled so it is not taken for a command. */
  say: (text: string): string => (text.startsWith("/") ? `/${text}\n` : `${text}\n`),
  msg: (to: string, text: string): string => `/msg ${to} ${text}\n`,
  list: (): string => "/list\n",
  help: (): string => "/help\n",
  quit: (reason = ""): string => (reason ? `/quit ${reason}\n` : "/quit\n"),
  ack: (ids: number[]): string => `/ack ${ids.join(" ")}\n`,
  file: (to: string, name: string, size: number, sha256: string): string =>
    `/file ${to} ${name} ${size} ${sha256}\n`,
  data: (bytes: Uint8Array): string => `/data ${Buffer.from(bytes).toString("base64")}\n`,
  pong: (): string => "/pong\n",
};

/** What `/help` answers in the complete server, one `HELP` line each. */
export const HELP = [
  "/login NICK PASSWORD   log in (the first login of a nick sets its password)",
  "TEXT                   any other line goes to everyone (//TEXT sends /TEXT)",
  "/msg NICK TEXT         to NICK only; kept for NICK while offline",
  "/list                  who is here",
  "/quit [REASON]         leave",
  "/ack ID...             I have PRIV or FILE ID: the server may forget it",
  "/file NICK NAME SIZE SHA256, then /data BASE64 lines   send a file",
  "PING from the server: answer any line (/pong does nothing else)",
];

/** The HELP entries of the commands a lesson knows, by their first word (`/login`, `TEXT`). */
export const helpFor = (words: string[]): string[] =>
  HELP.filter((line) => words.includes(line.split(" ")[0] ?? ""));

// ---------------------------------------------------------------------------------------
// Server -> client

/** Every line a server sends, ending in "\n". Text in them must already be clean(). */
export const serverLine = {
  hello: (text: string): string => `HELLO ${text}\n`,
  ok: (text: string): string => `OK ${text}\n`,
  err: (code: string, why: string): string => `ERR ${code}: ${why}\n`,
  msg: (from: string, text: string): string => `MSG ${from} ${text}\n`,
  priv: (id: number, from: string, text: string): string => `PRIV ${id} ${from} ${text}\n`,
  join: (nick: string): string => `JOIN ${nick}\n`,
  leave: (nick: string, reason: string): string => `LEAVE ${nick} ${reason}\n`,
  list: (nicks: string[]): string => `LIST ${nicks.join(" ")}\n`,
  help: (lines: string[] = HELP): string => lines.map((line) => `HELP ${line}\n`).join(""),
  file: (id: number, from: string, name: string, size: number, sha256: string): string =>
    `FILE ${id} ${from} ${name} ${size} ${sha256}\n`,
  data: (id: number, bytes: Uint8Array): string =>
    `DATA ${id} ${Buffer.from(bytes).toString("base64")}\n`,
  end: (id: number): string => `END ${id}\n`,
  ping: (): string => "PING\n",
  bye: (reason: string): string => `BYE ${reason}\n`,
};

/** One server line, understood by a client. */
export type ServerEvent =
  | { kind: "hello"; text: string }
  | { kind: "ok"; text: string }
  | { kind: "err"; code: string; text: string }
  | { kind: "msg"; from: string; text: string }
  | { kind: "priv"; id: number; from: string; text: string }
  | { kind: "join"; nick: string }
  | { kind: "leave"; nick: string; reason: string }
  | { kind: "list"; nicks: string[] }
  | { kind: "help"; text: string }
  | { kind: "file"; id: number; from: string; name: string; size: number; sha256: string }
  | { kind: "data"; id: number; bytes: Buffer }
  | { kind: "end"; id: number }
  | { kind: "ping" }
  | { kind: "bye"; reason: string }
  | { kind: "unknown"; line: string };

/** What a server's line says. A line this client does not know is `unknown`, never an error. */
export function parseServerLine(line: string): ServerEvent {
  const space = line.indexOf(" ");
  const word = space === -1 ? line : line.slice(0, space);
  const rest = space === -1 ? "" : line.slice(space + 1);
  const [first = "", second = "", ...more] = rest.split(" ");
  const afterFirst = rest.slice(first.length + 1);
  const afterSecond = rest.slice(first.length + second.length + 2);
  const id = /^\d{1,15}$/.test(first) ? Number(first) : Number.NaN;
  const unknown: ServerEvent = { kind: "unknown", line };
  switch (word) {
    case "HELLO":
      return { kind: "hello", text: rest };
    case "OK":
      return { kind: "ok", text: rest };
    case "ERR": {
      const match = rest.match(/^([a-z-]+): (.*)$/);
      return match ? { kind: "err", code: match[1] ?? "", text: match[2] ?? "" } : unknown;
    }
    case "MSG":
      return first ? { kind: "msg", from: first, text: afterFirst } : unknown;
    case "PRIV":
      return Number.isSafeInteger(id) && second
        ? { kind: "priv", id, from: second, text: afterSecond }
        : unknown;
    case "JOIN":
      return first ? { kind: "join", nick: first } : unknown;
    case "LEAVE":
      return first ? { kind: "leave", nick: first, reason: afterFirst } : unknown;
    case "LIST":
      return { kind: "list", nicks: rest.split(" ").filter(Boolean) };
    case "HELP":
      return { kind: "help", text: rest };
    case "FILE": {
      const [name = "", size = "", sha256 = ""] = more;
      const fits = Number.isSafeInteger(id) && /^\d+$/.test(size) && SHA256.test(sha256);
      if (!fits || whyBadFileName(name)) return unknown;
      return { kind: "file", id, from: second, name, size: Number(size), sha256 };
    }
    case "DATA":
      return Number.isSafeInteger(id)
        ? { kind: "data", id, bytes: Buffer.from(second, "base64") }
        : unknown;
    case "END":
      return Number.isSafeInteger(id) ? { kind: "end", id } : unknown;
    case "PING":
      return { kind: "ping" };
    case "BYE":
      return { kind: "bye", reason: rest };
    default:
      return unknown;
  }
}

// ---------------------------------------------------------------------------------------
// A file in chunks

/**
 * A file arriving in chunks, announced with its size and SHA-256: it counts the bytes and
 * hashes them as they come, so nothing has to be read twice. Both ends use it: the server for
 * an upload, the client for a download.
 */
export class IncomingFile {
  received = 0;
  private readonly hasher = new Bun.CryptoHasher("sha256");

  constructor(
    readonly size: number,
    readonly sha256: string,
  ) {}

  /** Counts and hashes a chunk; false (and nothing counted) if it goes past the size. */
  add(bytes: Uint8Array): boolean {
    if (this.received + bytes.length > this.size) return false;
    this.received += bytes.length;
    this.hasher.update(bytes);
    return true;
  }

  get complete(): boolean {
    return this.received === this.size;
  }

  /** The SHA-256 of what arrived, in hex; call it once, when complete. */
  digest(): string {
    return this.hasher.digest("hex");
  }
}

// ---------------------------------------------------------------------------------------
// The UDP counter (lessons 12 and 13)

/**
 * A datagram for the counter: `ID TEXT`. The id is the client's, chosen so that no two of its
 * messages share one: the server counts an id once, however many times it arrives, and
 * answers with the id alone, which is always shorter than the datagram it answers.
 */
export const counterDatagram = (id: string, text: string): string => `${id} ${text}`;

/** The id and text of a counter datagram, or undefined for anything else. */
export function parseCounterDatagram(
  datagram: Uint8Array,
): { id: string; text: string } | undefined {
  const text = Buffer.from(datagram).toString("utf8");
  const match = text.match(/^([A-Za-z0-9-]{1,40}) ([\s\S]*)$/);
  if (!match) return undefined;
  return { id: match[1] ?? "", text: match[2] ?? "" };
}
