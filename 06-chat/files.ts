/**
 * Files for the chat's clients (06-chat/11-chat-client), the wire of lesson 05 seen from the
 * other end: a download, written to a hidden part file as its `DATA` lines arrive and kept
 * under its own name only if its size and SHA-256 are the ones its `FILE` line announced; a
 * file to send, read one chunk at a time so that even a big one never sits in memory; and
 * `Transfers`, which runs both over one connection.
 */
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, join } from "node:path";
import type { ChatConnection } from "./connection.ts";
import {
  CHUNK_BYTES,
  clientLine,
  IncomingFile,
  type ServerEvent,
  safeFileName,
} from "./protocol.ts";

/** What became of a download: saved at `path`, or dropped and why. */
export type Saved = { saved: true; path: string } | { saved: false; why: string };

export class Download {
  private readonly file: IncomingFile;
  private readonly part: string;
  private fd: number | undefined;

  /** `name` comes from the wire, where protocol.ts allows no path and no leading dot. */
  constructor(
    private readonly folder: string,
    readonly id: number,
    readonly name: string,
    size: number,
    sha256: string,
  ) {
    this.file = new IncomingFile(size, sha256);
    mkdirSync(folder, { recursive: true });
    this.part = join(folder, `.${name}.${id}.part`);
    rmSync(this.part, { force: true });
    // O_NOFOLLOW and O_EXCL: never write through a link someone left in the folder.
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    this.fd = openSync(this.part, flags, 0o600);
  }

  get received(): number {
    return this.file.received;
  }

  /** Writes one chunk; false if it goes past the announced size. */
  add(bytes: Uint8Array): boolean {
    if (this.fd === undefined || !this.file.add(bytes)) return false;
    writeSync(this.fd, bytes);
    return true;
  }

  /** The last chunk is in: keep the file under its name if it is the one announced. */
  finish(): Saved {
    this.closeFile();
    if (!this.file.complete) {
      this.abort();
      return { saved: false, why: `${this.file.received} of ${this.file.size} bytes arrived` };
    }
    const digest = this.file.digest();
    if (digest !== this.file.sha256) {
      this.abort();
      return { saved: false, why: `its SHA-256 is ${digest}, not ${this.file.sha256}` };
    }
    const path = freeName(this.folder, this.name);
    renameSync(this.part, path);
    return { saved: true, path };
  }

  /** Drops what arrived (a broken connection, a wrong file). */
  abort(): void {
    this.closeFile();
    rmSync(this.part, { force: true });
  }

