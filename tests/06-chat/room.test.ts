// 06-chat/room.ts: the connections of every chat server from lesson 02 on. Lines handed over
// in order however they were split, a turn at a time; the four guards (a line over the
// limit, a member that stops reading, a flood, silence), each of which can be switched off;
// logins; JOIN and LEAVE up to a room of NOTICE_LIMIT; a server function that throws or
// takes its time; and delivery of stored messages and files, in order, acknowledged.
import { describe, expect, test } from "bun:test";
import { Accounts, Mailbox } from "../../06-chat/mailbox.ts";
import { clean, parseClientLine, serverLine } from "../../06-chat/protocol.ts";
import { broadcastRoom, type Guards, type Hear, NOTICE_LIMIT, Room } from "../../06-chat/room.ts";
import { ChatTestClient } from "../fixtures/chat-client.ts";
import { logCollector, SLOW_TEST_MS, tracker } from "../helpers.ts";

const track = tracker();
const sha256 = (bytes: Uint8Array): string =>
  new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

/** A room on a free port; `hear` defaults to: log in, or say to everyone. */
function openRoom(options: { hear?: Hear; guards?: Partial<Guards>; mailbox?: Mailbox } = {}) {
  const mailbox = options.mailbox ?? new Mailbox(":memory:");
  const logs = logCollector();
  const room: Room = new Room({
    greeting: "test room",
    guards: options.guards,
    accounts: new Accounts(mailbox, { cheap: true }),
    mailbox,
    log: logs.log,
    hear:
      options.hear ??
      ((member, line) => {
        const said = parseClientLine(line);
        if (room.answerBasics(member, said, ["help line"])) return;
        if (said.kind === "say")
          room.broadcast(serverLine.msg(member.nick ?? "", clean(said.text)), member);
        if (said.kind === "list") member.send(serverLine.list(room.online()));
        if (said.kind === "ack") room.acknowledge(member, said.ids);
      }),
  });
  const listener = track(room.listen("127.0.0.1", 0));
  return { room, mailbox, logs, port: listener.port };
}

describe("lines in", () => {
  test("a greeting first; then every line, in order, however the bytes were split", async () => {
    const heard = logCollector();
    const { port } = openRoom({ hear: (_member, line) => heard.log(line) });
    await using client = await ChatTestClient.connect(port);
    expect(client.lines).toEqual(["HELLO test room"]);
    const text = "one\r\ntwo héllo ☃\nthree\n";
    for (const byte of Buffer.from(text)) client.send(new Uint8Array([byte]));
    await heard.waitFor(/^three$/);
    expect(heard.lines).toEqual(["one", "two héllo ☃", "three"]);
  });

  test("a line over the limit: ERR too-long, BYE, and the connection closes; the server goes on", async () => {
    const { port } = openRoom({ guards: { maxLineBytes: 1024 } });
    await using client = await ChatTestClient.connect(port);
    client.send("x".repeat(5000));
    await client.whenClosed();
    expect(client.lines.slice(1)).toEqual([
      "ERR too-long: a line has at most 1024 bytes",
      "BYE line too long",
    ]);
    await using next = await ChatTestClient.connect(port);
    expect(await next.login("alice", "pw")).toStartWith("OK alice");
  });

  test("a server function that throws costs that member (BYE server error), never the server", async () => {
    const { port, logs } = openRoom({
      hear: (_member, line) => {
        if (line === "boom") throw new Error("kaboom");
      },
    });
    await using client = await ChatTestClient.connect(port);
    client.send("boom\n");
    await client.whenClosed();
    expect(client.lines).toContain("BYE server error");
    expect(await logs.waitFor(/kaboom/)).toContain("kaboom");
    await using next = await ChatTestClient.connect(port);
    expect(next.lines).toEqual(["HELLO test room"]);
  });

  test("waitFor(): a member's next lines wait until the promise settles, then come in order", async () => {
    const heard = logCollector();
    let release = (): void => {};
    const { port } = openRoom({
      hear: (member, line) => {
        heard.log(line);
        if (line !== "slow") return;
        member.waitFor(
          new Promise<void>((resolve) => {
            release = resolve;
          }),
        );
        // Answered while its lines wait: the member's output still flows.
        member.send("OK waiting\n");
      },
    });
    await using client = await ChatTestClient.connect(port);
    client.send("a\nslow\nb\nc\n");
    await client.line(/^OK waiting$/);
    expect(heard.lines).toEqual(["a", "slow"]);
    release();
    await heard.waitFor(/^c$/);
    expect(heard.lines).toEqual(["a", "slow", "b", "c"]);
  });
});

