// Lesson 15, the IRC door: IRC clients in the chat with the chat's own accounts. In-process
// with raw IRC lines: registration (001-004), JOIN and NAMES (353/366), PRIVMSG to #chat and
// to a nick both ways, the numeric errors (433, 464, 451, 421), a line over 512 bytes, QUIT,
// PING both ways, and backpressure both ways. As a student runs it. And with real IRC client
// software from Debian: the python3-irc library and irssi (in tmux), each talking with a user
// of the terminal client, in the channel and privately.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChat } from "../../06-chat/10-chat-server.ts";
import { startIrcDoor } from "../../06-chat/15-irc-door.ts";
import { Mailbox } from "../../06-chat/mailbox.ts";
import { ChatTestClient } from "../fixtures/chat-client.ts";
import { fakeChat } from "../fixtures/chat-fake-server.ts";
import { hasPythonIrc, IrcTestClient, Irssi, PythonIrc } from "../fixtures/chat-irc.ts";
import { whenStill } from "../fixtures/chat-ws-client.ts";
import {
  closedPort,
  hasCommand,
  inUse,
  type LessonProcess,
  runLesson,
  SLOW_TEST_MS,
  startLesson,
  tracker,
} from "../helpers.ts";

const track = tracker();
const LESSON = "06-chat/15-irc-door.ts";

const clients: IrcTestClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) if (!client.closed) client.socket.terminate();
});
const ircClient = async (port: number): Promise<IrcTestClient> => {
  const client = await IrcTestClient.connect(port);
  clients.push(client);
  return client;
};

/** A chat server and the door to it, in this process. */
function door(idleMs?: number) {
  const mailbox = new Mailbox(":memory:");
  const chat = track(startChat("127.0.0.1", 0, mailbox, { cheapHashes: true, log: () => {} }));
  const at = { host: "127.0.0.1", port: chat.tcp.port };
  const listener = track(startIrcDoor("127.0.0.1", 0, at, idleMs));
  return { mailbox, chatPort: chat.tcp.port, port: listener.port };
}

async function as(port: number, nick: string, password = "pw"): Promise<ChatTestClient> {
  const client = await ChatTestClient.connect(port);
  const answer = await client.login(nick, password);
  if (!answer.startsWith("OK")) throw new Error(`${nick}: ${answer}`);
  return client;
}

