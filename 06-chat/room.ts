/**
 * The chat's room: every connection, the nicks logged in, and how a line reaches them.
 * Lesson 01 writes a broadcast out by hand (lines framed, at most LINES_PER_TURN lines of a
 * client before the others get a turn); from lesson 02 on, every server keeps its
 * connections here, with the guards that lessons 06 to 09 show, each switched off, then on:
 *
 * - a line over `maxLineBytes`: `ERR too-long`, then the close (06-hostile-lines, with
 *   protocol.ts's `clean()`, applied where a server builds a line);
 * - a member that stops reading: cut off once `maxQueuedBytes` wait for it (07-slow-reader);
 * - a flood: a token bucket per member; lines past it wait, unread (08-flood);
 * - silence: a `PING` after `keepaliveMs`, closed if nothing answers (09-keepalive).
 *
 * A server gives the room one function, `hear(member, line)`, called for each line in order;
 * for work that takes a while (a login hashing a password) it calls `member.waitFor(promise)`
 * and the member's next lines wait for it. The room also delivers what a mailbox keeps for a
 * member (04-offline, 05-files): in order, a file as DATA lines between the other lines.
 */
import type { Socket, TCPSocketListener } from "bun";
import { peerOf } from "../lib/cli.ts";
import { TokenBucket } from "../lib/rate.ts";
import { IdleTimer, LineReader, Outbox } from "../lib/stream.ts";
import { Accounts, type Login, Mailbox, type StoredItem, type Upload } from "./mailbox.ts";
import {
  type ClientCommand,
  clean,
  helpFor,
  LINES_PER_TURN,
  MAX_LINE_BYTES,
  nickKey,
  parseClientLine,
  serverLine,
} from "./protocol.ts";

export interface Guards {
  /** The longest line a member may send. */
  maxLineBytes: number;
  /** Bytes that may wait unread for one member before it is cut off. */
  maxQueuedBytes: number;
  /** Lines a second one member may send on average, and at once. */
  linesPerSecond: number;
  burst: number;
  /** Silence before a PING; as long again with no line and the member is closed. */
  keepaliveMs: number;
  /** False: no PING, a silent member is closed after keepaliveMs (lesson 01's idle limit). */
  ping: boolean;
}

export const GUARDS: Guards = {
  maxLineBytes: MAX_LINE_BYTES,
  maxQueuedBytes: 1024 * 1024,
  linesPerSecond: 20,
  burst: 40,
  keepaliveMs: 60_000,
  ping: true,
};

/** What every chat server from lesson 02 on is started with (its flags, and its log). */
export interface ChatOptions {
  /** Silence before a PING, and again before the close, in ms (`--idle`). */
  idleMs?: number;
  /** Hash passwords at almost no cost (`--cheap-hashes`): for tests and benchmarks only. */
  cheapHashes?: boolean;
  /** The largest file, in bytes (`--max-file`). */
  maxFileBytes?: number;
  /** Where log lines go: stdout unless told. */
  log?: (line: string) => void;
}

/** The HELLO line's text of every chat server from lesson 02 on. */
export const GREETING = "chat on Bun: /login NICK PASSWORD to start, /help for more";

/** In a bigger room, joins and leaves are not announced (see `Room.announce`). */
export const NOTICE_LIMIT = 1000;

/** Above this many bytes waiting for a member, its stored items wait for `drain`. */
const DELIVERY_BYTES = 64 * 1024;

/** What a server does with one line of a member. */
export type Hear = (member: Member, line: string) => void;

type ChatSocket = Socket<Member | undefined>;

/** One connection: its lines in, its outbox out, and its guards. */
export class Member {
  /** Set once logged in. */
  nick: string | undefined;
  readonly peer: string;
  readonly outbox: Outbox;
  closed = false;
  /** The file this member is sending: its /data lines are paced by the file's size. */
  upload: Upload | undefined;
  /** Delivery: the last stored id sent this session, the next ones, the file on its way. */
  cursor = 0;
  backlog: StoredItem[] = [];
  sending: { id: number; seq: number; chunks: number } | undefined;
  /** Stored items still wait for room in the outbox. */
  delivering = false;
  private readonly reader: LineReader;
  private readonly bucket: TokenBucket;
  private quiet: IdleTimer;
  private pinged = false;
  private held: string | undefined;
  private waiting = false;
  private corked: Uint8Array[] = [];

