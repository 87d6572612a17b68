// Lesson 11, the terminal client: it logs in, shows what arrives (cleaned), acknowledges what
// was stored for it, sends and saves files (a file changed in transit is reported and not
// saved), and reconnects with backoff and jitter when the server goes away, picking up what
// was stored meanwhile. In-process, piped as a student would, and in a real pseudo-terminal,
// where a message arriving mid-typing leaves the typed line whole.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChat } from "../../06-chat/10-chat-server.ts";
import { backoffMs, ChatClient } from "../../06-chat/11-chat-client.ts";
import { Mailbox } from "../../06-chat/mailbox.ts";
import { ChatTestClient } from "../fixtures/chat-client.ts";
import { tamperProxy } from "../fixtures/chat-tamper.ts";
import {
  closedPort,
  logCollector,
  ROOT,
  runLesson,
  SLOW_TEST_MS,
  startLesson,
  tracker,
} from "../helpers.ts";
import { whyConnectFailed } from "../../lib/cli.ts";

const track = tracker();
const LESSON = "06-chat/11-chat-client.ts";
const folders: string[] = [];
const folder = (): string => {
  const made = mkdtempSync(join(tmpdir(), "chat-client-"));
  folders.push(made);
  return made;
};
afterEach(() => {
  for (const made of folders.splice(0)) rmSync(made, { recursive: true, force: true });
});

function server(mailbox = new Mailbox(":memory:")) {
  const { room, tcp } = startChat("127.0.0.1", 0, mailbox, {
    cheapHashes: true,
    log: () => {},
  });
  track(room);
  return { room, mailbox, port: tcp.port };
}

/** A ChatClient whose screen is a log collector. */
function client(port: number, nick: string, options: { files?: string; password?: string } = {}) {
  const screen = logCollector();
  const chat = new ChatClient({
    host: "127.0.0.1",
    port,
    nick,
    password: options.password ?? "pw",
    files: options.files ?? folder(),
    show: screen.log,
    firstRetryMs: 100,
    maxRetryMs: 400,
  });
  return { chat, screen };
}

test("backoffMs: doubling from the first wait up to the longest, each cut to between half and all of it", () => {
  expect([0, 1, 2, 3].map((n) => backoffMs(n, 500, 30_000, 1))).toEqual([500, 1000, 2000, 4000]);
  expect(backoffMs(20, 500, 30_000, 1)).toBe(30_000);
  expect(backoffMs(3, 500, 30_000, 0)).toBe(2000);
  for (let i = 0; i < 100; i++) {
    const ms = backoffMs(2, 500, 30_000);
    expect(ms >= 1000 && ms <= 2000).toBe(true);
  }
});

