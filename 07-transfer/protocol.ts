/**
 * The file server's protocol, written once for the servers and the clients of the chapter:
 * what a command line may say, what a reply looks like, which names a file may have, and
 * how a size is shown to a person.
 *
 * A conversation is text lines, and after a line that announces them, raw bytes of an
 * announced length. Lesson 02 teaches it; the chapter README shows it typed with `nc`.
 *
 *   LIST                          -> OK 2 files, then one "name size modified" line per file
 *   GET name [offset]             -> SENDING_FILE name size sha256 offset; the client answers
 *                                    READY (then size - offset bytes follow) or CANCEL
 *   PUT name size sha256 [replace] -> READY; the client sends size bytes; then OK or ERR
 *   QUIT                          -> BYE, and the server closes
 *   anything wrong                -> ERR and one sentence; the connection stays usable
 */

/** The port the servers listen on unless told otherwise (above 1023: no root needed). */
export const DEFAULT_PORT = 9009;

/** The longest command or reply line: a name of MAX_NAME_BYTES and its words fit. */
export const MAX_LINE_BYTES = 4096;

/** A name's limits: a whole name, and one folder or file name in it (Linux's NAME_MAX). */
export const MAX_NAME_BYTES = 1024;
export const MAX_PART_BYTES = 255;

/**
 * A refusal: the server answers `ERR` and this sentence, and the connection goes on. A
 * command's code throws it where it finds the problem.
 */
export class Refused extends Error {}

/** What a client may send, one line each. `INVALID` carries the sentence to answer. */
export type Command =
  | { verb: "LIST" }
  | { verb: "GET"; name: string; offset: number }
  | { verb: "PUT"; name: string; size: number; sha256: string; replace: boolean }
  | { verb: "READY" }
  | { verb: "CANCEL" }
  | { verb: "QUIT" }
  | { verb: "INVALID"; why: string };

export type Get = Extract<Command, { verb: "GET" }>;
export type Put = Extract<Command, { verb: "PUT" }>;

const USAGE = "LIST, GET name [offset], PUT name size sha256 [replace], READY, CANCEL or QUIT";
const WHOLE = /^\d{1,15}$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;

/** Reads one command line. Verbs may be typed in any case; words are separated by spaces. */
export function parseCommand(line: string): Command {
  const words = line.trim().split(/ +/);
  const verb = (words[0] ?? "").toUpperCase();
  const [name = "", second, third, fourth] = words.slice(1);
  const count = words.length - 1;
  if ((verb === "LIST" || verb === "READY" || verb === "CANCEL" || verb === "QUIT") && !count)
    return { verb };
  if (verb === "GET" && (count === 1 || count === 2)) {
    if (second !== undefined && !WHOLE.test(second))
      return invalid(`the offset must be a whole number of bytes (got "${second}")`);
    return { verb, name, offset: Number(second ?? 0) };
  }
  if (verb === "PUT" && (count === 3 || count === 4)) {
    if (!WHOLE.test(second ?? ""))
      return invalid(`the size must be a whole number of bytes (got "${second}")`);
    if (!SHA256.test(third ?? ""))
      return invalid("the SHA-256 must be 64 hex digits (sha256sum prints it)");
    if (fourth !== undefined && fourth.toLowerCase() !== "replace")
      return invalid(`the last word of PUT may only be "replace" (got "${fourth}")`);
    const sha256 = (third ?? "").toLowerCase();
    return { verb, name, size: Number(second), sha256, replace: fourth !== undefined };
  }
  if (line.trim() === "") return invalid(`an empty line: send ${USAGE}`);
  const known = ["LIST", "GET", "PUT", "READY", "CANCEL", "QUIT"].includes(verb);
  if (known) return invalid(`${verb} takes other words: send ${USAGE}`);
  return invalid(`unknown command "${printable(words[0] ?? "")}": send ${USAGE}`);
}

const invalid = (why: string): Command => ({ verb: "INVALID", why });

