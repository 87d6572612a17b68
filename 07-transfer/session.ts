/**
 * One client of a file server, as every server lesson of the chapter (02, 05, 06) keeps it:
 * command lines in, reply lines out, and the raw bytes of an upload routed past the line
 * reader. A lesson gives `sessions()` the function that runs one command line; this page
 * holds what every command shares. Taught in 02-get-server.
 *
 * - One command at a time, in order. A command that takes a while (a file being hashed,
 *   sent or received) returns a promise; until it settles the client's next lines wait,
 *   and its input is held (`Outbox.hold`), so a client cannot pile up work or memory.
 * - Replies go through lib's Outbox; while it is full no more lines are read, so a client
 *   that sends commands and never reads the answers stalls only itself.
 * - `throw new Refused(sentence)` anywhere in a command: the client gets `ERR sentence`
 *   and the connection stays usable.
 * - A client quiet for `idleSeconds` (no line, no byte of a file) is told so and closed.
 */
import type { Socket, SocketHandler } from "bun";
import { closeSync } from "node:fs";
import { peerOf } from "../lib/cli.ts";
import { IdleTimer, LineReader, Outbox } from "../lib/stream.ts";
import { DiskWriter, FileSender } from "./disk.ts";
import { MAX_LINE_BYTES, Refused, reply } from "./protocol.ts";

/** Runs one command line. A returned promise holds the client's next lines until it settles. */
export type Handler = (session: Session, line: string) => void | Promise<void>;

export interface SessionOptions {
  idleSeconds: number;
  log: (line: string) => void;
}

/** The most commands one client may run in one turn of the event loop before others go. */
const COMMANDS_PER_TURN = 64;

/** Bun's socket handlers for a file server whose commands `handle` runs. */
export function sessions(handle: Handler, options: SessionOptions): SocketHandler<Session> {
  return {
    open(socket) {
      socket.data = new Session(socket, handle, options);
    },
    data(socket, chunk) {
      socket.data.receive(chunk);
    },
    drain(socket) {
      socket.data.drain();
    },
    end(socket) {
      // A client that resets at once may close before `open` gave it a session.
      socket.data?.peerFinished();
    },
    close(socket) {
      socket.data?.close();
    },
    error() {},
  };
}

/** The file a GET offered, until the client says READY or CANCEL. */
export interface Offered {
  name: string;
  fd: number;
  from: number;
  to: number;
}

/** Bytes of an upload on their way: how many are still owed, and who takes them. */
interface Body {
  left: number;
  take: (chunk: Uint8Array) => void;
  done: () => void;
  failed: (error: Error) => void;
}

/** One connected client. */
export class Session {
  readonly peer: string;
  readonly outbox: Outbox;
  readonly idle: IdleTimer;
  /** Set by GET, used by READY, closed by CANCEL or when the client leaves. */
  offered: Offered | undefined;
  /** Called on `drain`: a file being sent refills the outbox from here. */
  private onDrain: (() => void) | undefined;
  closed = false;
  private readonly reader = new LineReader(MAX_LINE_BYTES);
  private busy = false;
  private body: Body | undefined;
  private finished = false;
  private readonly cleanups = new Set<() => void>();

  constructor(
    socket: Socket<Session>,
    private readonly handle: Handler,
    private readonly options: SessionOptions,
  ) {
    this.peer = peerOf(socket);
    const idleMs = options.idleSeconds * 1000;
    this.outbox = new Outbox(socket, { stallMs: idleMs });
    this.idle = new IdleTimer(idleMs, () => {
      // A client that took none of its file for that long cannot be told: its side is full.
      if (this.outbox.queuedBytes > 0) socket.terminate();
      else {
        this.send(reply.error(`nothing for ${options.idleSeconds} s: closing`));
        this.outbox.end();
      }
    });
  }

  log(line: string): void {
    this.options.log(`${this.peer}: ${line}`);
  }

  send(data: string | Uint8Array): void {
    this.outbox.send(data);
  }

  /** Sends what is queued, then FIN; lines after this are not run. */
  end(): void {
    this.outbox.end();
  }

  /** Forgets the file a GET offered (CANCEL, a new GET, the client left), and closes it. */
  dropOffer(): void {
    if (!this.offered) return;
    closeSync(this.offered.fd);
    this.offered = undefined;
  }

  /** Runs `cleanup` when the client leaves (closes a file, deletes a temporary one). */
  onClose(cleanup: () => void): () => void {
    this.cleanups.add(cleanup);
    return () => this.cleanups.delete(cleanup);
  }

  /**
   * Sends bytes [from, to) of an open file (disk.ts's FileSender: one buffer, refilled only
   * when the socket has taken all of it), and resolves once the kernel has every byte.
   */
  async sendFile(fd: number, from: number, to: number): Promise<void> {
    const sender = new FileSender(this.outbox, fd, from, to, () => this.idle.touch());
    const leave = this.onClose(() => sender.stop(new Error("the client left")));
    this.onDrain = () => sender.pump();
    try {
      sender.pump();
      await sender.done;
    } finally {
      this.onDrain = undefined;
      leave();
    }
  }