  constructor(
    readonly socket: ChatSocket,
    private readonly room: Room,
  ) {
    const { guards } = room;
    this.peer = peerOf(socket);
    this.reader = new LineReader(guards.maxLineBytes);
    this.bucket = new TokenBucket(guards.linesPerSecond, guards.burst);
    this.outbox = new Outbox(socket, {
      highWater: 256 * 1024,
      onGiveUp: (why) => room.forget(this, why),
    });
    this.quiet = new IdleTimer(guards.keepaliveMs, () => this.silence());
  }

  /** The nick's key (its lower case), once logged in. */
  get key(): string | undefined {
    return this.nick === undefined ? undefined : nickKey(this.nick);
  }

  /** The bytes of one `data` event. */
  read(chunk: Uint8Array): void {
    this.reader.push(chunk);
    this.walk();
  }

  /** Queues a line for this member; one that lets too much pile up is cut off. */
  send(line: string | Uint8Array): void {
    if (this.closed) return;
    // Broadcast lines queued before this one leave first: order is kept.
    if (this.corked.length > 0) this.uncork();
    this.outbox.send(line);
    this.checkQueue();
  }

  /**
   * A broadcast line, kept until the end of this turn of the event loop (Room.broadcast):
   * every broadcast of the turn then leaves in one write per member, not one write each.
   */
  cork(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.corked.push(bytes);
    return this.corked.length === 1;
  }

  /** Hands the corked lines to the outbox, joined: they leave in one write. */
  uncork(): void {
    const corked = this.corked;
    this.corked = [];
    if (corked.length === 0 || this.closed) return;
    this.outbox.send(corked.length === 1 ? (corked[0] as Uint8Array) : Buffer.concat(corked));
    this.checkQueue();
  }

  /**
   * The slow-reader guard: more than maxQueuedBytes that the kernel will not take (a write is
   * tried first, so a burst the client can take is not mistaken for a stopped client).
   */
  private checkQueue(): void {
    const limit = this.room.guards.maxQueuedBytes;
    if (this.outbox.queuedBytes <= limit) return;
    this.outbox.flush();
    const queued = this.outbox.queuedBytes;
    if (queued > limit) this.cutOff(`too slow: ${Math.round(queued / 1024)} KiB waited unread`);
  }

  /** Says why, then closes once the line is out: the client reads `BYE reason`. */
  close(reason: string): void {
    if (this.closed) return;
    this.uncork();
    this.outbox.send(serverLine.bye(reason));
    this.outbox.end();
    this.room.forget(this, reason);
  }

  /** Closes at once, with no word: for a member that reads nothing. */
  cutOff(reason: string): void {
    this.room.forget(this, reason);
    this.socket.terminate();
  }

  /** The socket took what waited: send more, and go on delivering. */
  drained(): void {
    this.outbox.flush();
    if (this.delivering) this.room.deliver(this);
  }

  /** Stops the keepalive timer: the connection is over. */
  stopTimers(): void {
    this.quiet.stop();
  }

  /** Takes lines out of the reader, one at a time, while the member may go on. */
  private walk(): void {
    let turn = 0;
    while (!this.closed && !this.waiting) {
      // Its turn is over (lesson 01): the others go first, then it goes on.
      if (turn++ === LINES_PER_TURN) {
        this.waitFor(new Promise((resolve) => setImmediate(resolve)));
        return;
      }
      const line = this.held ?? this.nextLine();
      if (line === undefined) break;
      const free = this.upload !== undefined && line.startsWith("/data ");
      if (!free && !this.bucket.take()) {
        // Flood: keep the line, read nothing more until a token is due.
        this.held = line;
        this.waitFor(Bun.sleep(1000 / this.room.guards.linesPerSecond));
        return;
      }
      this.held = undefined;
      this.quiet.touch();
      this.pinged = false;
      this.hear(line);
    }
    if (this.reader.tooLong && !this.closed) {
      const limit = this.room.guards.maxLineBytes;
      this.outbox.send(serverLine.err("too-long", `a line has at most ${limit} bytes`));
      this.close("line too long");
    }
  }

  private nextLine(): string | undefined {
    for (const line of this.reader) return line;
    return undefined;
  }

  /** Calls the server's `hear`; whatever it throws costs this member, never the server. */
  private hear(line: string): void {
    try {
      this.room.hear(this, line);
    } catch (error) {
      this.failed(error);
    }
  }

  private failed(error: unknown): void {
    this.room.log(`${this.nick ?? this.peer}: ${(error as Error).message}`);
    this.close("server error");
  }

  /**
   * Holds the member's input (its socket is not read, its lines wait) until `promise`
   * settles; a promise that fails closes the member, never the server.
   */
  waitFor(promise: Promise<unknown>): void {
    this.waiting = true;
    this.outbox.hold();
    void promise.then(
      () => this.resume(),
      (error: unknown) => {
        this.failed(error);
        this.resume();
      },
    );
  }