describe("turns", () => {
  test("a member's lines go LINES_PER_TURN at a time: another member's line gets in between", async () => {
    const heard = logCollector();
    const { port } = openRoom({
      guards: { linesPerSecond: Infinity, burst: Infinity },
      hear: (_member, line) => heard.log(line),
    });
    await using busy = await ChatTestClient.connect(port);
    await using other = await ChatTestClient.connect(port);
    busy.send(Array.from({ length: 5000 }, (_, i) => `busy ${i}\n`).join(""));
    await heard.waitFor(/^busy 0$/);
    other.send("me too\n");
    await heard.waitFor(/^busy 4999$/);
    const at = heard.lines.indexOf("me too");
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(4000);
  });
});

describe("logins", () => {
  test("OK for a new nick and a returning one; ERR password, ERR taken (any case), ERR login twice", async () => {
    const { port } = openRoom();
    await using alice = await ChatTestClient.connect(port);
    expect(await alice.login("alice", "pw")).toBe(
      "OK alice: your password is set; 0 stored for you",
    );
    expect(await alice.login("alice", "pw")).toBe("ERR login: you are alice already");
    await using other = await ChatTestClient.connect(port);
    expect(await other.login("ALICE", "pw")).toBe(
      "ERR taken: ALICE is logged in on another connection",
    );
    alice.send("/quit\n");
    await alice.whenClosed();
    expect(await other.login("Alice", "nope")).toBe("ERR password: wrong password for alice");
    expect(await other.login("Alice", "pw")).toBe("OK alice: welcome back; 0 stored for you");
  });

  test("JOIN and LEAVE for the others; a line before the login gets ERR login, not a broadcast", async () => {
    const { port } = openRoom();
    await using alice = await ChatTestClient.connect(port);
    await alice.login("alice", "pw");
    await using bob = await ChatTestClient.connect(port);
    bob.send("sneaky\n");
    expect(await bob.line(/^ERR /)).toBe("ERR login: log in first: /login NICK PASSWORD");
    await bob.login("bob", "pw");
    expect(await alice.line(/^JOIN /)).toBe("JOIN bob");
    bob.send("hi\n");
    expect(await alice.line(/^MSG /)).toBe("MSG bob hi");
    bob.close();
    expect(await alice.line(/^LEAVE /)).toBe("LEAVE bob left");
    expect(alice.count(/sneaky/)).toBe(0);
  });
});

describe("the guards", () => {
  test("a member that stops reading is cut off past maxQueuedBytes; the others are told why", async () => {
    const { port, room } = openRoom({
      guards: { maxQueuedBytes: 64 * 1024, linesPerSecond: 1e6, burst: 1e6 },
    });
    await using alice = await ChatTestClient.connect(port);
    await alice.login("alice", "pw");
    await using stuck = await ChatTestClient.connect(port);
    await stuck.login("stuck", "pw");
    // Stop reading: the kernel's buffers fill, then the outbox does.
    stuck.tcp.socket.pause();
    const line = `${"x".repeat(1000)}\n`;
    for (let i = 0; i < 5000 && room.find("stuck"); i++) alice.send(line);
    expect(await alice.line(/^LEAVE stuck/)).toMatch(
      /^LEAVE stuck too slow: \d+ KiB waited unread$/,
    );
    expect(room.online()).toEqual(["alice"]);
  });

  test("a flood is paced, not dropped: every line arrives, in order, at the bucket's rate", async () => {
    const heard = logCollector();
    const { port } = openRoom({
      guards: { linesPerSecond: 40, burst: 5 },
      hear: (_member, line) => heard.log(line),
    });
    await using client = await ChatTestClient.connect(port);
    const started = performance.now();
    client.send(Array.from({ length: 45 }, (_, i) => `line ${i}\n`).join(""));
    await heard.waitFor(/^line 44$/);
    // 5 at once, then 40 more at 40 a second: about a second.
    expect(performance.now() - started).toBeGreaterThan(900);
    expect(heard.lines).toEqual(Array.from({ length: 45 }, (_, i) => `line ${i}`));
  });

  test("silence: a PING, which any line answers; silent as long again, the member is closed", async () => {
    const { port } = openRoom({ guards: { keepaliveMs: 300 } });
    await using alive = await ChatTestClient.connect(port);
    await using ghost = await ChatTestClient.connect(port);
    await alive.line(/^PING$/);
    alive.send("/pong\n");
    await ghost.whenClosed();
    expect(ghost.lines.slice(1)).toEqual(["PING", "BYE no answer to PING in 0.3 s"]);
    expect(alive.closed).toBe(false);
    expect(await alive.line(/^PING$/, 2)).toBe("PING");
  });
});

