/**
 * IRC's message grammar (RFC 2812, section 2.3) for the chat's IRC door
 * (06-chat/15-irc-door): a client's line read into its command and parameters, the door's
 * lines written (never over 512 bytes: a long text is cut into several), the numeric replies
 * a client needs to consider itself registered, and the chat's events said in IRC's words.
 * Then `Session`, one IRC client's side of the door with no socket in it (registration, the
 * channel, messages both ways), and `IrcClient`, its connection: what connection.ts is to the
 * chat, this is to IRC. The lesson joins an IrcClient to a ChatConnection.
 *
 * A message is one line, `[:PREFIX] COMMAND [PARAM...] [:LAST PARAM, WHICH MAY HOLD SPACES]`,
 * at most 512 bytes with its CR LF. The door's replies come from SERVER; a chat member
 * speaks as `nick!nick@chat`. The door has one channel, #chat: the chat's room.
 */
import { IdleTimer, LineReader, Outbox, type Writable } from "../lib/stream.ts";
import { LoginRefused } from "./connection.ts";
import { clientLine, LINES_PER_TURN, type ServerEvent, whyBadNick } from "./protocol.ts";

/** IRC's own port: `irssi -c 127.0.0.1` finds the door with no -p. */
export const IRC_PORT = 6667;
/** The longest message, CR LF included (RFC 2812, 2.3). */
export const MAX_MESSAGE_BYTES = 512;
/** The door's name in its replies, and the chat's room seen as a channel. */
export const SERVER = "irc-door";
export const CHANNEL = "#chat";

/** A client's message: its command (upper case) and its parameters, the last one whole. */
export interface Message {
  command: string;
  params: string[];
}

/** What a client's line says, or undefined for an empty line. A client's prefix is ignored. */
export function parseMessage(line: string): Message | undefined {
  let rest = line.startsWith(":") ? line.replace(/^:\S*\s*/, "") : line;
  let last: string | undefined;
  const colon = rest.indexOf(" :");
  if (colon !== -1) {
    last = rest.slice(colon + 2);
    rest = rest.slice(0, colon);
  }
  const [command, ...params] = rest.split(" ").filter((word) => word.length > 0);
  if (command === undefined) return undefined;
  if (last !== undefined) params.push(last);
  return { command: command.toUpperCase(), params };
}

/**
 * One line from the door: `:PREFIX COMMAND PARAM... :LAST\r\n`. The last parameter always
 * gets its colon, so it may hold spaces; CR, LF and NUL, which would end or break the line,
 * become spaces.
 */
export function ircLine(prefix: string, command: string, ...params: string[]): string {
  const safe = params.map((param) => param.replace(/[\r\n\0]/g, " "));
  const last = safe.pop();
  const middle = safe.map((param) => ` ${param}`).join("");
  return `:${prefix} ${command}${middle}${last === undefined ? "" : ` :${last}`}\r\n`;
}

/** A numeric reply to `nick` (`*` before it has one): `:irc-door 001 alice :Welcome...`. */
export const reply = (code: string, nick: string, ...params: string[]): string =>
  ircLine(SERVER, code, nick || "*", ...params);

/** How a chat member appears on IRC: `nick!user@host`. */
export const mask = (nick: string): string => `${nick}!${nick}@chat`;

/** `text` as PRIVMSG (or NOTICE) lines to `target`, cut so that none is over 512 bytes. */
export function says(from: string, command: string, target: string, text: string): string {
  const room = MAX_MESSAGE_BYTES - Buffer.byteLength(ircLine(from, command, target, ""));
  if (Buffer.byteLength(text) <= room) return ircLine(from, command, target, text);
  // Cut between characters (code points), never inside one.
  return pack([...text], room, "")
    .map((piece) => ircLine(from, command, target, piece))
    .join("");
}

/** A notice from the door: how it tells a client what IRC has no reply for. */
export const notice = (nick: string, text: string): string => says(SERVER, "NOTICE", nick, text);

/** `parts` joined with `glue` into as few pieces as fit in `room` bytes each. */
function pack(parts: string[], room: number, glue: string): string[] {
  const result: string[] = [];
  let piece = "";
  for (const part of parts) {
    const longer = piece === "" ? part : `${piece}${glue}${part}`;
    if (piece !== "" && Buffer.byteLength(longer) > room) {
      result.push(piece);
      piece = part;
    } else piece = longer;
  }
  result.push(piece);
  return result;
}

/** When the door started, for reply 003. */
const STARTED = new Date().toUTCString();