  private resume(): void {
    this.waiting = false;
    if (this.closed) return;
    this.outbox.release();
    this.walk();
  }

  /** No line for keepaliveMs: ask once, and close if it stays silent as long again. */
  private silence(): void {
    if (this.closed) return;
    const seconds = this.room.guards.keepaliveMs / 1000;
    if (!this.room.guards.ping) {
      this.close(`silent for ${seconds} s`);
      return;
    }
    if (this.pinged) {
      this.close(`no answer to PING in ${seconds} s`);
      return;
    }
    this.pinged = true;
    this.send(serverLine.ping());
    this.quiet = new IdleTimer(this.room.guards.keepaliveMs, () => this.silence());
  }
}

export interface RoomOptions {
  hear: Hear;
  /** The `HELLO` line's text, sent to every new connection. */
  greeting: string;
  guards?: Partial<Guards>;
  /** Who may log in as whom: lesson 02's accounts in memory, or mailbox.ts's on disk. */
  accounts?: { login(nick: string, password: string): Promise<Login> };
  /** Where stored messages and files come from (lessons 04 and on); `stop()` closes it. */
  mailbox?: Mailbox;
  log?: (line: string) => void;
}

/** Everyone connected, who is logged in as whom, and delivery to them. */
export class Room {
  readonly members = new Set<Member>();
  readonly guards: Guards;
  readonly hear: Hear;
  readonly log: (line: string) => void;
  private readonly byNick = new Map<string, Member>();
  private readonly accounts: RoomOptions["accounts"];
  private readonly mailbox: Mailbox | undefined;
  private readonly greeting: string;
  private listener: TCPSocketListener<Member | undefined> | undefined;
  private uncorking = false;
  /** Members with broadcast lines waiting for the end of this turn. */
  private readonly corked: Member[] = [];

  constructor({ hear, greeting, guards = {}, accounts, mailbox, log = () => {} }: RoomOptions) {
    this.hear = hear;
    this.accounts = accounts;
    this.greeting = greeting;
    this.guards = { ...GUARDS, ...guards };
    this.mailbox = mailbox;
    this.log = log;
  }

  /** Listens on host:port; each connection becomes a Member. */
  listen(host: string, port: number): TCPSocketListener<Member | undefined> {
    this.listener = Bun.listen<Member | undefined>({
      hostname: host,
      port,
      socket: {
        open: (socket) => {
          const member = new Member(socket, this);
          socket.data = member;
          this.members.add(member);
          member.send(serverLine.hello(this.greeting));
        },
        data: (socket, chunk) => socket.data?.read(chunk),
        drain: (socket) => socket.data?.drained(),
        // A member whose `open` never ran (reset at once) has nothing to forget.
        close: (socket) => {
          if (socket.data) this.forget(socket.data, "left");
        },
        error: () => {},
      },
    });
    return this.listener;
  }

  /**
   * `/login NICK PASSWORD`, as lesson 02 teaches it: one `ERR` line for a wrong password, a
   * nick in use or too many logins at once; else `OK`, a `JOIN` for the others, and what the
   * mailbox keeps for the nick. The password is never printed.
   */
  async login(member: Member, nick: string, password: string): Promise<void> {
    const taken = (name: string): string => `${name} is logged in on another connection`;
    if (!this.accounts) throw new Error("this room has no accounts");
    if (member.nick !== undefined) {
      member.send(serverLine.err("login", `you are ${member.nick} already`));
      return;
    }
    if (this.find(nick)) {
      member.send(serverLine.err("taken", taken(nick)));
      return;
    }
    const result = await this.accounts.login(nick, password);
    if (member.closed) return;
    if (result.outcome === "busy") {
      member.send(serverLine.err("busy", "too many logins at once: try again in a moment"));
    } else if (result.outcome === "wrong") {
      member.send(serverLine.err("password", `wrong password for ${result.nick}`));
    } else if (!this.admit(member, result.nick)) {
      member.send(serverLine.err("taken", taken(result.nick)));
    } else {
      const hello = result.outcome === "created" ? "your password is set" : "welcome back";
      const stored = this.mailbox
        ? `; ${this.mailbox.waiting(result.nick).items} stored for you`
        : "";
      member.send(serverLine.ok(`${result.nick}: ${hello}${stored}`));
      this.announce(serverLine.join(result.nick), member);
      this.log(`${result.nick} logged in from ${member.peer}`);
      this.deliver(member);
    }
  }

