// 06-chat/irc.ts: IRC's message grammar (RFC 2812) for the IRC door, one client's session
// without its sockets, and its connection. A line read into its command and parameters; the
// door's lines written (the last parameter whole, nothing that could end the line early, never
// over 512 bytes); the welcome and NAMES replies; each chat event in IRC's words; what an IRC
// client types as chat text; the session, driven with a fake door: registration, 433, 464,
// 451, 421, channel commands, messages both ways, QUIT, a line over 512 bytes; and the
// IrcClient on a fake socket: turns, waiting for the chat, waiting for a login.
import { describe, expect, test } from "bun:test";
import type { Writable } from "../../lib/stream.ts";
import {
  CHANNEL,
  type ChatSide,
  chatText,
  type Door,
  IrcClient,
  ircLine,
  ircWords,
  MAX_MESSAGE_BYTES,
  mask,
  names,
  notice,
  parseMessage,
  reply,
  Session,
  says,
  welcome,
} from "../../06-chat/irc.ts";
import { LoginRefused } from "../../06-chat/connection.ts";
import type { ServerEvent } from "../../06-chat/protocol.ts";

const lines = (text: string): string[] => text.split("\r\n").filter(Boolean);
const bytes = (text: string): number[] =>
  lines(text).map((line) => Buffer.byteLength(`${line}\r\n`));

describe("parseMessage: a client's line", () => {
  test("command (any case) and parameters; the last one after ' :' whole, spaces and all", () => {
    expect(parseMessage("privmsg #chat :hello there :)")).toEqual({
      command: "PRIVMSG",
      params: ["#chat", "hello there :)"],
    });
    expect(parseMessage("USER alice 0 * :Alice Liddell")).toEqual({
      command: "USER",
      params: ["alice", "0", "*", "Alice Liddell"],
    });
    expect(parseMessage("NICK  alice")).toEqual({ command: "NICK", params: ["alice"] });
    expect(parseMessage("QUIT")).toEqual({ command: "QUIT", params: [] });
    expect(parseMessage("QUIT :")).toEqual({ command: "QUIT", params: [""] });
  });

  test("a client's prefix is ignored; an empty line is nothing", () => {
    expect(parseMessage(":alice!a@h PRIVMSG bob :hi")).toEqual({
      command: "PRIVMSG",
      params: ["bob", "hi"],
    });
    expect(parseMessage("")).toBeUndefined();
    expect(parseMessage("   ")).toBeUndefined();
  });
});

describe("the door's lines", () => {
  test("ircLine: prefix, command, parameters, the last after a colon, CR LF at the end", () => {
    expect(ircLine("irc-door", "001", "alice", "Welcome to the chat")).toBe(
      ":irc-door 001 alice :Welcome to the chat\r\n",
    );
    expect(ircLine(mask("bob"), "JOIN", CHANNEL)).toBe(":bob!bob@chat JOIN :#chat\r\n");
    expect(reply("421", "", "FOO", "Unknown command")).toBe(
      ":irc-door 421 * FOO :Unknown command\r\n",
    );
  });

  test("CR, LF and NUL never reach the wire: a text cannot end the line and start a command", () => {
    expect(ircLine("x", "PRIVMSG", "#chat", "hi\r\nQUIT :owned\0")).toBe(
      ":x PRIVMSG #chat :hi  QUIT :owned \r\n",
    );
  });

  test("says: a long text becomes several PRIVMSG lines of at most 512 bytes, never cutting a character", () => {
    const text = `${"é".repeat(300)}😀${"a".repeat(700)}`;
    const out = says(mask("alice"), "PRIVMSG", CHANNEL, text);
    expect(Math.max(...bytes(out))).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(lines(out).length).toBeGreaterThan(2);
    const prefix = ":alice!alice@chat PRIVMSG #chat :";
    expect(
      lines(out)
        .map((line) => line.slice(prefix.length))
        .join(""),
    ).toBe(text);
    expect(says("x", "PRIVMSG", "bob", "short")).toBe(":x PRIVMSG bob :short\r\n");
    expect(notice("bob", "")).toBe(":irc-door NOTICE bob :\r\n");
  });

  test("welcome: 001 to 004, 005, and 422 (no MOTD), so a client counts itself registered", () => {
    const codes = lines(welcome("alice")).map((line) => line.split(" ")[1]);
    expect(codes).toEqual(["001", "002", "003", "004", "005", "422"]);
    expect(lines(welcome("alice"))[0]).toBe(
      ":irc-door 001 alice :Welcome to the chat, alice!alice@chat",
    );
  });

  test("names: 353 lines of whole nicks under 512 bytes each, then 366", () => {
    const many = Array.from({ length: 120 }, (_, n) => `member${n}`);
    const out = lines(names("alice", many));
    expect(out.at(-1)).toBe(":irc-door 366 alice #chat :End of NAMES list");
    const listed = out.slice(0, -1).flatMap((line) => line.split(" :")[1]?.split(" ") ?? []);
    expect(listed).toEqual(many);
    expect(Math.max(...bytes(names("alice", many)))).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(lines(names("alice", ["alice", "bob"]))[0]).toBe(
      ":irc-door 353 alice = #chat :alice bob",
    );
  });
});