/**
 * The replies that make a client consider itself registered: 001 to 004 (welcome, host,
 * created, server name and modes), 005 (what this server supports: nicks of 16 characters,
 * compared in ASCII case), and 422 (no message of the day, so the client stops waiting).
 */
export function welcome(nick: string): string {
  return [
    reply("001", nick, `Welcome to the chat, ${mask(nick)}`),
    reply("002", nick, `Your host is ${SERVER}, a door to the sockets-lab chat`),
    reply("003", nick, `This server was created ${STARTED}`),
    reply("004", nick, SERVER, "sockets-lab", "i", "n"),
    reply("005", nick, "CHANTYPES=#", "NICKLEN=16", "CASEMAPPING=ascii", "are supported"),
    reply("422", nick, "MOTD File is missing"),
  ].join("");
}

/** NAMES: who is in #chat (353, as many lines as 512 bytes need), then its end (366). */
export function names(nick: string, nicks: string[]): string {
  const room = MAX_MESSAGE_BYTES - Buffer.byteLength(reply("353", nick, "=", CHANNEL, ""));
  const lines = pack(nicks, room, " ").map((part) => reply("353", nick, "=", CHANNEL, part));
  return `${lines.join("")}${reply("366", nick, CHANNEL, "End of NAMES list")}`;
}

/**
 * A chat event in IRC's words, for `nick`, who has joined #chat or not: what others say and
 * who comes and goes reach it only in the channel; a private message always. A Session does
 * the rest (LIST answers NAMES, BYE closes). "" for what IRC has no word for.
 */
export function ircWords(event: ServerEvent, nick: string, joined: boolean): string {
  switch (event.kind) {
    case "msg":
      return joined ? says(mask(event.from), "PRIVMSG", CHANNEL, event.text) : "";
    case "priv":
      return says(mask(event.from), "PRIVMSG", nick, event.text);
    case "join":
      return joined ? ircLine(mask(event.nick), "JOIN", CHANNEL) : "";
    case "leave":
      return joined ? ircLine(mask(event.nick), "QUIT", event.reason) : "";
    case "err": {
      const nobody = event.text.match(/^nobody is called (\S+)$/);
      if (nobody) return reply("401", nick, nobody[1] ?? "", "No such nick/channel");
      return notice(nick, event.text);
    }
    case "ok": {
      const away = event.text.match(/^stored for (\S+)$/);
      return away ? notice(nick, `${away[1]} is away: kept until they log in`) : "";
    }
    case "file":
      return notice(
        nick,
        `${event.from} sent you ${event.name} (${event.size} bytes): IRC cannot take files, so it waits for the web or terminal client`,
      );
    default:
      return "";
  }
}

/**
 * What an IRC client typed, as chat text: its formatting codes (bold, colours...) dropped,
 * `/me waves` (a CTCP ACTION) as `* waves`, and undefined for other CTCP requests (VERSION,
 * PING...), which are for IRC clients, not people.
 */
export function chatText(text: string): string | undefined {
  const action = text.match(/^\u0001ACTION (.*?)\u0001?$/);
  if (action) return `* ${plain(action[1] ?? "")}`;
  if (text.startsWith("\u0001")) return undefined;
  return plain(text);
}

const plain = (text: string): string =>
  text.replace(/\u0003(\d{1,2}(,\d{1,2})?)?|[\u0002\u000f\u0016\u001d\u001e\u001f]/g, "");

// ---------------------------------------------------------------------------------------
// One client's session, without its sockets

/** What a Session asks of the door that holds its two connections. */
export interface Door {
  /** Lines for the IRC client. */
  toClient(lines: string): void;
  /** A line for the chat server. */
  toChat(line: string): void;
  /** Log in to the chat; answer with the chat's events (its OK first), or `refused()`. */
  login(nick: string, password: string): void;
  /** The client has this stored message: the chat may forget it. */
  ack(id: number): void;
  /** `ERROR :reason` to the client, then both connections close. */
  close(reason: string): void;
}

/**
 * One IRC client's side of the door, with no socket in it (a test drives it with a fake
 * Door): registration (PASS, NICK and USER, then the chat's answer to the login), the
 * channel (JOIN, PART, NAMES), PRIVMSG both ways, PING, QUIT, and the numeric replies.
 */
export class Session {
  nick = "";
  joined = false;
  /** `new` until NICK and USER came, `login` while the chat answers, `in` once welcomed. */
  state: "new" | "login" | "in" = "new";
  private password: string | undefined;
  private user = false;
  /** NAMES asked and not yet answered: each takes the chat's next LIST. */
  private names = 0;
  private pinged = false;

