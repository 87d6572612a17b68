/**
 * The server loop of a line protocol: every server of the book after 04-server/08-slow-reader
 * that reads lines uses it by name. Lessons 03 to 08 of 04-server build it by hand, one
 * concern each; here they are together, so a later server shows only its protocol:
 *
 *   serveLines({ host, port, line: (client, line) => client.send(`${answer(line)}\n`) })
 *
 * For each client it keeps a LineReader (lines framed, at most `maxLineBytes`), an Outbox
 * (replies written as the kernel takes them; reading paused while they pile up) and an
 * IdleTimer (touched by complete lines only). It answers a client's lines a turn at a time
 * (at most `linesPerTurn`, then the other clients first), never while that client's replies
 * wait unread, and survives the client that resets before anything happened. When a client
 * half-closes, its last line counts even without "\n", and the server closes its side once
 * the replies are out.
 *
 * `connectLines()` is the client's side: a connection whose lines are awaited one by one (or
 * walked with `for await`), as Go's bufio.Scanner or Python's `makefile()` give them.
 */
import type { Socket, TCPSocketListener } from "bun";
import { connect, peerOf, timeoutError } from "./cli.ts";
import { IdleTimer, LineReader, MAX_LINE_BYTES, Outbox } from "./stream.ts";

/** One client of a line server, as the protocol sees it. */
export interface LineClient<State> {
  /** Its address and port, or `?` for one that reset before Bun learned them. */
  readonly peer: string;
  /** How many lines it has sent so far. */
  readonly lines: number;
  /** Whatever `open` returned for this client. */
  state: State;
  /** Queues a reply (text goes as UTF-8). */
  send(data: string | Uint8Array): void;
  /** Sends `last`, if given, then closes our side once everything is written. */
  end(last?: string | Uint8Array): void;
  /** True once `end` was called. */
  readonly ended: boolean;
  /** A place for a reply computed later (Outbox.reserve): replies keep their order. */
  reserve(): (data: string | Uint8Array) => void;
  /** Stop reading this client for now (Outbox.hold); `release()` goes on. */
  hold(): void;
  release(): void;
  /** The socket itself, for what the protocol needs beyond lines. */
  readonly socket: Socket<unknown>;
}

export interface LineServerOptions<State, Line> {
  host: string;
  port: number;
  /** The longest line, in bytes; a longer one calls `tooLong`. */
  maxLineBytes?: number;
  /** A client that sends no complete line for this long calls `idle`. */
  idleSeconds?: number;
  /** Replies waiting unread, in bytes, past which its lines are not answered. */
  highWater?: number;
  /** Lines answered for one client before the others get their turn. */
  linesPerTurn?: number;
  /** How a line's bytes become a Line: text (UTF-8) unless given. */
  decode?: (bytes: Buffer) => Line;
  /** A new client: what is kept for it (its `state`). */
  open?: (client: LineClient<undefined>) => State;
  /** One complete line. */
  line: (client: LineClient<State>, line: Line) => void;
  /** A line over `maxLineBytes`: by default the connection is closed, without a word. */
  tooLong?: (client: LineClient<State>) => void;
  /** `idleSeconds` without a line: by default the connection is closed, without a word. */
  idle?: (client: LineClient<State>) => void;
  /** The client is gone, and why: "left", or what the outbox gave up on. */
  close?: (client: LineClient<State>, why: string) => void;
}

export interface LineServer {
  tcp: TCPSocketListener<unknown>;
  /** Stops listening and closes every connection. */
  stop(): void;
}

/** Per connection: the client the protocol sees, and the loop's own parts. */
interface Connection<State, Line> {
  client: Client<State>;
  reader: LineReader<Line>;
  idle: IdleTimer;
  finished: boolean;
  turnPending: boolean;
  why: string;
}

class Client<State> implements LineClient<State> {
  lines = 0;
  state = undefined as State;
  constructor(
    readonly peer: string,
    readonly socket: Socket<unknown>,
    readonly outbox: Outbox,
  ) {}
  send(data: string | Uint8Array): void {
    this.outbox.send(data);
  }
  end(last?: string | Uint8Array): void {
    if (last !== undefined) this.outbox.send(last);
    this.outbox.end();
  }
  get ended(): boolean {
    return this.outbox.ended;
  }
  reserve(): (data: string | Uint8Array) => void {
    return this.outbox.reserve();
  }
  hold(): void {
    this.outbox.hold();
  }
  release(): void {
    this.outbox.release();
  }
}