describe("ircWords: the chat's events in IRC's words", () => {
  const words = (event: ServerEvent, joined = true): string[] =>
    lines(ircWords(event, "alice", joined));

  test("what others say and who comes and goes: in the channel, once joined", () => {
    expect(words({ kind: "msg", from: "bob", text: "hi all" })).toEqual([
      ":bob!bob@chat PRIVMSG #chat :hi all",
    ]);
    expect(words({ kind: "join", nick: "bob" })).toEqual([":bob!bob@chat JOIN :#chat"]);
    expect(words({ kind: "leave", nick: "bob", reason: "lunch" })).toEqual([
      ":bob!bob@chat QUIT :lunch",
    ]);
    expect(words({ kind: "msg", from: "bob", text: "hi all" }, false)).toEqual([]);
  });

  test("a private message always; a nick that is nobody is 401; a message kept for someone away is said", () => {
    expect(words({ kind: "priv", id: 7, from: "bob", text: "psst" }, false)).toEqual([
      ":bob!bob@chat PRIVMSG alice :psst",
    ]);
    expect(words({ kind: "err", code: "nobody", text: "nobody is called zed" })).toEqual([
      ":irc-door 401 alice zed :No such nick/channel",
    ]);
    expect(words({ kind: "ok", text: "stored for bob" })).toEqual([
      ":irc-door NOTICE alice :bob is away: kept until they log in",
    ]);
    expect(words({ kind: "ok", text: "sent to bob" })).toEqual([]);
    expect(words({ kind: "err", code: "flood", text: "slow down" })).toEqual([
      ":irc-door NOTICE alice :slow down",
    ]);
  });

  test("a file: a notice that it waits for a client that can take it", () => {
    const sha = "0".repeat(64);
    const event = {
      kind: "file",
      id: 3,
      from: "bob",
      name: "a.txt",
      size: 5,
      sha256: sha,
    } as const;
    expect(words(event)[0]).toStartWith(":irc-door NOTICE alice :bob sent you a.txt (5 bytes)");
    expect(words({ kind: "data", id: 3, bytes: Buffer.from("x") })).toEqual([]);
  });
});

describe("chatText: what an IRC client typed, as chat text", () => {
  test("formatting codes dropped; /me as '* ...'; other CTCP requests are not for people", () => {
    expect(chatText("\u0002bold\u0002 and \u000304,12red\u0003")).toBe("bold and red");
    expect(chatText("\u0001ACTION waves\u0001")).toBe("* waves");
    expect(chatText("\u0001VERSION\u0001")).toBeUndefined();
    expect(chatText("plain")).toBe("plain");
  });
});

/** A fake door that writes down what the session asks of it. */
function session() {
  const asked: string[] = [];
  const door: Door = {
    toClient: (text) => asked.push(...lines(text).map((line) => `client ${line}`)),
    toChat: (line) => asked.push(`chat ${line.trimEnd()}`),
    login: (nick, password) => asked.push(`login ${nick} ${password}`),
    ack: (id) => asked.push(`ack ${id}`),
    close: (reason) => asked.push(`close ${reason}`),
  };
  const it = new Session(door);
  const take = (): string[] => asked.splice(0);
  const hear = (...sent: string[]): string[] => {
    for (const line of sent) it.hear(line);
    return take();
  };
  return { it, hear, take };
}

/** A session registered as alice (the chat said OK). */
function registered() {
  const s = session();
  s.hear("PASS secret", "NICK alice", "USER alice 0 * :Alice");
  s.it.hearChat({ kind: "ok", text: "alice: welcome back; 0 stored for you" });
  s.take();
  return s;
}