describe("startIrcDoor (in-process)", () => {
  test("PASS, NICK, USER: 001 to 004 with the chat's account; JOIN #chat: 353 and 366 with everyone in the chat", async () => {
    const { port, chatPort } = door();
    await using bob = await as(chatPort, "bob");
    const alice = await ircClient(port);
    expect(await alice.register("alice", "secret")).toBe(
      ":irc-door 001 alice :Welcome to the chat, alice!alice@chat",
    );
    for (const code of ["002", "003", "004", "005", "422"])
      await alice.line(new RegExp(` ${code} alice `));
    expect(await bob.line(/^JOIN/)).toBe("JOIN alice");
    alice.send("JOIN #chat");
    expect(await alice.line(/ JOIN /)).toBe(":alice!alice@chat JOIN :#chat");
    expect(await alice.line(/ 353 /)).toBe(":irc-door 353 alice = #chat :bob alice");
    expect(await alice.line(/ 366 /)).toBe(":irc-door 366 alice #chat :End of NAMES list");
  });

  test("the channel and private messages, both ways, between IRC and the chat", async () => {
    const { port, chatPort, mailbox } = door();
    await using bob = await as(chatPort, "bob");
    const alice = await ircClient(port);
    await alice.register("alice", "pw");
    alice.send("JOIN #chat");
    await alice.line(/ 366 /);
    alice.send("PRIVMSG #chat :hello from IRC", "PRIVMSG bob :only for bob");
    expect(await bob.line(/^MSG alice/)).toBe("MSG alice hello from IRC");
    expect(await bob.line(/^PRIV/)).toMatch(/^PRIV \d+ alice only for bob$/);
    bob.send("hello from the chat\n/msg alice only for alice\n");
    expect(await alice.line(/PRIVMSG #chat/)).toBe(
      ":bob!bob@chat PRIVMSG #chat :hello from the chat",
    );
    expect(await alice.line(/PRIVMSG alice/)).toBe(":bob!bob@chat PRIVMSG alice :only for alice");
    // Handed to the IRC client, the stored message is acknowledged: nothing waits for alice.
    await bob.sync();
    alice.send("NAMES #chat");
    await alice.line(/ 366 /, alice.lines.length);
    expect(mailbox.waiting("alice").items).toBe(0);
    alice.send("PRIVMSG nobody :anyone?");
    expect(await alice.line(/ 401 /)).toBe(":irc-door 401 alice nobody :No such nick/channel");
  });

  test("a message kept while the IRC user was away is delivered at its next registration", async () => {
    const { port, chatPort } = door();
    (await as(chatPort, "alice")).close();
    await using bob = await as(chatPort, "bob");
    bob.send("/msg alice while you were away\n");
    expect(await bob.line(/^OK stored/)).toBe("OK stored for alice");
    const alice = await ircClient(port);
    await alice.register("alice", "pw");
    expect(await alice.line(/PRIVMSG alice/)).toBe(
      ":bob!bob@chat PRIVMSG alice :while you were away",
    );
  });

  test("433 for a nick in use (another NICK then works); 464 for a wrong password, then closed", async () => {
    const { port, chatPort } = door();
    await using bob = await as(chatPort, "bob", "right");
    const taken = await ircClient(port);
    expect(await taken.register("bob", "right")).toBe(
      ":irc-door 433 * bob :Nickname is already in use",
    );
    taken.send("NICK bob_");
    expect(await taken.line(/ 001 /)).toStartWith(":irc-door 001 bob_ ");
    bob.close();
    const wrong = await ircClient(port);
    expect(await wrong.register("bob", "wrong")).toBe(":irc-door 464 * :Password incorrect");
    expect(await wrong.line(/^ERROR/)).toBe("ERROR :Bad password");
    await wrong.whenClosed();
  });

  test("no PASS: 464, closed; before registration 451, unknown commands 421; PING answered at any time", async () => {
    const { port } = door();
    const early = await ircClient(port);
    early.send("PING :one", "JOIN #chat", "CAP LS 302");
    expect(await early.line(/PONG/)).toBe(":irc-door PONG irc-door :one");
    expect(await early.line(/ 451 /)).toBe(":irc-door 451 * :You have not registered");
    expect(await early.line(/ 421 /)).toBe(":irc-door 421 * CAP :Unknown command");
    expect(await early.register("carol")).toBe(
      ":irc-door 464 * :Password required: send PASS with your chat password",
    );
    await early.whenClosed();
  });

  test("a line over 512 bytes (CR LF included) is refused as IRC servers refuse it: ERROR, closed", async () => {
    const { port } = door();
    const client = await ircClient(port);
    client.send(`PING :${"x".repeat(504)}`);
    expect(await client.line(/PONG/)).toEndWith(`:${"x".repeat(504)}`);
    client.send(`PING :${"x".repeat(505)}`);
    expect(await client.line(/^ERROR/)).toBe("ERROR :Request too long");
    await client.whenClosed();
    const endless = await ircClient(port);
    endless.socket.write("x".repeat(100_000));
    expect(await endless.line(/^ERROR/)).toBe("ERROR :Request too long");
  });

  test("QUIT: the chat tells the others the reason; the IRC client gets ERROR and is closed", async () => {
    const { port, chatPort } = door();
    await using bob = await as(chatPort, "bob");
    const alice = await ircClient(port);
    await alice.register("alice", "pw");
    await bob.line(/^JOIN alice/);
    alice.send("QUIT :off to lunch");
    expect(await alice.line(/^ERROR/)).toBe("ERROR :Quit: off to lunch");
    expect(await bob.line(/^LEAVE/)).toBe("LEAVE alice off to lunch");
    await alice.whenClosed();
  });

  test("a client gone without QUIT: its chat connection closes too", async () => {
    const { port, chatPort } = door();
    await using bob = await as(chatPort, "bob");
    const alice = await ircClient(port);
    await alice.register("alice", "pw");
    alice.socket.terminate();
    expect(await bob.line(/^LEAVE/)).toBe("LEAVE alice left");
  });

  test("silent for --idle: a PING; a PONG keeps it; silent again as long: ERROR, closed", async () => {
    const { port } = door(300);
    const alice = await ircClient(port);
    await alice.register("alice", "pw");
    expect(await alice.line(/^:irc-door PING /)).toBe(":irc-door PING :irc-door");
    alice.send("PONG :irc-door");
    const from = alice.lines.length;
    expect(await alice.line(/^:irc-door PING /, from)).toBe(":irc-door PING :irc-door");
    expect(await alice.line(/^ERROR/, from)).toBe("ERROR :Ping timeout");
    await alice.whenClosed();
  });

  test("no chat server there: ERROR with the sentence, closed", async () => {
    const chatPort = closedPort();
    const listener = track(startIrcDoor("127.0.0.1", 0, { host: "127.0.0.1", port: chatPort }));
    const alice = await ircClient(listener.port);
    alice.send("PASS pw", "NICK alice", "USER alice 0 * :A");
    expect(await alice.line(/^ERROR/)).toBe(`ERROR :no chat server at 127.0.0.1:${chatPort}`);
  });
});

describe("backpressure, both ways", () => {
  test(
    "an IRC client that reads nothing: the door stops reading the chat; when it reads, every line comes, in order",
    async () => {
      const fake = track(fakeChat());
      const listener = track(startIrcDoor("127.0.0.1", 0, { host: "127.0.0.1", port: fake.port }));
      const slow = await ircClient(listener.port);
      await slow.register("slow", "pw");
      slow.send("JOIN #chat");
      await slow.line(/ JOIN /);
      slow.socket.pause();
      fake.flood(400);
      const taken = await whenStill(() => fake.written);
      const lines = fake.stopFlood();
      // Kernel buffers on both sides, the door's 64 KiB, one read: a few MB at most.
      expect(taken).toBeLessThan(32 * 1024 * 1024);
      slow.socket.resume();
      await slow.line(new RegExp(`PRIVMSG #chat :n=${lines - 1} `), 0, 20_000);
      const numbers = slow.lines
        .filter((line) => line.includes(" PRIVMSG #chat :n="))
        .map((line) => Number(line.split(" :n=")[1]?.split(" ")[0]));
      expect(numbers.length).toBe(lines);
      expect(numbers.every((n, index) => n === index)).toBe(true);
    },
    SLOW_TEST_MS,
  );

  test(
    "a chat server that reads nothing: the door stops reading the IRC client; when the chat reads, every line arrives in order",
    async () => {
      const fake = track(fakeChat());
      const listener = track(startIrcDoor("127.0.0.1", 0, { host: "127.0.0.1", port: fake.port }));
      const alice = await ircClient(listener.port);
      await alice.register("alice", "pw");
      alice.send("JOIN #chat");
      await alice.line(/ JOIN /);
      fake.pause();
      const pad = "y".repeat(400);
      const flood = alice.flood((n) => `PRIVMSG #chat :${n} ${pad}`);
      const sent = await whenStill(() => alice.written);
      const count = flood.stop();
      expect(sent).toBeLessThan(32 * 1024 * 1024);
      let expected = 0;
      let inOrder = true;
      const all = new Promise<void>((resolve) => {
        fake.onLine = (line) => {
          if (line === "/list") return;
          inOrder &&= line.startsWith(`${expected} `);
          expected++;
          if (expected === count) resolve();
        };
      });
      fake.resume();
      await all;
      expect(inOrder).toBe(true);
    },
    SLOW_TEST_MS,
  );
});

describe("run as a student would", () => {
  test(
    "alone: it starts a chat server in its own process, says so, and lets an IRC client in; Ctrl-C stops both",
    async () => {
      await using lesson = startLesson(LESSON, ["--port", "0"]);
      const { port } = await lesson.listening();
      expect(lesson.stdout).toMatch(
        /^no --chat-port: started 06-chat\/10-chat-server\.ts on port \d+$/m,
      );
      await lesson.waitFor(
        /try {2}irssi -c 127\.0\.0\.1 -p \d+ -w PASSWORD -n NICK, then \/join #chat; Ctrl-C stops the server/,
      );
      const carol = await ircClient(port);
      expect(await carol.register("carol", "secret")).toStartWith(":irc-door 001 carol ");
      const { code, stdout } = await lesson.stop("SIGINT");
      expect(code).toBe(0);
      expect(stdout).toContain("carol logged in from 127.0.0.1:");
    },
    SLOW_TEST_MS,
  );

  test("a port in use: one sentence, exit 1", async () => {
    const { port } = door();
    const { code, stderr } = await runLesson(LESSON, [
      "--port",
      String(port),
      "--chat-port",
      "5050",
    ]);
    expect({ code, stderr: stderr.trim() }).toEqual({ code: 1, stderr: inUse(port) });
  });

  test("bad flags: one sentence, the usage, exit 2", async () => {
    for (const [args, sentence] of [
      [["--chat-port", "-1"], '--chat-port must be a whole number from 0 to 65535 (got "-1")'],
      [["--idle", "0"], '--idle must be a number of at least 0.1 (got "0")'],
      [
        ["--chat-host", "bad host"],
        '--chat-host must be a host name or an IP address (got "bad host")',
      ],
    ] as const) {
      const { code, stderr } = await runLesson(LESSON, [...args]);
      expect({ args, code, first: stderr.split("\n")[0] }).toEqual({
        args,
        code: 2,
        first: sentence,
      });
    }
  });
});

/**
 * The chat server, the door and a terminal-client user (carol), each as a student runs them:
 * the stage on which a real IRC client meets the chat.
 */
async function stage(
  body: (doorPort: number, carol: LessonProcess) => Promise<void>,
): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), "irc-door-"));
  try {
    await using chat = startLesson("06-chat/10-chat-server.ts", [
      "--port",
      "0",
      "--data",
      data,
      "--cheap-hashes",
    ]);
    const { port: chatPort } = await chat.listening();
    await using lesson = startLesson(LESSON, ["--port", "0", "--chat-port", String(chatPort)]);
    const { port } = await lesson.listening();
    const files = join(data, "files");
    await using carol = startLesson(
      "06-chat/11-chat-client.ts",
      ["--port", String(chatPort), "--nick", "carol", "--files", files],
      { env: { CHAT_PASSWORD: "pw" } },
    );
    await carol.waitFor(/^ok: carol: /m);
    await body(port, carol);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}