  /**
   * What every chat server from lesson 04 on answers as lesson 03 does: /login, /help (with
   * `help`), /quit, /pong, a malformed command, and any line from someone not logged in.
   * True when it took the line; false when the line is the server's own to handle.
   */
  answerBasics(member: Member, said: ClientCommand, help: string[]): boolean {
    if (said.kind === "login") member.waitFor(this.login(member, said.nick, said.password));
    else if (said.kind === "bad") member.send(serverLine.err(said.code, said.why));
    else if (said.kind === "help") member.send(serverLine.help(help));
    else if (said.kind === "quit") member.close(clean(said.reason));
    else if (said.kind === "pong") return true;
    else if (member.nick === undefined)
      member.send(serverLine.err("login", "log in first: /login NICK PASSWORD"));
    else return false;
    return true;
  }

  /** Logs `member` in as `nick`; false if that nick (any case) is here already. */
  admit(member: Member, nick: string): boolean {
    if (this.byNick.has(nickKey(nick))) return false;
    member.nick = nick;
    this.byNick.set(nickKey(nick), member);
    return true;
  }

  /** The member logged in as `nick` (any case), if any. */
  find(nick: string): Member | undefined {
    return this.byNick.get(nickKey(nick));
  }

  /** The nicks logged in, in the order they came. */
  online(): string[] {
    return [...this.byNick.values()].map((member) => member.nick ?? "");
  }

  /** `line` to every logged-in member but `except`. */
  broadcast(line: string, except?: Member): void {
    // Encoded once for everyone; written at the end of the turn, with the turn's others.
    const bytes = Buffer.from(line);
    for (const member of this.byNick.values()) {
      if (member !== except && member.cork(bytes)) this.corked.push(member);
    }
    if (this.corked.length === 0 || this.uncorking) return;
    this.uncorking = true;
    setImmediate(() => {
      this.uncorking = false;
      for (const member of this.corked.splice(0)) member.uncork();
    });
  }

  /**
   * A JOIN or LEAVE: for everyone, in a room of at most NOTICE_LIMIT members. Every member
   * told of every other's arrival costs n x n lines: 10,000 logins would send 50 million
   * JOIN lines (about a minute of work here, for nobody's benefit); /list still says who
   * is here.
   */
  private announce(line: string, except?: Member): void {
    if (this.byNick.size <= NOTICE_LIMIT) this.broadcast(line, except);
  }

  /**
   * Sends `member` what its mailbox holds, oldest first, while less than DELIVERY_BYTES
   * wait in its outbox; `drain` (or the next turn, if the kernel took everything) goes on.
   * A file goes one chunk at a time, so lines for this member never wait behind a whole
   * file, and other members never wait at all. Each item is sent once a session; it stays
   * stored until the member acknowledges it.
   */
  deliver(member: Member): void {
    const mailbox = this.mailbox;
    const key = member.key;
    if (!mailbox || key === undefined) return;
    while (!member.closed && member.outbox.queuedBytes < DELIVERY_BYTES) {
      const file = member.sending;
      if (file && file.seq < file.chunks) {
        member.send(serverLine.data(file.id, mailbox.chunk(file.id, file.seq) ?? new Uint8Array()));
        file.seq++;
        continue;
      }
      if (file) {
        member.send(serverLine.end(file.id));
        member.sending = undefined;
        continue;
      }
      if (member.backlog.length === 0) member.backlog = mailbox.pending(key, member.cursor);
      const item = member.backlog.shift();
      if (item === undefined) {
        member.delivering = false;
        return;
      }
      member.cursor = item.id;
      if (item.kind === "msg") member.send(serverLine.priv(item.id, item.sender, item.body));
      else {
        member.send(serverLine.file(item.id, item.sender, item.body, item.size, item.sha256));
        member.sending = { id: item.id, seq: 0, chunks: item.chunks };
      }
    }
    // The outbox writes on the next microtask; if the kernel takes it all, no `drain` comes.
    member.delivering = true;
    setImmediate(() => {
      if (member.outbox.queuedBytes < DELIVERY_BYTES) this.deliver(member);
    });
  }

  /**
   * `/ack ID...`: the member has these, so the mailbox may forget them (lesson 04). Only an
   * item sent to this member in this session can be acknowledged; any other id gets an ERR.
   */
  acknowledge(member: Member, ids: number[]): void {
    const sent = ids.filter((id) => id <= member.cursor && id !== member.sending?.id);
    const unsent = ids.filter((id) => !sent.includes(id));
    const refused = [...unsent, ...(this.mailbox?.ack(member.nick ?? "", sent) ?? sent)];
    if (refused.length > 0)
      member.send(serverLine.err("ack", `not yours to acknowledge: ${refused.join(" ")}`));
  }

