/**
 * A client's connection to the chat server, for every program that speaks the chat: the
 * terminal client (06-chat/11-chat-client), the benchmark, and this chapter's bridges.
 * It connects, waits for `HELLO`, logs in, and resolves once the server says `OK`; from then
 * on every server line reaches `onEvent` as an event (protocol.ts), `PING` is answered by
 * itself, and acknowledgements go out in batches. What to do when it closes (reconnect, or
 * not) is its owner's business.
 */
import type { Socket } from "bun";
import { connect } from "../lib/cli.ts";
import { LineReader, Outbox } from "../lib/stream.ts";
import { clientLine, MAX_LINE_BYTES, parseServerLine, type ServerEvent } from "./protocol.ts";

/** The server said no to the login: `forGood` for a wrong password or a bad nick. */
export class LoginRefused extends Error {
  readonly forGood: boolean;

  constructor(
    readonly code: string,
    text: string,
  ) {
    super(`${code}: ${text}`);
    this.forGood = ["password", "nick", "login"].includes(code);
  }
}

export interface ConnectionHandlers {
  /** Every server line from the login's `OK` on (that one included), with its connection. */
  onEvent: (event: ServerEvent, connection: ChatConnection) => void;
  /** The connection is over, whoever closed it (after a successful login only). */
  onClose?: (connection: ChatConnection) => void;
  /** The socket took what waited: a sender of big things may send more. */
  onDrain?: (connection: ChatConnection) => void;
}

export class ChatConnection {
  readonly outbox: Outbox;
  loggedIn = false;
  closed = false;
  private readonly lines = new LineReader(MAX_LINE_BYTES);
  private acks: number[] = [];

  private constructor(
    private readonly socket: Socket<undefined>,
    private readonly login: string,
    private readonly handlers: ConnectionHandlers,
    private readonly settle: { ok: () => void; refuse: (error: Error) => void },
  ) {
    this.outbox = new Outbox(socket);
  }

  /**
   * Connects to host:port and logs in as `nick`. Rejects with LoginRefused if the server
   * refuses, or with the connect's own error (ECONNREFUSED, ETIMEDOUT...) if it is not there.
   */
  static async open(
    host: string,
    port: number,
    nick: string,
    password: string,
    handlers: ConnectionHandlers,
  ): Promise<ChatConnection> {
    let connection: ChatConnection | undefined;
    let settle = { ok: (): void => {}, refuse: (_error: Error): void => {} };
    const loggedIn = new Promise<void>((ok, refuse) => {
      settle = { ok, refuse };
    });
    const login = clientLine.login(nick, password);
    await connect(host, port, {
      open: (socket) => {
        connection = new ChatConnection(socket, login, handlers, settle);
      },
      data: (_socket, chunk) => connection?.read(chunk),
      drain: () => connection?.drained(),
      close: () => connection?.ended(),
      error: () => {},
    });
    await loggedIn;
    if (!connection) throw new Error("the connection closed before it opened");
    return connection;
  }

  /** Sends a line (or several), as the protocol writes them: `clientLine.*` ends each with "\n". */
  send(text: string): void {
    if (!this.closed) this.outbox.send(text);
  }

  /** Acknowledges a stored message or file; the ids of one turn go out in one `/ack` line. */
  ack(id: number): void {
    this.acks.push(id);
    if (this.acks.length > 1) return;
    queueMicrotask(() => this.send(clientLine.ack(this.acks.splice(0))));
  }

  /** Closes (the server's answer to a /quit closes it too). */
  close(): void {
    this.socket.end();
  }

  private read(chunk: Uint8Array): void {
    for (const line of this.lines.push(chunk)) this.hear(parseServerLine(line));
    if (this.lines.tooLong) this.socket.end();
  }

  /** HELLO, our /login, then OK (logged in) or ERR (refused); after that, every event. */
  private hear(event: ServerEvent): void {
    if (this.loggedIn) {
      if (event.kind === "ping") this.send(clientLine.pong());
      else this.handlers.onEvent(event, this);
    } else if (event.kind === "hello") this.send(this.login);
    else if (event.kind === "ok") {
      this.loggedIn = true;
      this.settle.ok();
      this.handlers.onEvent(event, this);
    } else if (event.kind === "err") {
      this.settle.refuse(new LoginRefused(event.code, event.text));
      this.socket.end();
    }
  }

  private drained(): void {
    this.outbox.flush();
    this.handlers.onDrain?.(this);
  }

  private ended(): void {
    this.settle.refuse(new Error("the server closed the connection before the login"));
    if (this.closed) return;
    this.closed = true;
    if (this.loggedIn) this.handlers.onClose?.(this);
  }
}