describe("real IRC clients from Debian", () => {
  test.skipIf(!hasPythonIrc())(
    "python3-irc (needs Debian package python3-irc): an IRC user and a terminal-client user, in #chat and privately, both ways",
    async () => {
      await stage(async (port, carol) => {
        await using alice = new PythonIrc(port, "alice", "secret");
        expect(await alice.event(/^welcome/)).toBe("welcome alice");
        alice.do("join #chat");
        expect(await alice.event(/^namreply/)).toBe("namreply carol alice");
        await carol.waitFor(/^\* alice joined$/m);
        alice.do("say #chat hello from python3-irc");
        await carol.waitFor(/^alice: hello from python3-irc$/m);
        carol.write("hello from the terminal\n");
        expect(await alice.event(/^pubmsg/)).toBe("pubmsg carol #chat hello from the terminal");
        alice.do("say carol psst, carol");
        await carol.waitFor(/^alice \(to you\): psst, carol$/m);
        carol.write("/msg alice psst, alice\n");
        expect(await alice.event(/^privmsg/)).toBe("privmsg carol psst, alice");
        alice.do("quit see you");
        await carol.waitFor(/^\* alice left \(see you\)$/m);
      });
    },
    SLOW_TEST_MS,
  );

  test.skipIf(!hasCommand("irssi") || !hasCommand("tmux"))(
    "irssi in tmux (needs Debian packages irssi and tmux): an IRC user and a terminal-client user, in #chat and privately, both ways",
    async () => {
      await stage(async (port, carol) => {
        await using irssi = new Irssi(port, "alice", "secret");
        await irssi.shows(/Welcome to the chat, alice!alice@chat/);
        irssi.type("/join #chat");
        await irssi.shows(/\[Users #chat\]/);
        await carol.waitFor(/^\* alice joined$/m);
        irssi.type("hello from irssi");
        await carol.waitFor(/^alice: hello from irssi$/m);
        carol.write("hello from the terminal\n");
        await irssi.shows(/<.?carol> hello from the terminal/);
        irssi.type("/msg carol psst, carol");
        await carol.waitFor(/^alice \(to you\): psst, carol$/m);
        carol.write("/msg alice psst, alice\n");
        // A private message opens a query window of its own: go to it.
        await irssi.shows(/Act: /);
        irssi.type("/window goto carol");
        await irssi.shows(/<.?carol> psst, alice/);
        irssi.type("/quit see you");
        await carol.waitFor(/^\* alice left \(see you\)$/m);
      });
    },
    SLOW_TEST_MS,
  );
});