describe("switched off, for lessons 06 to 09", () => {
  test("ping: false closes a silent member at once, with no PING", async () => {
    const { port } = openRoom({ guards: { keepaliveMs: 200, ping: false } });
    await using quiet = await ChatTestClient.connect(port);
    await quiet.whenClosed();
    expect(quiet.lines.slice(1)).toEqual(["BYE silent for 0.2 s"]);
  });

  test("broadcastRoom(): logins and lines to everyone; cleaned, or not", async () => {
    for (const cleaning of [true, false]) {
      const { room, port } = broadcastRoom({}, cleaning);
      track(room);
      await using a = await ChatTestClient.connect(port);
      await a.login("a", "pw");
      await using b = await ChatTestClient.connect(port);
      await b.login("b", "pw");
      a.send("\u001b[1mbold\n");
      expect(await b.line(/^MSG a/)).toBe(cleaning ? "MSG a ^[[1mbold" : "MSG a \u001b[1mbold");
    }
  });
});

describe("notices", () => {
  test(
    `JOIN and LEAVE are announced in a room of at most ${NOTICE_LIMIT}`,
    async () => {
      const { port, room } = openRoom();
      await using first = await ChatTestClient.connect(port);
      await first.login("first", "pw");
      const crowd: ChatTestClient[] = [];
      for (let batch = 0; batch < NOTICE_LIMIT; batch += 50) {
        const group = await Promise.all(
          Array.from({ length: 50 }, async (_, n) => {
            const client = await ChatTestClient.connect(port);
            await client.login(`c${batch + n}`, "pw");
            return client;
          }),
        );
        crowd.push(...group);
      }
      expect(room.online()).toHaveLength(NOTICE_LIMIT + 1);
      await first.sync();
      expect(first.count(/^JOIN /)).toBe(NOTICE_LIMIT - 1);
      for (const client of crowd) client.close();
    },
    SLOW_TEST_MS,
  );
});

describe("delivery from the mailbox", () => {
  test("at login: stored messages in order, each once a session, gone when acknowledged", async () => {
    const { port, mailbox } = openRoom();
    const ids = ["one", "two", "three"].map((text) => mailbox.storeMessage("bob", "alice", text));
    mailbox.addAccount(
      "bob",
      await Bun.password.hash("pw", { algorithm: "argon2id", memoryCost: 8, timeCost: 1 }),
    );
    await using bob = await ChatTestClient.connect(port);
    expect(await bob.login("bob", "pw")).toBe("OK bob: welcome back; 3 stored for you");
    await bob.line(/^PRIV \d+ alice three$/);
    expect(bob.lines.filter((line) => line.startsWith("PRIV"))).toEqual(
      ids.map((id, i) => `PRIV ${id} alice ${["one", "two", "three"][i]}`),
    );
    bob.send(`/ack ${ids[0]} ${ids[1]}\n`);
    await bob.sync();
    expect(mailbox.pending("bob", 0).map((item) => item.body)).toEqual(["three"]);
    bob.send("/ack 99999\n");
    expect(await bob.line(/^ERR ack/)).toBe("ERR ack: not yours to acknowledge: 99999");
  });

  test("a file goes out as FILE, DATA lines and END, and chat lines pass between its chunks", async () => {
    const { port, room, mailbox } = openRoom();
    const bytes = crypto.getRandomValues(new Uint8Array(40 * 32 * 1024));
    mailbox.addAccount(
      "bob",
      await Bun.password.hash("pw", { algorithm: "argon2id", memoryCost: 8, timeCost: 1 }),
    );
    const upload = mailbox.upload("bob", "alice", "big.bin", bytes.length, sha256(bytes));
    for (let at = 0; at < bytes.length; at += 32 * 1024)
      upload.add(bytes.subarray(at, at + 32 * 1024));
    await using alice = await ChatTestClient.connect(port);
    await alice.login("alice", "pw");
    await using bob = await ChatTestClient.connect(port);
    await bob.login("bob", "pw");
    await bob.line(new RegExp(`^FILE ${upload.id} alice big.bin ${bytes.length} `));
    alice.send("while it flows\n");
    await bob.line(new RegExp(`^END ${upload.id}$`), 0, SLOW_TEST_MS);
    const lines = bob.lines;
    const chat = lines.indexOf("MSG alice while it flows");
    const end = lines.indexOf(`END ${upload.id}`);
    expect(chat).toBeGreaterThan(-1);
    expect(chat).toBeLessThan(end);
    const data = lines.filter((line) => line.startsWith(`DATA ${upload.id} `));
    const back = Buffer.concat(data.map((line) => Buffer.from(line.split(" ")[2] ?? "", "base64")));
    expect(sha256(back)).toBe(sha256(bytes));
    expect(room.find("bob")?.cursor).toBe(upload.id);
  });
});