  /**
   * `/file NICK NAME SIZE SHA256` (lesson 05): a file for NICK comes next, in `/data` lines.
   * One at a time, at most `maxBytes`, and not past 4 such files waiting for NICK; the go-ahead
   * is `OK file NAME: send SIZE bytes in /data lines`.
   */
  acceptFile(
    member: Member,
    file: Extract<ClientCommand, { kind: "file" }>,
    maxBytes: number,
  ): void {
    const mailbox = this.mailbox;
    const account = mailbox?.account(file.to);
    let why: string | undefined;
    if (!mailbox || member.upload) why = "one file at a time: the last one is not finished";
    else if (file.size > maxBytes) why = `a file has at most ${maxBytes} bytes`;
    else if (!account) why = `nobody is called ${file.to}`;
    else if (mailbox.waiting(file.to).bytes + file.size > 4 * maxBytes)
      why = `the mailbox of ${account.nick} is full`;
    if (why || !mailbox || !account) {
      member.send(serverLine.err("file", why ?? ""));
      return;
    }
    const { name, size, sha256 } = file;
    member.upload = mailbox.upload(account.nick, member.nick ?? "", name, size, sha256);
    member.send(serverLine.ok(`file ${name}: send ${size} bytes in /data lines`));
    // An empty file is complete before any chunk.
    if (size === 0) this.acceptData(member, new Uint8Array());
  }

  /**
   * `/data BASE64` (lesson 05): the next chunk of the member's file, written and hashed as it
   * comes; after the last one, the verdict (a wrong SHA-256: `ERR checksum`, and the file is
   * dropped) and, if good, its delivery, like a private message.
   */
  acceptData(member: Member, bytes: Uint8Array): void {
    const upload = member.upload;
    if (!upload) {
      member.send(serverLine.err("data", "no file is on its way: /file first"));
      return;
    }
    const result = upload.add(bytes);
    if (result === "more") return;
    member.upload = undefined;
    const name = upload.name;
    if (result === "too-much")
      member.send(serverLine.err("file", `${name}: too many bytes; dropped`));
    else if (result === "mismatch")
      member.send(serverLine.err("checksum", `${name} arrived with another SHA-256; dropped`));
    else member.send(serverLine.ok(`file ${name}: ${this.deliverTo(upload.to)}`));
  }

  /** Delivers to `nick` if online; says `sent to NICK` or `stored for NICK`. */
  deliverTo(nick: string): string {
    const online = this.find(nick);
    if (!online) return `stored for ${nick}`;
    this.deliver(online);
    return `sent to ${online.nick}`;
  }

  /** `member` is gone (or going): free its nick and tell the others. Safe to call twice. */
  forget(member: Member, reason: string): void {
    if (!this.members.delete(member)) return;
    member.closed = true;
    member.stopTimers();
    // A file half sent is dropped: its sender never heard OK for it.
    member.upload?.drop();
    const key = member.key;
    if (key === undefined || this.byNick.get(key) !== member) return;
    this.byNick.delete(key);
    this.announce(serverLine.leave(member.nick ?? "", reason));
    this.log(`${member.nick} left (${reason})`);
  }

  /** Closes the listener, every connection, and the mailbox. */
  stop(): void {
    this.listener?.stop(true);
    for (const member of this.members) member.stopTimers();
    this.mailbox?.close();
  }
}

/**
 * The smallest chat server on a room: logins (cheap hashes, kept in memory) and lines to
 * everyone, on a free port of 127.0.0.1. Lessons 06 to 09 try each guard on it, switched off
 * and on; `cleaning` says whether text goes through `clean()` (lesson 06).
 */
export function broadcastRoom(guards: Partial<Guards> = {}, cleaning = true) {
  const mailbox = new Mailbox(":memory:");
  const room: Room = new Room({
    greeting: GREETING,
    guards,
    accounts: new Accounts(mailbox, { cheap: true }),
    hear(member, line) {
      const said = parseClientLine(line);
      if (room.answerBasics(member, said, helpFor(["/login", "TEXT", "/quit"]))) return;
      const text = said.kind === "say" ? said.text : line;
      room.broadcast(serverLine.msg(member.nick ?? "", cleaning ? clean(text) : text), member);
    },
  });
  const listener = room.listen("127.0.0.1", 0);
  return { room, port: listener.port };
}