  /**
   * Writes the next `size` bytes the client sends into `fd` (disk.ts's DiskWriter: a
   * megabyte at a time, the input held while the disk is behind) and returns their SHA-256.
   * A write that fails (ENOSPC: the disk is full) is handed to `failed` at once; the rest of
   * the bytes are then read and dropped, and the result is undefined. Taught in 05-put.
   */
  async receiveFile(
    fd: number,
    size: number,
    failed: (error: NodeJS.ErrnoException) => void,
  ): Promise<string | undefined> {
    const writer = new DiskWriter(fd, {
      pause: () => this.outbox.hold(),
      resume: () => this.outbox.release(),
      onError: failed,
    });
    await this.receiveBody(size, (chunk) => writer.add(chunk));
    await writer.finish().catch(() => {});
    return writer.failed ? undefined : (writer.hasher?.digest("hex") ?? "");
  }

  /**
   * Routes the next `size` bytes the client sends to `take`, and resolves once they have all
   * passed. Call it right after sending READY: bytes that came before READY mean the client
   * did not wait for it, and could have been a file read as commands, so it is cut off.
   */
  receiveBody(size: number, take: (chunk: Uint8Array) => void): Promise<void> {
    if (this.reader.buffered > 0) {
      this.send(reply.error("send a file's bytes only after READY: closing"));
      this.end();
      return Promise.reject(new Error("bytes before READY"));
    }
    if (size === 0) return Promise.resolve();
    // The command running holds the input; the body must be read.
    this.outbox.release();
    return new Promise((done, failed) => {
      this.body = { left: size, take, done, failed };
    });
  }

  receive(chunk: Uint8Array): void {
    let rest = chunk;
    const body = this.body;
    if (body) {
      const part = rest.length <= body.left ? rest : rest.subarray(0, body.left);
      body.left -= part.length;
      this.idle.touch();
      body.take(part);
      rest = rest.subarray(part.length);
      if (body.left === 0) {
        this.body = undefined;
        this.outbox.hold();
        body.done();
      }
    }
    if (rest.length === 0) return;
    this.reader.push(rest);
    this.next();
  }

  drain(): void {
    this.outbox.flush();
    this.onDrain?.();
    this.next();
  }

  /** The client sent FIN: run the lines it sent, then close our side too. */
  peerFinished(): void {
    this.finished = true;
    this.stopBody(new Refused("the client closed before sending the whole file"));
    this.next();
  }

  close(): void {
    this.closed = true;
    this.idle.stop();
    this.stopBody(new Error("the client left"));
    this.dropOffer();
    for (const cleanup of this.cleanups) cleanup();
    this.cleanups.clear();
  }

  /** An upload that will not complete: its command hears why, and holds the input again. */
  private stopBody(why: Error): void {
    const body = this.body;
    if (!body) return;
    this.body = undefined;
    this.outbox.hold();
    body.failed(why);
  }

  /** Runs the lines that are complete, one command at a time, while the client reads. */
  private next(): void {
    let ran = 0;
    while (!this.busy && !this.closed && !this.outbox.ended && !this.outbox.full) {
      if (ran === COMMANDS_PER_TURN) {
        // A pipelined flood of commands: the other clients get this turn, and this one's
        // input is held meanwhile, so its unread lines cannot pile up.
        this.outbox.hold();
        setImmediate(() => {
          this.outbox.release();
          this.next();
        });
        return;
      }
      const line = this.reader[Symbol.iterator]().next();
      const text = line.done ? (this.finished ? this.reader.rest() : undefined) : line.value;
      if (this.reader.tooLong) {
        this.send(reply.error(`a line longer than ${MAX_LINE_BYTES} bytes: closing`));
        this.end();
        return;
      }
      if (text === undefined) break;
      ran++;
      this.idle.touch();
      this.run(text);
    }
    if (this.finished && !this.busy && this.reader.buffered === 0) this.end();
  }

  private run(line: string): void {
    let running: void | Promise<void>;
    try {
      running = this.handle(this, line);
    } catch (error) {
      this.refuse(error);
      return;
    }
    if (!(running instanceof Promise)) return;
    this.busy = true;
    this.outbox.hold();
    running
      .catch((error: unknown) => this.refuse(error))
      .finally(() => {
        this.busy = false;
        this.outbox.release();
        this.idle.touch();
        this.next();
      });
  }

  /** A Refused is the client's answer; anything else is our bug, logged and answered. */
  private refuse(error: unknown): void {
    if (this.closed) return;
    if (error instanceof Refused) {
      this.send(reply.error(error.message));
      return;
    }
    this.log(`failed: ${(error as Error).message}`);
    this.send(reply.error(`the server failed: ${(error as Error).message}`));
  }
}