describe("ChatClient (in-process)", () => {
  test("shows messages, joins and leaves for a person; acknowledges what was stored for it", async () => {
    const { port, mailbox } = server();
    (await ChatTestClient.connect(port).then(async (c) => (await c.login("bob", "pw"), c))).close();
    mailbox.storeMessage("bob", "alice", "while you were out \u001b[2J");
    const { chat, screen } = client(port, "bob");
    await chat.connect();
    expect(await screen.waitFor(/to you/)).toBe("alice (to you): while you were out ^[[2J");
    await using alice = await ChatTestClient.connect(port);
    await alice.login("alice", "pw");
    alice.send("hi bob\n/quit gone\n");
    expect(await screen.waitFor(/^alice: /)).toBe("alice: hi bob");
    expect(await screen.waitFor(/left/)).toBe("* alice left (gone)");
    expect(mailbox.waiting("bob").items).toBe(0);
    chat.quit();
    await chat.done;
    expect(screen.lines).toContain("* the server closed: quit");
  });

  test("sends a file with /send, and the recipient saves it with its SHA-256 checked", async () => {
    const { port } = server();
    const dir = folder();
    const bytes = crypto.getRandomValues(new Uint8Array(300_000));
    writeFileSync(join(dir, "photo.raw"), bytes);
    const bobFiles = folder();
    const bob = client(port, "bob", { files: bobFiles });
    await bob.chat.connect();
    const alice = client(port, "alice");
    await alice.chat.connect();
    alice.chat.type(`/send bob ${join(dir, "photo.raw")}`);
    expect(await alice.screen.waitFor(/^ok: file photo.raw: sent/)).toBe(
      "ok: file photo.raw: sent to bob",
    );
    expect(await bob.screen.waitFor(/^\* saved/)).toBe(
      `* saved ${join(bobFiles, "photo.raw")} (300000 bytes, SHA-256 checked)`,
    );
    expect(readFileSync(join(bobFiles, "photo.raw")).equals(Buffer.from(bytes))).toBe(true);
    for (const side of [alice, bob]) side.chat.quit();
    await Promise.all([alice.chat.done, bob.chat.done]);
  });

  test("a file whose bytes change in transit: the mismatch is reported, and it is not saved under its name", async () => {
    const { port } = server();
    // One base64 character of each DATA line changed: the same size, other bytes.
    const proxy = tamperProxy(port, (direction, line) =>
      direction === "to-client"
        ? line.replace(
            /^(DATA \d+ )(.)/,
            (_all, head: string, first: string) => `${head}${first === "A" ? "B" : "A"}`,
          )
        : line,
    );
    const bobFiles = folder();
    const bob = client(proxy.port, "bob", { files: bobFiles });
    await bob.chat.connect();
    await using alice = await ChatTestClient.connect(port);
    await alice.login("alice", "pw");
    const bytes = new TextEncoder().encode("the real contents of the file");
    const sha = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    alice.send(`/file bob real.txt ${bytes.length} ${sha}\n`);
    await alice.line(/^OK file real.txt: send/);
    alice.send(`/data ${Buffer.from(bytes).toString("base64")}\n`);
    expect(await bob.screen.waitFor(/was not saved/)).toMatch(
      /^! real.txt was not saved: its SHA-256 is [0-9a-f]{64}, not [0-9a-f]{64}$/,
    );
    expect(readdirSync(bobFiles)).toEqual([]);
    expect(proxy.changed).toBe(1);
    bob.chat.quit();
    await bob.chat.done;
    proxy.stop();
  });

  test(
    "reconnects with backoff when the server restarts, and gets what was stored meanwhile",
    async () => {
      const data = folder();
      const args = ["--port", "0", "--data", data, "--cheap-hashes"];
      await using first = startLesson("06-chat/10-chat-server.ts", args);
      const { port } = await first.listening();
      const bob = client(port, "bob");
      await bob.chat.connect();
      first.proc.kill("SIGKILL");
      await first.finished();
      expect(await bob.screen.waitFor(/connection lost/)).toBe("* connection lost");
      bob.chat.type("said while away");
      await using second = startLesson("06-chat/10-chat-server.ts", [
        "--data",
        data,
        "--cheap-hashes",
        "--port",
        String(port),
      ]);
      await second.listening();
      await using alice = await ChatTestClient.connect(port);
      await alice.login("alice", "pw");
      alice.send("/msg bob welcome back\n");
      expect(await bob.screen.waitFor(/to you/, 15_000)).toBe("alice (to you): welcome back");
      expect(bob.screen.lines.some((line) => /^\* trying again in \d\.\d s$/.test(line))).toBe(
        true,
      );
      expect(bob.screen.lines).toContain(
        "* not connected: the line goes out once the client is back",
      );
      expect(await alice.line(/^MSG bob/, 0, 15_000)).toBe("MSG bob said while away");
      bob.chat.quit();
      await bob.chat.done;
    },
    SLOW_TEST_MS,
  );

  test("a password that became wrong stops the reconnecting, rather than knocking for ever", async () => {
    const { port, room, mailbox } = server();
    const bob = client(port, "bob", { password: "first" });
    await bob.chat.connect();
    const hash = await Bun.password.hash("changed", {
      algorithm: "argon2id",
      memoryCost: 8,
      timeCost: 1,
    });
    mailbox.db.run("UPDATE accounts SET hash = ? WHERE key = 'bob'", [hash]);
    room.find("bob")?.close("kicked");
    await bob.chat.done;
    expect(bob.screen.lines.slice(-1)).toEqual(["! password: wrong password for bob"]);
    expect(bob.screen.lines).toContain("* the server closed: kicked");
  });
});

