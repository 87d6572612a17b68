// Lesson 10, the chat server: every piece together, as the clients, the benchmark and the
// battery use it. The cases, each by name: kill -9 between storing and delivering, a
// client that drops before acknowledging, a wrong password, a taken nick, a 1 MiB line, a
// client that never reads while 20 others chat, a file changed in transit, escape sequences
// in a message; and every command, in-process and run as a student would.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChat } from "../../06-chat/10-chat-server.ts";
import { Mailbox } from "../../06-chat/mailbox.ts";
import { CHUNK_BYTES, clientLine, parseServerLine } from "../../06-chat/protocol.ts";
import { ChatTestClient, chatLatencies, percentile, stuckClient } from "../fixtures/chat-client.ts";
import { tamperProxy } from "../fixtures/chat-tamper.ts";
import { inUse, runLesson, SLOW_TEST_MS, startLesson, tracker } from "../helpers.ts";

const track = tracker();
const folders: string[] = [];
const folder = (): string => {
  const made = mkdtempSync(join(tmpdir(), "chat-server-"));
  folders.push(made);
  return made;
};
afterEach(() => {
  for (const made of folders.splice(0)) rmSync(made, { recursive: true, force: true });
});
const sha256 = (bytes: Uint8Array): string =>
  new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

/** A line with one base64 character changed: the same length, other bytes. */
const flipOne = (line: string): string => `/data ${line[6] === "A" ? "B" : "A"}${line.slice(7)}`;

function server(options: { idleMs?: number } = {}) {
  const mailbox = new Mailbox(":memory:");
  const { room, tcp } = startChat("127.0.0.1", 0, mailbox, {
    cheapHashes: true,
    log: () => {},
    ...options,
  });
  track(room);
  return { room, mailbox, port: tcp.port };
}

async function as(port: number, nick: string, password = "pw"): Promise<ChatTestClient> {
  const client = await ChatTestClient.connect(port);
  const answer = await client.login(nick, password);
  if (!answer.startsWith("OK")) throw new Error(`${nick}: ${answer}`);
  return client;
}

const privs = (client: ChatTestClient): string[] =>
  client.lines.filter((line) => line.startsWith("PRIV "));