  constructor(private readonly door: Door) {}

  /** A line from the client. Over 510 bytes of text, it is refused, as IRC servers do. */
  hear(line: string): void {
    if (Buffer.byteLength(line) > MAX_MESSAGE_BYTES - 2) {
      this.door.close("Request too long");
      return;
    }
    const { command = "", params = [] } = parseMessage(line) ?? {};
    const [first = "", text = ""] = params;
    this.pinged = false;
    if (command === "PASS") this.password = first;
    else if (command === "NICK") this.rename(first);
    else if (command === "USER") {
      this.user = true;
      this.register();
    } else if (command === "PING") this.door.toClient(ircLine(SERVER, "PONG", SERVER, first));
    else if (command === "QUIT") this.quit(first || "Client Quit");
    else if (command === "PONG" || command === "NOTICE" || command === "") return;
    else if (!REGISTERED.includes(command)) this.answer("421", command, "Unknown command");
    else if (this.state !== "in") this.answer("451", "You have not registered");
    else if (command === "PRIVMSG") this.say(first, chatText(text));
    else this.inChannel(command, first);
  }

  /** The chat's events: the first is the login's OK (the welcome), then each in IRC's words. */
  hearChat(event: ServerEvent): void {
    if (this.state === "login") {
      this.state = "in";
      this.door.toClient(welcome(this.nick));
    }
    if (event.kind === "list" && this.names > 0) {
      this.names--;
      this.door.toClient(names(this.nick, event.nicks));
    } else if (event.kind === "bye") this.door.close(event.reason);
    else this.door.toClient(ircWords(event, this.nick, this.joined));
    // IRC has no way to say "got it": handed to the client is as far as the door can see.
    if (event.kind === "priv" && event.id > 0) this.door.ack(event.id);
  }

  /** The client was silent for the door's idle limit: PING it; silent twice, close it. */
  silent(): void {
    if (this.pinged) this.door.close("Ping timeout");
    else this.door.toClient(ircLine(SERVER, "PING", SERVER));
    this.pinged = true;
  }

  /**
   * The login failed: a nick in use lets another NICK try (433); a wrong password ends it
   * (464); anything else (no chat server: `why`) closes with its sentence.
   */
  refused(error: unknown, why: string): void {
    this.state = "new";
    const code = error instanceof LoginRefused ? error.code : "";
    if (code === "taken") this.answer("433", this.nick, "Nickname is already in use");
    else if (code === "password") {
      this.answer("464", "Password incorrect");
      this.door.close("Bad password");
    } else this.door.close(error instanceof LoginRefused ? error.message : why);
  }

  private answer(code: string, ...params: string[]): void {
    this.door.toClient(reply(code, this.state === "in" ? this.nick : "*", ...params));
  }

  private rename(nick: string): void {
    const why = whyBadNick(nick);
    if (this.state !== "new") this.answer("432", nick, "A chat nick cannot change: reconnect");
    else if (why) this.answer("432", nick, `Erroneous nickname: ${why}`);
    else {
      this.nick = nick;
      this.register();
    }
  }

  /** NICK and USER both came: log in to the chat, with PASS as the password. */
  private register(): void {
    if (this.state !== "new" || this.nick === "" || !this.user) return;
    if (this.password === undefined) {
      this.answer("464", "Password required: send PASS with your chat password");
      this.door.close("Password required");
      return;
    }
    this.state = "login";
    this.door.login(this.nick, this.password);
  }

  private say(to: string, text: string | undefined): void {
    if (text === undefined) return;
    if (text === "") this.answer("412", "No text to send");
    else if (to.toLowerCase() !== CHANNEL) this.door.toChat(clientLine.msg(to, text));
    else if (this.joined) this.door.toChat(clientLine.say(text));
    else this.answer("404", CHANNEL, "Cannot send to channel: JOIN it first");
  }

  /** JOIN, PART and NAMES of #chat, the one channel. */
  private inChannel(command: string, channel: string): void {
    if (channel !== "" && channel.toLowerCase() !== CHANNEL)
      this.answer("403", channel, "No such channel: the door has #chat only");
    else if (command === "JOIN" && !this.joined) {
      this.joined = true;
      this.door.toClient(ircLine(mask(this.nick), "JOIN", CHANNEL));
      this.askNames();
    } else if (command === "PART" && this.joined) {
      this.joined = false;
      this.door.toClient(ircLine(mask(this.nick), "PART", CHANNEL));
    } else if (command === "NAMES") this.askNames();
  }

  private askNames(): void {
    this.names++;
    this.door.toChat(clientLine.list());
  }