/** Listens on host:port and runs `options.line` for every line of every client. */
export function serveLines<State = undefined, Line = string>(
  options: LineServerOptions<State, Line>,
): LineServer {
  const {
    maxLineBytes = MAX_LINE_BYTES,
    idleSeconds = 60,
    highWater = 1 << 20,
    linesPerTurn = 1024,
  } = options;
  type Data = Connection<State, Line> | undefined;

  /** Answers the lines waiting, a turn at a time, as long as the client reads its replies. */
  function answer(connection: Connection<State, Line>): void {
    const { client, reader } = connection;
    if (connection.turnPending || client.ended || client.outbox.full) return;
    let answered = 0;
    // take(), not for...of: no generator step for every line of a busy client.
    for (let line = reader.take(); line !== undefined; line = reader.take()) {
      client.lines++;
      options.line(client, line);
      answered++;
      if (answered === linesPerTurn || client.outbox.full || client.ended) break;
    }
    if (answered > 0) connection.idle.touch();
    if (client.ended || client.outbox.full) return;
    if (answered === linesPerTurn) {
      // More may wait: the other clients first. Not read meanwhile, so memory stays bounded.
      connection.turnPending = true;
      client.hold();
      setImmediate(() => {
        connection.turnPending = false;
        client.release();
        answer(connection);
      });
    } else if (reader.tooLong) {
      connection.why = "sent a line too long";
      if (options.tooLong) options.tooLong(client);
      else client.end();
    } else if (connection.finished) {
      // Its FIN ends its last line, even without "\n"; then we are done too.
      const last = reader.rest();
      if (last !== undefined) {
        client.lines++;
        options.line(client, last);
      }
      client.end();
    }
  }

  const listener = Bun.listen<Data>({
    hostname: options.host,
    port: options.port,
    // A client may send its last line, then FIN, and still want the reply.
    allowHalfOpen: true,
    socket: {
      open(socket) {
        const peer = peerOf(socket);
        const connection: Connection<State, Line> = {
          client: new Client(
            peer,
            socket,
            new Outbox(socket, {
              highWater,
              onGiveUp: (why) => {
                connection.why = why;
              },
            }),
          ),
          reader: new LineReader<Line>(maxLineBytes, options.decode),
          idle: new IdleTimer(idleSeconds * 1000, () => {
            connection.why = `sent no line for ${idleSeconds} s`;
            if (options.idle) options.idle(connection.client);
            else connection.client.end();
          }),
          finished: false,
          turnPending: false,
          why: "left",
        };
        socket.data = connection;
        const opened = options.open?.(connection.client as LineClient<undefined>);
        connection.client.state = opened as State;
      },
      data(socket, chunk) {
        const connection = socket.data;
        if (!connection || connection.client.ended) return;
        connection.reader.push(chunk);
        answer(connection);
      },
      // The kernel took our replies: answer the lines that waited for room.
      drain(socket) {
        const connection = socket.data;
        if (!connection) return;
        connection.client.outbox.flush();
        answer(connection);
      },
      end(socket) {
        const connection = socket.data;
        if (!connection) return;
        connection.finished = true;
        answer(connection);
      },
      // A client that resets at once may be gone before `open` ran: no data then.
      close(socket) {
        const connection = socket.data;
        if (!connection) return;
        connection.idle.stop();
        options.close?.(connection.client, connection.why);
      },
      error() {},
    },
  });
  return { tcp: listener as TCPSocketListener<unknown>, stop: () => listener.stop(true) };
}

/** The client's side: a connection read as lines, written as text. */
export interface LineConnection {
  /** Queues text (or bytes) for the server; written as the kernel takes it. */
  send(data: string | Uint8Array): void;
  /**
   * The next line from the server, or undefined once it has closed and every line was
   * read. Rejects with ETIMEDOUT when `timeoutMs` passes first.
   */
  next(timeoutMs?: number): Promise<string | undefined>;
  /** Every line, until the server closes: `for await (const line of server)`. */
  [Symbol.asyncIterator](): AsyncIterator<string>;
  /** Nothing more to send: FIN once the queue is written; lines still arrive. */
  end(): void;
  /** Drops the connection at once. */
  close(): void;
  /** The local and remote ends, as the socket sees them. */
  readonly socket: Socket<unknown>;
}

/**
 * Opens a TCP connection (lib/cli.ts `connect`, with its time limit) and reads it as lines.
 * Lines wait in a queue until asked for; past `maxQueuedLines` of them the socket is paused,
 * so a server that talks faster than we read cannot fill our memory either.
 */
export async function connectLines(
  host: string,
  port: number,
  { maxLineBytes = MAX_LINE_BYTES, connectTimeoutMs = 5_000, maxQueuedLines = 10_000 } = {},
): Promise<LineConnection> {
  const reader = new LineReader(maxLineBytes);
  const lines: string[] = [];
  let finished = false;
  let failure: Error | undefined;
  let wake: () => void = () => {};
  let outbox: Outbox | undefined;
  let paused = false;
  const arrived = (): void => {
    const waiting = wake;
    wake = () => {};
    waiting();
  };
  const socket = await connect(
    host,
    port,
    {
      data(_socket, chunk) {
        for (const line of reader.push(chunk)) lines.push(line);
        if (reader.tooLong)
          failure = new Error(`the server sent a line over ${maxLineBytes} bytes`);
        if (lines.length > maxQueuedLines && !paused) {
          paused = true;
          outbox?.hold();
        }
        arrived();
      },
      drain() {
        outbox?.flush();
      },
      end() {
        const last = reader.rest();
        if (last !== undefined) lines.push(last);
        finished = true;
        arrived();
      },
      close() {
        finished = true;
        arrived();
      },
      error(_socket, error) {
        failure = error;
        arrived();
      },
    },
    connectTimeoutMs,
  );
  outbox = new Outbox(socket, { graceMs: Number.POSITIVE_INFINITY });
  const box = outbox;

  async function next(timeoutMs = Number.POSITIVE_INFINITY): Promise<string | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const line = lines.shift();
      if (line !== undefined) {
        if (paused && lines.length < maxQueuedLines / 2) {
          paused = false;
          box.release();
        }
        return line;
      }
      if (failure) throw failure;
      if (finished) return undefined;
      const left = deadline - performance.now();
      if (left <= 0) throw timeoutError(timeoutMs);
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(left) ? setTimeout(resolve, left) : undefined;
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  return {
    socket,
    send: (data) => box.send(data),
    next,
    async *[Symbol.asyncIterator]() {
      for (let line = await next(); line !== undefined; line = await next()) yield line;
    },
    end: () => box.end(),
    close: () => socket.terminate(),
  };
}