describe("the issue's cases", () => {
  test(
    "kill -9 of the server between storing and delivering: nothing lost, nothing delivered twice (messages and a file)",
    async () => {
      const args = ["--port", "0", "--data", folder(), "--cheap-hashes"];
      await using first = startLesson("06-chat/10-chat-server.ts", args);
      let { port } = await first.listening();
      (await as(port, "bob")).close();
      const alice = await as(port, "alice");
      for (let n = 1; n <= 20; n++) alice.send(`/msg bob note ${n}\n`);
      const bytes = crypto.getRandomValues(new Uint8Array(100_000));
      alice.send(clientLine.file("bob", "kept.bin", bytes.length, sha256(bytes)));
      await alice.line(/^OK file kept.bin: send/);
      for (let at = 0; at < bytes.length; at += CHUNK_BYTES)
        alice.send(clientLine.data(bytes.subarray(at, at + CHUNK_BYTES)));
      await alice.line(/^OK file kept.bin: stored for bob$/);
      first.proc.kill("SIGKILL");
      await first.finished();
      alice.close();

      await using second = startLesson("06-chat/10-chat-server.ts", args);
      ({ port } = await second.listening());
      const bob = await as(port, "bob");
      const end = await bob.line(/^END /);
      const id = Number(end.split(" ")[1]);
      expect(privs(bob).map((line) => line.split(" ").slice(3).join(" "))).toEqual(
        Array.from({ length: 20 }, (_, i) => `note ${i + 1}`),
      );
      const data = bob.lines
        .map(parseServerLine)
        .flatMap((event) => (event.kind === "data" ? [event.bytes] : []));
      expect(sha256(Buffer.concat(data))).toBe(sha256(bytes));
      const ids = [...privs(bob).map((line) => line.split(" ")[1]), String(id)];
      bob.send(`/ack ${ids.join(" ")}\n`);
      await bob.sync();
      second.proc.kill("SIGKILL");
      await second.finished();
      bob.close();

      await using third = startLesson("06-chat/10-chat-server.ts", args);
      ({ port } = await third.listening());
      await using again = await as(port, "bob");
      await again.sync();
      expect(again.lines.filter((line) => /^(PRIV|FILE|DATA|END) /.test(line))).toEqual([]);
    },
    SLOW_TEST_MS,
  );

  test("a client that drops before acknowledging: delivered again at its next login", async () => {
    const { port, mailbox } = server();
    (await as(port, "bob")).close();
    mailbox.storeMessage("bob", "alice", "did you get this?");
    const dropped = await as(port, "bob");
    const line = await dropped.line(/^PRIV/);
    dropped.close();
    await using again = await as(port, "bob");
    expect(await again.line(/^PRIV/)).toBe(line);
  });

  test("a wrong password: one line, and none of the account's messages", async () => {
    const { port, mailbox } = server();
    (await as(port, "bob", "right")).close();
    mailbox.storeMessage("bob", "alice", "secret plans");
    await using mallory = await ChatTestClient.connect(port);
    expect(await mallory.login("bob", "wrong")).toBe("ERR password: wrong password for bob");
    expect(mallory.count(/secret plans/)).toBe(0);
  });

  test("a taken nick (in any case): one line; the one logged in goes on", async () => {
    const { port } = server();
    await using bob = await as(port, "bob");
    await using other = await ChatTestClient.connect(port);
    expect(await other.login("BOB", "pw")).toBe(
      "ERR taken: BOB is logged in on another connection",
    );
    expect(await bob.sync()).toBe("LIST bob");
  });

  test("a 1 MiB line: ERR too-long, then the close; the server goes on", async () => {
    const { port } = server();
    await using hog = await as(port, "hog");
    await using bystander = await as(port, "bystander");
    hog.send(`${"a".repeat(1 << 20)}\n`);
    await hog.whenClosed();
    expect(hog.lines.slice(-2)).toEqual([
      "ERR too-long: a line has at most 65536 bytes",
      "BYE line too long",
    ]);
    expect(await bystander.line(/^LEAVE hog/)).toBe("LEAVE hog line too long");
    expect(await bystander.sync()).toBe("LIST bystander");
  });

  test(
    "a client that never reads while 20 others chat: their p99 latency stays low, and it is cut off",
    async () => {
      const { port } = server();
      await using watcher = await as(port, "watcher");
      await using stuck = await stuckClient(port, "/login stuck pw\n");
      await watcher.line(/^JOIN stuck$/);
      const talker = await as(port, "talker");
      // Fill the kernel's buffers towards it first (talker's lines are paced by the flood guard).
      for (let n = 0; n < 40; n++) talker.send(`${"f".repeat(60_000)}\n`);
      const options = { chatters: 20, lines: 15, bytes: 8000, gapMs: 50, login: true };
      const latencies = await chatLatencies(port, options);
      expect(latencies).toHaveLength(20 * 19 * 15);
      expect(percentile(latencies, 99)).toBeLessThan(250);
      expect(await watcher.line(/^LEAVE stuck /, 0, 20_000)).toMatch(
        /^LEAVE stuck too slow: \d+ KiB waited unread$/,
      );
      talker.close();
    },
    SLOW_TEST_MS,
  );

  test("a file whose bytes change in transit: ERR checksum for the sender, nothing for the recipient", async () => {
    const { port } = server();
    const proxy = tamperProxy(port, (direction, line) =>
      direction === "to-server" && line.startsWith("/data ") ? flipOne(line) : line,
    );
    await using alice = await ChatTestClient.connect(proxy.port);
    await alice.login("alice", "pw");
    await using bob = await as(port, "bob");
    const bytes = new TextEncoder().encode("the real contents");
    alice.send(clientLine.file("bob", "real.txt", bytes.length, sha256(bytes)));
    await alice.line(/^OK file real.txt: send/);
    alice.send(clientLine.data(bytes));
    expect(await alice.line(/^ERR/)).toBe(
      "ERR checksum: real.txt arrived with another SHA-256; dropped",
    );
    expect(proxy.changed).toBe(1);
    await bob.sync();
    expect(bob.count(/^FILE /)).toBe(0);
    proxy.stop();
  });

  test("escape sequences in a message reach the others visible, never raw (MSG, PRIV, /quit)", async () => {
    const { port } = server();
    await using evil = await as(port, "evil");
    await using victim = await as(port, "victim");
    evil.send("\u001b[2J\u001b]0;owned\u0007hi\n/msg victim \u001b[31mred\n/quit \u001b[5mbye\n");
    expect(await victim.line(/^MSG/)).toBe("MSG evil ^[[2J^[]0;owned^Ghi");
    expect(await victim.line(/^PRIV/)).toMatch(/^PRIV \d+ evil \^\[\[31mred$/);
    expect(await victim.line(/^LEAVE/)).toBe("LEAVE evil ^[[5mbye");
    expect(victim.tcp.text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});

describe("every command", () => {
  test("say, /list, /msg, /help, an unknown command, //", async () => {
    const { port } = server();
    await using alice = await as(port, "alice");
    await using bob = await as(port, "bob");
    alice.send("hello\n/msg bob psst\n//slash\n/nope\n/help\n");
    expect(await bob.line(/^MSG alice hello$/)).toBeTruthy();
    expect(await bob.line(/^PRIV/)).toMatch(/^PRIV \d+ alice psst$/);
    expect(await bob.line(/^MSG alice \/slash$/)).toBeTruthy();
    expect(await alice.line(/^ERR unknown/)).toBe(
      "ERR unknown: /nope is not a command; /help lists them",
    );
    await alice.line(/^HELP PING/);
    expect(alice.count(/^HELP /)).toBe(8);
    expect(await bob.sync()).toBe("LIST alice bob");
    expect(bob.count(/nope/)).toBe(0);
  });

  test("a flood is paced; a silent client gets a PING and, silent again, a BYE", async () => {
    const { port } = server({ idleMs: 300 });
    await using quiet = await as(port, "quiet");
    await quiet.whenClosed();
    expect(quiet.lines.slice(-2)).toEqual(["PING", "BYE no answer to PING in 0.3 s"]);
  });
});

describe("run as a student would", () => {
  test("listening on, the hint names the client, and SIGTERM stops it with its data kept", async () => {
    const data = folder();
    await using lesson = startLesson("06-chat/10-chat-server.ts", [
      "--port",
      "0",
      "--data",
      data,
      "--cheap-hashes",
    ]);
    const { port } = await lesson.listening();
    await lesson.waitFor(
      /or bun run 06-chat\/11-chat-client\.ts --port \d+; Ctrl-C stops the server/,
    );
    await using alice = await as(port, "alice");
    await lesson.waitFor(/alice logged in from 127\.0\.0\.1:\d+/);
    const { code, stdout } = await lesson.stop("SIGTERM");
    expect(code).toBe(0);
    expect(stdout).toContain("stopped by SIGTERM");
    expect(Bun.file(join(data, "chat.sqlite")).size).toBeGreaterThan(0);
  });

  test("a port in use: one sentence, exit 1", async () => {
    const busy = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
    const { code, stderr } = await runLesson("06-chat/10-chat-server.ts", [
      "--port",
      String(busy.port),
      "--data",
      folder(),
    ]);
    expect({ code, stderr: stderr.trim() }).toEqual({ code: 1, stderr: inUse(busy.port) });
  });

  test("bad flags: one sentence, exit 2", async () => {
    const { code, stderr } = await runLesson("06-chat/10-chat-server.ts", ["--max-file", "-1"]);
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toBe(
      '--max-file must be a whole number from 0 to 1073741824 (got "-1")',
    );
  });
});