describe("Session: one client, without its sockets", () => {
  test("PASS, NICK and USER (in any order): one login to the chat; its OK is the welcome", () => {
    const { it, hear, take } = session();
    expect(hear("USER alice 0 * :Alice", "PASS secret")).toEqual([]);
    expect(hear("NICK alice")).toEqual(["login alice secret"]);
    expect(it.state).toBe("login");
    it.hearChat({ kind: "ok", text: "alice: your password is set; 0 stored for you" });
    const welcomed = take();
    expect(welcomed[0]).toBe("client :irc-door 001 alice :Welcome to the chat, alice!alice@chat");
    expect(welcomed.map((line) => line.split(" ")[2])).toEqual([
      "001",
      "002",
      "003",
      "004",
      "005",
      "422",
    ]);
    expect(it.state).toBe("in");
  });

  test("no PASS: 464, and the connection closes", () => {
    const { hear } = session();
    expect(hear("NICK alice", "USER alice 0 * :A")).toEqual([
      "client :irc-door 464 * :Password required: send PASS with your chat password",
      "close Password required",
    ]);
  });

  test("a nick in use: 433, and another NICK tries again with the same PASS", () => {
    const { it, hear, take } = session();
    hear("PASS pw", "NICK alice", "USER a 0 * :A");
    it.refused(new LoginRefused("taken", "alice is logged in on another connection"), "");
    expect(take()).toEqual(["client :irc-door 433 * alice :Nickname is already in use"]);
    expect(hear("NICK alice_")).toEqual(["login alice_ pw"]);
  });

  test("no chat server, or another refusal: the connection closes with the sentence", () => {
    const { it, hear, take } = session();
    hear("PASS pw", "NICK alice", "USER a 0 * :A");
    it.refused(new Error("ECONNREFUSED"), "no chat server at 127.0.0.1:5050");
    expect(take()).toEqual(["close no chat server at 127.0.0.1:5050"]);
    it.refused(new LoginRefused("busy", "too many logins at once"), "");
    expect(take()).toEqual(["close busy: too many logins at once"]);
  });

  test("a wrong password: 464, and the connection closes", () => {
    const { it, hear, take } = session();
    hear("PASS wrong", "NICK alice", "USER a 0 * :A");
    it.refused(new LoginRefused("password", "wrong password for alice"), "");
    expect(take()).toEqual(["client :irc-door 464 * :Password incorrect", "close Bad password"]);
  });

  test("a nick the chat cannot have: 432, and the client may try another", () => {
    const { hear } = session();
    expect(hear("PASS pw", "NICK [alice]")).toEqual([
      "client :irc-door 432 * [alice] :Erroneous nickname: a nick is ASCII letters, digits, _ and -, and starts with a letter",
    ]);
    expect(hear("USER a 0 * :A", "NICK alice")).toEqual(["login alice pw"]);
  });

  test("before registration: 451 for the chat's commands, 421 for unknown ones; PING is answered", () => {
    const { hear } = session();
    expect(hear("JOIN #chat", "CAP LS 302", "PING :abc")).toEqual([
      "client :irc-door 451 * :You have not registered",
      "client :irc-door 421 * CAP :Unknown command",
      "client :irc-door PONG irc-door :abc",
    ]);
  });

  test("JOIN #chat: the JOIN echoed and NAMES from the chat's LIST; PART leaves; another channel is 403", () => {
    const { it, hear, take } = registered();
    expect(hear("JOIN #Chat")).toEqual(["client :alice!alice@chat JOIN :#chat", "chat /list"]);
    it.hearChat({ kind: "list", nicks: ["bob", "alice"] });
    expect(take()).toEqual([
      "client :irc-door 353 alice = #chat :bob alice",
      "client :irc-door 366 alice #chat :End of NAMES list",
    ]);
    expect(hear("JOIN #other", "NAMES")).toEqual([
      "client :irc-door 403 alice #other :No such channel: the door has #chat only",
      "chat /list",
    ]);
    expect(hear("PART #chat")).toEqual(["client :alice!alice@chat PART :#chat"]);
  });

  test("PRIVMSG #chat is said to everyone (once joined: 404 before); PRIVMSG NICK is /msg", () => {
    const { hear } = registered();
    expect(hear("PRIVMSG #chat :too soon")).toEqual([
      "client :irc-door 404 alice #chat :Cannot send to channel: JOIN it first",
    ]);
    hear("JOIN #chat");
    expect(hear("PRIVMSG #chat :hello all", "PRIVMSG bob :just you", "PRIVMSG bob :")).toEqual([
      "chat hello all",
      "chat /msg bob just you",
      "client :irc-door 412 alice :No text to send",
    ]);
    expect(hear("PRIVMSG #chat :/not a command")).toEqual(["chat //not a command"]);
  });

  test("chat events: a private message is handed over and acknowledged; BYE closes", () => {
    const { it, take } = registered();
    it.hearChat({ kind: "priv", id: 12, from: "bob", text: "kept for you" });
    expect(take()).toEqual(["client :bob!bob@chat PRIVMSG alice :kept for you", "ack 12"]);
    it.hearChat({ kind: "bye", reason: "no answer to PING in 60 s" });
    expect(take()).toEqual(["close no answer to PING in 60 s"]);
  });

  test("silent once: a PING; a line in between starts again; silent twice in a row: closed", () => {
    const { it, hear, take } = registered();
    it.silent();
    expect(take()).toEqual(["client :irc-door PING :irc-door"]);
    hear("PONG :irc-door");
    it.silent();
    expect(take()).toEqual(["client :irc-door PING :irc-door"]);
    it.silent();
    expect(take()).toEqual(["close Ping timeout"]);
  });

  test("QUIT: the chat hears /quit with the reason, then both close", () => {
    const { hear } = registered();
    expect(hear("QUIT :lunch")).toEqual(["chat /quit lunch", "close Quit: lunch"]);
  });

  test("unknown commands after registration: 421; a nick cannot change: 432", () => {
    const { hear } = registered();
    expect(hear("WHOIS bob", "NICK bob")).toEqual([
      "client :irc-door 421 alice WHOIS :Unknown command",
      "client :irc-door 432 alice bob :A chat nick cannot change: reconnect",
    ]);
  });

  test("a line over 512 bytes with its CR LF is refused, as IRC servers refuse it; 510 bytes of text is fine", () => {
    const { hear } = registered();
    hear("JOIN #chat");
    const head = "PRIVMSG #chat :";
    expect(hear(`${head}${"x".repeat(510 - head.length)}`)).toEqual([`chat ${"x".repeat(495)}`]);
    expect(hear(`${head}${"x".repeat(511 - head.length)}`)).toEqual(["close Request too long"]);
  });
});

