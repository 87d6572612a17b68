/**
 * The client's side of the protocol, for the chapter's clients (03-client, 07-client): a
 * connection to a file server that sends command lines, reads reply lines, and hands the
 * raw bytes of a file, once announced, to whoever stores them. Taught in 03-client.
 *
 *   const channel = await Channel.open("127.0.0.1", 9009);
 *   const offer = parseOffer(await channel.ask("GET hello.txt"));
 *   channel.send("READY\n");
 *   await channel.receive(offer.size, (chunk) => writer.add(chunk));
 *
 * Every failure becomes a TransferError with one sentence a person can act on: the server's
 * own `ERR` sentence, a refused connection, a server that went quiet or closed mid-file.
 */
import type { Socket } from "bun";
import { openSync } from "node:fs";
import { connect, whyConnectFailed } from "../lib/cli.ts";
import { IdleTimer, LineReader, Outbox } from "../lib/stream.ts";
import { DiskWriter, FileSender } from "./disk.ts";
import { Progress } from "./progress.ts";
import { type Entry, errorOf, listingCount, MAX_LINE_BYTES, parseEntry } from "./protocol.ts";

/** A transfer that failed, in one sentence; the clients print it and exit 1. */
export class TransferError extends Error {}

/** Opens a local file, or throws a TransferError saying why it cannot be. */
export function openLocal(path: string, flags: string): number {
  try {
    return openSync(path, flags);
  } catch (error) {
    throw new TransferError(`cannot open ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
}

/** How long a client waits for a server that sends nothing before it gives up. */
export const QUIET_SECONDS = 30;

/** Where the bytes of a file go: a label for the progress bar, a place, a hasher. */
export interface ReceiveOptions {
  label: string;
  /** Where the first byte goes: 0, or the end of a `.part` being resumed. */
  position?: number;
  /** Hash into this one (it may hold a resumed part's bytes); null: do not hash. */
  hasher?: Bun.CryptoHasher | null;
}

interface Waiting {
  resolve: (line: string) => void;
  reject: (error: Error) => void;
}

interface Body {
  left: number;
  take: (chunk: Uint8Array) => void;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** One connection to a file server. */
export class Channel {
  private readonly reader = new LineReader(MAX_LINE_BYTES);
  private readonly lines: string[] = [];
  private waiting: Waiting | undefined;
  private body: Body | undefined;
  private failure: TransferError | undefined;
  private sending: FileSender | undefined;
  private outbox!: Outbox;
  private socket!: Socket<undefined>;
  private readonly quiet: IdleTimer;

  private constructor(
    readonly host: string,
    readonly port: number,
    quietSeconds: number,
  ) {
    this.quiet = new IdleTimer(quietSeconds * 1000, () => {
      this.fail(`${host}:${port} sent nothing for ${quietSeconds} s: giving up`);
      this.socket?.terminate();
    });
  }

  /** Connects, or throws a TransferError saying why not (refused, no route, no answer). */
  static async open(host: string, port: number, quietSeconds = QUIET_SECONDS): Promise<Channel> {
    const channel = new Channel(host, port, quietSeconds);
    try {
      channel.socket = await connect(host, port, {
        data: (_socket, chunk) => channel.receiveChunk(chunk),
        drain: () => {
          channel.outbox.flush();
          channel.sending?.pump();
        },
        close: () => channel.fail(`${host}:${port} closed the connection`),
        error: (_socket, error) => channel.fail(`${host}:${port}: ${error.message}`),
      });
    } catch (error) {
      channel.quiet.stop();
      throw new TransferError(await whyConnectFailed(error, host, port));
    }
    channel.outbox = new Outbox(channel.socket, { stallMs: quietSeconds * 1000 });
    return channel;
  }

  /** Sends a line (or bytes) to the server. */
  send(data: string | Uint8Array): void {
    this.outbox.send(data);
  }

  /** The server's next line. */
  line(): Promise<string> {
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** Sends a command and returns the reply's first line; an `ERR` reply throws its sentence. */
  async ask(command: string): Promise<string> {
    this.send(`${command}\n`);
    const answer = await this.line();
    const refused = errorOf(answer);
    if (refused !== undefined) throw new TransferError(`the server says: ${refused}`);
    return answer;
  }

  /** LIST: the server's files. */
  async list(): Promise<Entry[]> {
    const answer = await this.ask("LIST");
    const count = listingCount(answer);
    if (count === undefined) throw new TransferError(`the server answered LIST with "${answer}"`);
    const entries: Entry[] = [];
    for (let i = 0; i < count; i++) {
      const line = await this.line();
      const entry = parseEntry(line);
      if (!entry) throw new TransferError(`the server listed "${line}", which is no file line`);
      entries.push(entry);
    }
    return entries;
  }

  /**
   * After READY: the next `size` bytes into `fd` from `position` on (disk.ts's DiskWriter,
   * hashing into `hasher`; the socket is held while the disk is behind), with a progress bar
   * labelled `label`. Resolves with the writer (its digest, its counts) once all are on disk;
   * on failure, the bytes that came are on disk too. Taught in 03-client.
   */
  async receiveFile(size: number, fd: number, options: ReceiveOptions): Promise<DiskWriter> {
    const { label, position = 0, hasher } = options;
    const writer = new DiskWriter(fd, {
      position,
      hasher,
      pause: () => this.hold(),
      resume: () => this.release(),
    });
    const progress = new Progress(label, position + size, position);
    try {
      await this.receive(size, (chunk) => {
        writer.add(chunk);
        progress.update(position + writer.received);
      });
    } finally {
      await writer.finish().catch(() => {});
      progress.finish(position + writer.received);
    }
    if (writer.failed) throw new TransferError(`cannot write ${label}: ${writer.failed.code}`);
    return writer;
  }

  /**
   * PUT: announces the file, waits for READY, sends it, and returns the server's verdict
   * (`OK stored...`); an `ERR` (a digest that does not match, a full disk) throws its sentence.
   */
  async put(fd: number, size: number, name: string, sha256: string, replace: boolean) {
    const ready = await this.ask(`PUT ${name} ${size} ${sha256}${replace ? " replace" : ""}`);
    if (ready !== "READY") throw new TransferError(`the server answered PUT with "${ready}"`);
    const progress = new Progress(name, size);
    // An early answer (the disk is full) stops the sending; it is the line read below.
    await this.sendFile(fd, 0, size, (next) => progress.update(next)).catch(() => {});
    progress.finish(size);
    const answer = await this.line();
    const refused = errorOf(answer);
    if (refused !== undefined) throw new TransferError(`the server says: ${refused}`);
    return answer;
  }

  /** Hands the next `size` bytes from the server to `take`; resolves once all have come. */
  receive(size: number, take: (chunk: Uint8Array) => void): Promise<void> {
    if (size === 0) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.body = { left: size, take, resolve, reject };
    });
  }

  /**
   * Sends bytes [from, to) of an open file, one buffer at a time, as the socket takes them.
   * A line from the server before the end (an ERR: the disk is full) stops it; that line is
   * then the next `line()`.
   */
  async sendFile(
    fd: number,
    from: number,
    to: number,
    onProgress?: (next: number) => void,
  ): Promise<void> {
    const sender = new FileSender(this.outbox, fd, from, to, (next) => {
      this.quiet.touch();
      onProgress?.(next);
    });
    this.sending = sender;
    try {
      sender.pump();
      await sender.done;
    } finally {
      this.sending = undefined;
    }
  }

  /** Stop reading for now (the disk is behind), and read again. */
  hold(): void {
    this.outbox.hold();
  }

  release(): void {
    this.outbox.release();
  }

  /** Says QUIT, then closes; never fails. */
  close(): void {
    this.quiet.stop();
    if (this.failure) return;
    this.failure = new TransferError("the connection was closed");
    this.send("QUIT\n");
    this.outbox.end();
  }

  private receiveChunk(chunk: Uint8Array): void {
    this.quiet.touch();
    let rest = chunk;
    const body = this.body;
    if (body) {
      const part = rest.length <= body.left ? rest : rest.subarray(0, body.left);
      body.left -= part.length;
      body.take(part);
      rest = rest.subarray(part.length);
      if (body.left === 0) {
        this.body = undefined;
        body.resolve();
      }
    }
    if (rest.length === 0) return;
    for (const line of this.reader.push(rest)) this.lines.push(line);
    if (this.reader.tooLong)
      this.fail(`${this.host}:${this.port} sent a line too long to be a reply`);
    if (this.lines.length > 0) this.sending?.stop(new TransferError("the server answered early"));
    const waiting = this.waiting;
    const next = this.lines.shift();
    if (waiting && next !== undefined) {
      this.waiting = undefined;
      waiting.resolve(next);
    } else if (next !== undefined) this.lines.unshift(next);
  }

  /** Every pending wait fails with `sentence`; later ones fail at once. */
  private fail(sentence: string): void {
    if (this.failure) return;
    this.failure = new TransferError(sentence);
    this.quiet.stop();
    const body = this.body;
    const waiting = this.waiting;
    this.body = undefined;
    this.waiting = undefined;
    if (body)
      body.reject(new TransferError(`${sentence}, ${body.left} bytes before the end of the file`));
    waiting?.reject(this.failure);
    this.sending?.stop(this.failure);
  }
}