  private closeFile(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** `report.pdf`, or `report-1.pdf`... if that name is taken: nothing is overwritten. */
function freeName(folder: string, name: string): string {
  const dot = name.lastIndexOf(".");
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  let path = join(folder, name);
  for (let n = 1; existsSync(path); n++) path = join(folder, `${stem}-${n}${extension}`);
  return path;
}

/** A file to send: its name on the wire, size and SHA-256, then its chunks in order. */
export class Outgoing {
  readonly name: string;
  readonly size: number;
  sent = 0;
  private fd: number | undefined;
  private readonly buffer = Buffer.alloc(CHUNK_BYTES);

  private constructor(
    readonly path: string,
    readonly sha256: string,
    fd: number,
    size: number,
  ) {
    this.fd = fd;
    this.size = size;
    this.name = safeFileName(basename(path));
  }

  /** Opens `path` and hashes it (reading it once, in chunks). Throws a sentence if it cannot. */
  static async open(path: string): Promise<Outgoing> {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (error) {
      throw new Error(`cannot read ${path} (${(error as NodeJS.ErrnoException).code})`);
    }
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      closeSync(fd);
      throw new Error(`${path} is not a file`);
    }
    const hasher = new Bun.CryptoHasher("sha256");
    for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
    return new Outgoing(path, hasher.digest("hex"), fd, stat.size);
  }

  /** The next chunk (a view of one reused buffer: send it before asking again), or none. */
  next(): Uint8Array | undefined {
    if (this.fd === undefined || this.sent >= this.size) return undefined;
    const count = readSync(this.fd, this.buffer, 0, CHUNK_BYTES, this.sent);
    if (count === 0) return undefined;
    this.sent += count;
    return this.buffer.subarray(0, count);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The events of a file: its announcement, its chunks, its end. */
type FileEvent = Extract<ServerEvent, { kind: "file" | "data" | "end" }>;

/**
 * The files of one client over its connection: what it offers (`/send NICK PATH`: hashed,
 * announced with `/file`, then sent in chunks once the server says go, paced by the outbox so
 * chat lines pass between them) and what it receives (saved, checked, then acknowledged).
 * A file whose SHA-256 is wrong is not acknowledged: the server keeps it and sends it again.
 */
export class Transfers {
  private readonly downloads = new Map<number, Download>();
  private outgoing: { file: Outgoing; sending: boolean } | undefined;

  constructor(
    private readonly folder: string,
    private readonly show: (line: string) => void,
  ) {}

  /** `/send NICK PATH`: hash the file, then offer it. */
  async offer(connection: ChatConnection, to: string, path: string): Promise<void> {
    if (this.outgoing) {
      this.show("! one file at a time: the last one is still on its way");
      return;
    }
    try {
      const file = await Outgoing.open(path);
      this.outgoing = { file, sending: false };
      connection.send(clientLine.file(to, file.name, file.size, file.sha256));
      this.show(`* offering ${file.name} (${file.size} bytes) to ${to}`);
    } catch (error) {
      this.show(`! ${(error as Error).message}`);
    }
  }

  /** An OK or ERR: the server's go-ahead for our file starts its chunks; its verdict ends it. */
  answer(connection: ChatConnection, event: Extract<ServerEvent, { kind: "ok" | "err" }>): void {
    const outgoing = this.outgoing;
    if (!outgoing) return;
    if (event.kind === "ok" && !event.text.startsWith(`file ${outgoing.file.name}: `)) return;
    if (event.kind === "err" && event.code !== "file" && event.code !== "checksum") return;
    if (event.kind === "ok" && / send \d+ bytes in \/data lines$/.test(event.text)) {
      outgoing.sending = true;
      this.pump(connection);
      return;
    }
    outgoing.file.close();
    this.outgoing = undefined;
  }

  /** Sends chunks while less than 256 KiB wait; `drain` (or the next turn) sends more. */
  pump(connection: ChatConnection): void {
    const outgoing = this.outgoing;
    if (!outgoing?.sending || connection.closed) return;
    while (connection.outbox.queuedBytes < 256 * 1024) {
      const chunk = outgoing.file.next();
      if (!chunk) {
        // All of it is out: the server's verdict (OK or ERR) comes next.
        outgoing.sending = false;
        return;
      }
      connection.send(clientLine.data(chunk));
    }
    setImmediate(() => {
      if (connection.outbox.queuedBytes < 256 * 1024) this.pump(connection);
    });
  }

  /** FILE, DATA, END: a file for us, saved only if it is the one announced. */
  receive(connection: ChatConnection, event: FileEvent): void {
    if (event.kind === "file") {
      try {
        const { id, name, size, sha256 } = event;
        this.downloads.set(id, new Download(this.folder, id, name, size, sha256));
        this.show(`* receiving ${event.name} (${event.size} bytes) from ${event.from}`);
      } catch (error) {
        this.show(`! cannot save ${event.name} in ${this.folder}: ${(error as Error).message}`);
      }
      return;
    }
    const download = this.downloads.get(event.id);
    if (!download || (event.kind === "data" && download.add(event.bytes))) return;
    this.downloads.delete(event.id);
    const result = event.kind === "end" ? download.finish() : tooMuch(download);
    if (!result.saved) this.show(`! ${download.name} was not saved: ${result.why}`);
    else {
      this.show(`* saved ${result.path} (${download.received} bytes, SHA-256 checked)`);
      connection.ack(event.id);
    }
  }

  /** The connection is gone: half-received files are dropped, a half-sent one abandoned. */
  drop(): void {
    for (const download of this.downloads.values()) download.abort();
    this.downloads.clear();
    if (this.outgoing) this.show(`! sending ${this.outgoing.file.name} was cut off: send it again`);
    this.outgoing?.file.close();
    this.outgoing = undefined;
  }
}

function tooMuch(download: Download): Saved {
  download.abort();
  return { saved: false, why: "more bytes than announced" };
}