/** A socket that takes everything and records it, and whether it is paused. */
class FakeSocket implements Writable {
  text = "";
  paused = false;
  ended = false;
  readyState: Writable["readyState"] = 1;
  write(data: string | Uint8Array): number {
    this.text += typeof data === "string" ? data : Buffer.from(data).toString();
    return typeof data === "string" ? Buffer.byteLength(data) : data.length;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  shutdown(): void {
    this.ended = true;
  }
  terminate(): void {
    this.readyState = -1;
  }
}

/** An IrcClient on a fake socket, with a chat side that writes down what it is asked. */
function client() {
  const socket = new FakeSocket();
  const asked: string[] = [];
  const side: ChatSide = {
    toChat: (line) => asked.push(`chat ${line.trimEnd()}`),
    ack: (id) => asked.push(`ack ${id}`),
    login: (nick) => asked.push(`login ${nick}`),
    balance: () => {},
    close: () => asked.push("close"),
  };
  const irc = new IrcClient(socket as unknown as Writable, 60_000, side);
  const pongs = (): number => socket.text.split("PONG").length - 1;
  return { irc, socket, asked, pongs };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("IrcClient: one client's connection", () => {
  test("100 lines a turn: the rest wait, its socket paused, until the other clients had theirs", async () => {
    const { irc, socket, pongs } = client();
    irc.read(Buffer.from("PING :x\r\n".repeat(250)));
    await Promise.resolve();
    expect(pongs()).toBe(100);
    expect(socket.paused).toBe(true);
    await nextTurn();
    await nextTurn();
    await nextTurn();
    expect(pongs()).toBe(250);
    expect(socket.paused).toBe(false);
  });

  test("wait(true) while the chat is behind: nothing more is read; wait(false) goes on", async () => {
    const { irc, socket, pongs } = client();
    irc.wait(true);
    irc.read(Buffer.from("PING :a\r\nPING :b\r\n"));
    expect(pongs()).toBe(0);
    expect(socket.paused).toBe(true);
    irc.wait(false);
    await Promise.resolve();
    expect(pongs()).toBe(2);
  });

  test("lines after USER wait for the login's answer; a line over 510 bytes is ERROR and the end", async () => {
    const { irc, socket, asked } = client();
    irc.read(Buffer.from("PASS pw\r\nNICK alice\r\nUSER a 0 * :A\r\nJOIN #chat\r\n"));
    expect(asked).toEqual(["login alice"]);
    irc.session.hearChat({ kind: "ok", text: "alice: welcome back; 0 stored for you" });
    irc.wait(false);
    expect(asked).toEqual(["login alice", "chat /list"]);
    irc.read(Buffer.from(`PING :${"x".repeat(600)}\r\n`));
    await Promise.resolve();
    expect(socket.text).toEndWith("ERROR :Request too long\r\n");
    expect(socket.ended).toBe(true);
    expect(asked.at(-1)).toBe("close");
  });
});