  /** QUIT: the chat tells the others why; the client gets ERROR, and both close. */
  private quit(reason: string): void {
    if (this.state === "in") this.door.toChat(clientLine.quit(reason));
    this.door.close(`Quit: ${reason}`);
  }
}

/** The commands of a registered client: before it registers, 451 rather than 421. */
const REGISTERED = ["JOIN", "PART", "NAMES", "PRIVMSG"];

// ---------------------------------------------------------------------------------------
// One client's connection

/** What an IrcClient needs from its door: the chat's side of it. */
export interface ChatSide {
  /** A line for the chat, once logged in. */
  toChat(line: string): void;
  /** The client has this stored message. */
  ack(id: number): void;
  /** Log in: the chat's events go to `session.hearChat()`, a failure to `session.refused()`. */
  login(nick: string, password: string): void;
  /** The client's lines went out, or piled up: see whether either side must wait. */
  balance(): void;
  /** The client is closed, or gone: the chat's side closes too. */
  close(): void;
}

/**
 * One IRC client's connection to the door, as connection.ts is a client's connection to the
 * chat: its lines read a turn at a time (LINES_PER_TURN, then the other clients go first, as
 * in lesson 01) and none while its login is on its way; a line over 510 bytes of text ends it
 * (`ERROR :Request too long`); its replies go through an Outbox; silent for `idleMs`, it is
 * PINGed. `wait(true)` stops reading it: the door does, while the chat is behind.
 */
export class IrcClient implements Door {
  readonly outbox: Outbox;
  readonly session: Session = new Session(this);
  closed = false;
  // 510 bytes of text and CR LF: the session refuses a longer line.
  private readonly lines = new LineReader(MAX_MESSAGE_BYTES - 1);
  private idle: IdleTimer;
  private turnOver = false;
  private chatBehind = false;
  private stopped = false;
  private balancing = false;

  constructor(
    socket: Writable,
    private readonly idleMs: number,
    private readonly chat: ChatSide,
  ) {
    this.outbox = new Outbox(socket, { highWater: 64 * 1024 });
    this.idle = new IdleTimer(idleMs, () => this.quiet());
  }

  /** The bytes of one `data` event (none: go on with the lines that waited). */
  read(chunk?: Uint8Array): void {
    if (chunk) this.lines.push(chunk);
    let count = 0;
    for (const line of this.stopped || this.closed ? [] : this.lines) {
      this.idle.touch();
      this.session.hear(line);
      if (this.closed || this.session.state === "login") break;
      if (++count < LINES_PER_TURN) continue;
      this.turnOver = true;
      setImmediate(() => {
        this.turnOver = false;
        this.check();
      });
      break;
    }
    if (this.lines.tooLong) this.close("Request too long");
    this.check();
    this.balanceSoon();
  }

  /** The door says whether the chat is behind; while it is, the client is not read. */
  wait(chatBehind: boolean): void {
    this.chatBehind = chatBehind;
    this.check();
  }

  /** The kernel took what waited (the socket's `drain`). */
  drained(): void {
    this.outbox.flush();
    this.chat.balance();
  }

  /** Stops reading the client while its turn is over, its login on its way, the chat behind. */
  private check(): void {
    const wait = this.turnOver || this.chatBehind || this.session.state === "login";
    if (wait === this.stopped || this.closed) return;
    if (wait) this.outbox.hold();
    else this.outbox.release();
    this.stopped = wait;
    if (!wait) this.read();
  }

  /** Once the outbox has written (its microtask was queued first), the door looks. */
  private balanceSoon(): void {
    if (this.balancing) return;
    this.balancing = true;
    queueMicrotask(() => {
      this.balancing = false;
      this.chat.balance();
    });
  }

  // What the session asks of its door.

  toClient(lines: string): void {
    if (lines === "") return;
    this.outbox.send(lines);
    this.balanceSoon();
  }

  toChat(line: string): void {
    this.chat.toChat(line);
  }

  ack(id: number): void {
    this.chat.ack(id);
  }

  login(nick: string, password: string): void {
    this.chat.login(nick, password);
  }

  /** `ERROR :reason` (none: the client is gone), then both sides close once written. */
  close(reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.idle.stop();
    if (reason) this.outbox.send(`ERROR :${reason}\r\n`);
    this.outbox.end();
    this.chat.close();
  }

  /** Silent for `idleMs`: the session PINGs, and the clock starts again (twice: closed). */
  private quiet(): void {
    this.session.silent();
    if (!this.closed) this.idle = new IdleTimer(this.idleMs, () => this.quiet());
  }
}