/**
 * The name rules, checked before a name goes near the file system. A name is a path
 * inside the shared folder, folders separated by "/", and one word (the command line is
 * split at spaces). Returns why a name is refused, or undefined when it may be used.
 */
export function checkName(name: string): string | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) return "give a file name";
  if (bytes > MAX_NAME_BYTES) return `the name is ${bytes} bytes long; at most ${MAX_NAME_BYTES}`;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name))
    return "a name may not contain control characters (NUL, newline, escape...)";
  if (name.includes("\\")) return "a name may not contain a backslash: folders are written with /";
  if (name.includes(" "))
    return "a name may not contain a space: a command's words are split at spaces";
  if (name.startsWith("/")) return "an absolute path: names are relative to the shared folder";
  for (const part of name.split("/")) {
    if (part === "") return "an empty folder name (// or a / at the end)";
    if (part === "..") return '".." would leave the shared folder';
    if (part.startsWith("."))
      return `"${part}" starts with a dot: hidden files (and . and ..) are not served`;
    if (Buffer.byteLength(part) > MAX_PART_BYTES)
      return `"${part.slice(0, 20)}..." is longer than ${MAX_PART_BYTES} bytes`;
  }
  return undefined;
}

/** One file of a listing. */
export interface Entry {
  name: string;
  size: number;
  /** Last modification, ISO 8601 in UTC, to the second. */
  modified: string;
}

/** The file a server offers after GET: its whole size and digest, and where sending starts. */
export interface Offer {
  name: string;
  size: number;
  sha256: string;
  offset: number;
}

/** The server's reply lines, each ending in "\n". */
export const reply = {
  listing(entries: Entry[]): string {
    const head = `OK ${entries.length} ${entries.length === 1 ? "file" : "files"}\n`;
    return (
      head + entries.map((entry) => `${entry.name} ${entry.size} ${entry.modified}\n`).join("")
    );
  },
  sending: (offer: Offer): string =>
    `SENDING_FILE ${offer.name} ${offer.size} ${offer.sha256} ${offer.offset}\n`,
  ready: (): string => "READY\n",
  ok: (text: string): string => `OK ${text}\n`,
  error: (sentence: string): string => `ERR ${sentence}\n`,
  bye: (): string => "BYE\n",
};

/** `OK 3 files` -> 3, or undefined for any other line. */
export function listingCount(line: string): number | undefined {
  const match = line.match(/^OK (\d+) files?$/);
  return match ? Number(match[1]) : undefined;
}

/** One `name size modified` line of a listing. */
export function parseEntry(line: string): Entry | undefined {
  const match = line.match(/^(\S+) (\d+) (\S+)$/);
  if (!match) return undefined;
  return { name: match[1] ?? "", size: Number(match[2]), modified: match[3] ?? "" };
}

/** `SENDING_FILE name size sha256 offset`, or undefined for any other line. */
export function parseOffer(line: string): Offer | undefined {
  const match = line.match(/^SENDING_FILE (\S+) (\d+) ([0-9a-f]{64}) (\d+)$/);
  if (!match) return undefined;
  const [, name = "", size, sha256 = "", offset] = match;
  return { name, size: Number(size), sha256, offset: Number(offset) };
}

/** The sentence of an `ERR` line, or undefined for any other line. */
export function errorOf(line: string): string | undefined {
  return line.startsWith("ERR ") ? line.slice(4) : undefined;
}

/** A name as it may be shown in a reply: control characters as `\xNN`, at most 80 chars. */
export function printable(text: string): string {
  const escaped = text.replace(
    /[\u0000-\u001f\u007f-\u009f]/g,
    (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return escaped.length > 80 ? `${escaped.slice(0, 77)}...` : escaped;
}

/**
 * A size for a person, the way the lab's format_bytes showed it, in binary units: 512 B,
 * 1.5 KiB, 10.0 MiB, 1.0 GiB. (The lab wrote KB for 1024 bytes; KiB says it exactly.)
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  // 1023.96 KiB would print as "1024.0 KiB": step up before rounding does it.
  while (value >= 1023.95 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