describe("run as a student would", () => {
  test("piped: the password from $CHAT_PASSWORD, lines sent, the end of input quits (exit 0)", async () => {
    const { port } = server();
    await using alice = await ChatTestClient.connect(port);
    await alice.login("alice", "pw");
    const { code, stdout } = await runLesson(
      LESSON,
      ["--port", String(port), "--nick", "bob", "--files", folder()],
      {
        input: "hello from a pipe\n/list\n",
        env: { CHAT_PASSWORD: "pw" },
      },
    );
    expect(code).toBe(0);
    expect(stdout).toContain("* connecting to 127.0.0.1:");
    expect(stdout).toContain("ok: bob: your password is set; 0 stored for you");
    expect(stdout).toContain("* here: alice, bob");
    expect(await alice.line(/^MSG bob/)).toBe("MSG bob hello from a pipe");
  });

  test(
    "no --host or --port: it starts the chat server in its own process and says so",
    async () => {
      const { code, stdout } = await runLesson(LESSON, ["--files", folder()], {
        input: "carol\nsecret\n/list\n",
        timeoutMs: 20_000,
      });
      expect(code).toBe(0);
      expect(stdout).toMatch(
        /no --host\/--port given: started the chat server \(06-chat\/10-chat-server\.ts\) in its own process on 127\.0\.0\.1:\d+/,
      );
      expect(stdout).toContain("* here: carol");
      expect(stdout).not.toContain("secret");
    },
    SLOW_TEST_MS,
  );

  test("a wrong password: one sentence, exit 1", async () => {
    const { port } = server();
    (
      await ChatTestClient.connect(port).then(async (c) => (await c.login("bob", "right"), c))
    ).close();
    const { code, stderr } = await runLesson(LESSON, ["--port", String(port), "--nick", "bob"], {
      env: { CHAT_PASSWORD: "wrong" },
    });
    expect({ code, stderr: stderr.trim() }).toEqual({
      code: 1,
      stderr: "login refused: password: wrong password for bob",
    });
  });

  test("nobody listening: one sentence, exit 1", async () => {
    const port = closedPort();
    const { code, stderr } = await runLesson(LESSON, ["--port", String(port), "--nick", "bob"], {
      env: { CHAT_PASSWORD: "pw" },
    });
    expect(code).toBe(1);
    const refused = Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    expect(stderr.trim()).toBe(await whyConnectFailed(refused, "127.0.0.1", port, "tcp"));
  });

  test(
    "in a terminal: a message that arrives while you type goes above your line, which stays whole; the password is not shown",
    async () => {
      const { port } = server();
      let screen = "";
      let changed: () => void = () => {};
      const proc = Bun.spawn(
        [
          "bun",
          "run",
          join(ROOT, LESSON),
          "--port",
          String(port),
          "--nick",
          "bob",
          "--files",
          folder(),
        ],
        {
          cwd: ROOT,
          env: { ...process.env, NO_COLOR: "1" },
          terminal: {
            cols: 100,
            rows: 24,
            data(_terminal, data) {
              screen += Buffer.from(data).toString("utf8");
              changed();
            },
          },
        },
      );
      const terminal = proc.terminal;
      if (!terminal) throw new Error("no terminal");
      const until = (pattern: RegExp): Promise<void> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`never saw ${pattern}: ${JSON.stringify(screen.slice(-400))}`)),
            15_000,
          );
          changed = () => {
            if (!pattern.test(screen)) return;
            clearTimeout(timer);
            resolve();
          };
          changed();
        });
      try {
        await until(/password for bob: /);
        terminal.write("hunter2\r");
        await until(/your password is set/);
        await using alice = await ChatTestClient.connect(port);
        await alice.login("alice", "pw");
        terminal.write("half a sent");
        await until(/> half a sent$/);
        alice.send("interrupting!\n");
        await until(/alice: interrupting!\r\n\r\x1b\[2K> half a sent$/);
        terminal.write("ence\r");
        expect(await alice.line(/^MSG bob/)).toBe("MSG bob half a sentence");
        expect(screen).not.toContain("hunter2");
        terminal.write("\x04");
        expect(await proc.exited).toBe(0);
      } finally {
        proc.kill();
        terminal.close();
      }
    },
    SLOW_TEST_MS,
  );
});
